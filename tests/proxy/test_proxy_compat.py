"""A client written for Toxiproxy works unchanged against `brownout proxy`.

The first tests replay, request by request, what the official clients send (toxiproxy-python's
`Toxiproxy`/`Proxy` classes and the Go client in Toxiproxy's repository, client/*.go) and assert on what
those clients read back. The rest pin Toxiproxy 2.8.0's leniencies (checked against the real server) and
the places where brownout stays stricter on purpose unless `--lenient`.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.proxy.proxy_support import Api, ProxyProcess, Spawner, free_port


def _assert_error(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["error"], body


def _echo_through(host: str, port: int, family: int = socket.AF_INET) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((host, port))
        sock.sendall(b"via proxy")
        return sock.recv(64)


# --- the official clients' request sequences ------------------------------------------------------------


def _python_client_populate(api: Api, proxies: list[dict[str, Any]]) -> list[str]:
    """toxiproxy-python's Toxiproxy.populate(): compares what it reads back with what it sent."""
    calls = []
    for proxy in proxies:
        existing = api.call("GET", "/proxies").json().get(proxy["name"])
        if existing is not None and (
            existing["upstream"] != proxy["upstream"] or existing["listen"] != proxy["listen"]
        ):
            assert api.call("DELETE", f"/proxies/{proxy['name']}").status_code == 204
            calls.append("delete")
            existing = None
        if existing is None:
            assert proxy["name"] not in api.call("GET", "/proxies").json()  # create() checks first
            body = {"upstream": proxy["upstream"], "name": proxy["name"], "listen": proxy["listen"]}
            assert api.call("POST", "/proxies", body).status_code == 201
            calls.append("create")
    return calls


def test_python_client_sequence(api: Api, echo_port: int) -> None:
    listen = f"localhost:{free_port()}"
    upstream = f"localhost:{echo_port}"
    config = [{"name": "py", "upstream": upstream, "listen": listen}]
    assert _python_client_populate(api, config) == ["create"]
    shown = api.call("GET", "/proxies").json()["py"]
    assert (shown["listen"], shown["upstream"], shown["enabled"]) == (listen, upstream, True)

    # proxy.add_toxic(type="latency", attributes={"latency": 123}) sends every field.
    body = {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 123},
    }
    assert api.call("POST", "/proxies/py/toxics", body).status_code == 200
    # A second populate of the same config leaves the proxy (and its toxic) alone: nothing is recreated.
    assert _python_client_populate(api, config) == []
    toxics = {t["name"]: t for t in api.call("GET", "/proxies/py/toxics").json()}
    assert toxics["latency_downstream"]["attributes"]["latency"] == 123

    # proxy.disable() / enable(): POST /proxies/<name> {"enabled": ...}, then reading `listen` back.
    port = int(listen.rsplit(":", 1)[1])
    assert api.call("POST", "/proxies/py", {"enabled": False}).json()["enabled"] is False
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert api.call("POST", "/proxies/py", {"enabled": True}).json()["listen"] == listen
    assert api.call("DELETE", "/proxies/py/toxics/latency_downstream").status_code == 204
    assert api.call("GET", "/proxies/py/toxics").json() == []
    assert _echo_through("127.0.0.1", port) == b"via proxy"
    assert api.call("POST", "/reset").status_code == 204
    assert api.call("GET", "/version").content.strip()  # version() returns the raw content


def test_go_client_sequence(api: Api, echo_port: int) -> None:
    listen = f"localhost:{free_port()}"
    # client.CreateProxy(name, listen, upstream) marshals the whole Proxy struct, toxics included.
    create = {"name": "go", "listen": listen, "upstream": f"localhost:{echo_port}", "enabled": True, "toxics": None}
    proxy = api.call("POST", "/proxies", create)
    assert proxy.status_code == 201, proxy.text
    proxy_json = proxy.json()
    assert proxy_json["listen"] == listen

    # proxy.AddToxic("", "latency", "", 1, Attributes{...}): empty name, stream omitted (omitempty).
    added = api.call(
        "POST",
        "/proxies/go/toxics",
        {"name": "", "type": "latency", "toxicity": 1, "attributes": {"latency": 1000, "jitter": 10}},
    )
    assert added.status_code == 200, added.text
    assert added.json()["name"] == "latency_downstream"
    # AddToxic with nil Attributes sends `"attributes": null`.
    nil_attributes = {"name": "cut", "type": "timeout", "stream": "upstream", "toxicity": 0, "attributes": None}
    assert api.call("POST", "/proxies/go/toxics", nil_attributes).status_code == 200
    # UpdateToxic(name, -1, attrs): PATCH with attributes only (toxicity -1 means "leave it").
    updated = api.call("PATCH", "/proxies/go/toxics/latency_downstream", {"attributes": {"latency": 5}})
    assert updated.json()["attributes"] == {"latency": 5, "jitter": 10}

    # proxy.Disable() then proxy.Enable(): Save() POSTs the proxy as last read, toxics and all.
    for enabled in (False, True):
        saved = {**proxy_json, "enabled": enabled, "toxics": api.call("GET", "/proxies/go/toxics").json()}
        answer = api.call("POST", "/proxies/go", saved)
        assert answer.status_code == 200, answer.text
        assert answer.json()["enabled"] is enabled
    assert [t["name"] for t in api.call("GET", "/proxies/go").json()["toxics"]] == ["cut", "latency_downstream"]

    # client.Populate([]Proxy{...}) reads {"proxies": [...]}; ResetState() posts an empty body.
    populated = api.call("POST", "/populate", [{**create, "name": "go2", "listen": "127.0.0.1:0"}])
    assert populated.status_code == 201, populated.text
    assert [p["name"] for p in populated.json()["proxies"]] == ["go2"]
    assert api.call("POST", "/reset", raw="").status_code == 204
    assert api.call("GET", "/proxies/go").json()["toxics"] == []
    assert api.call("DELETE", "/proxies/go").status_code == 204


# --- addresses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "connect", "family"),
    [("0.0.0.0:0", "127.0.0.1", socket.AF_INET), ("[::]:0", "::1", socket.AF_INET6)],
)
def test_listens_on_any_address_a_client_names(
    api: Api, echo_port: int, listen: str, connect: str, family: int
) -> None:
    body = {"name": "any", "listen": listen, "upstream": f"127.0.0.1:{echo_port}"}
    created = api.call("POST", "/proxies", body)
    assert created.status_code == 201, created.text
    shown = created.json()["listen"]
    host, port = shown.rsplit(":", 1)
    assert host == listen.rsplit(":", 1)[0] and int(port) > 0
    assert _echo_through(connect, int(port), family) == b"via proxy"


def test_upstream_is_kept_as_written(api: Api, echo_port: int) -> None:
    body = {"name": "kept", "listen": "127.0.0.1:0", "upstream": f"LOCALHOST:{echo_port}"}
    created = api.call("POST", "/proxies", body).json()
    assert created["upstream"] == f"LOCALHOST:{echo_port}"
    assert _echo_through("127.0.0.1", int(created["listen"].rsplit(":", 1)[1])) == b"via proxy"


# --- Toxiproxy's leniencies -----------------------------------------------------------------------------


def test_stream_in_any_case_is_kept_as_given_and_listed_upstream_first(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    for stream in ("Downstream", "UPSTREAM", "downstream"):
        body = {"type": "latency", "stream": stream, "attributes": {"latency": 1}}
        assert api.call("POST", "/proxies/svc/toxics", body).status_code == 200
    listed = api.call("GET", "/proxies/svc/toxics").json()
    assert [(t["name"], t["stream"]) for t in listed] == [
        ("latency_UPSTREAM", "UPSTREAM"),
        ("latency_Downstream", "Downstream"),
        ("latency_downstream", "downstream"),
    ]
    assert api.call("GET", "/proxies/svc").json()["toxics"] == listed


def test_every_toxiproxy_toxic_type_is_known(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    attributes = {"slicer": {"average_size": 10}}
    for type_ in ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "noop"):
        body = {"type": type_, "toxicity": 0, "attributes": attributes.get(type_, {})}
        assert api.call("POST", "/proxies/svc/toxics", body).status_code == 200, type_


def test_toxic_update_may_repeat_type_and_stream(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", stream="upstream", latency=10)
    body = {"type": "latency", "stream": "UPSTREAM", "name": "latency_upstream", "attributes": {"latency": 20}}
    response = api.call("POST", "/proxies/svc/toxics/latency_upstream", body)
    assert response.status_code == 200, response.text
    assert response.json()["attributes"]["latency"] == 20


def test_populate_leaves_an_unchanged_proxy_alone(api: Api, echo_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=50)
    same = {"name": "svc", "listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{echo_port}"}
    response = api.call("POST", "/populate", [{**same, "enabled": False}])
    assert response.status_code == 201, response.text
    shown = api.call("GET", "/proxies/svc").json()
    assert shown["enabled"] is True and len(shown["toxics"]) == 1  # Toxiproxy 2.8.0 does the same
    assert response.json()["proxies"] == [shown]
    assert _echo_through("127.0.0.1", port) == b"via proxy"


def test_populate_replaces_a_changed_proxy_and_refuses_bad_lists_whole(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=50)
    moved = {"name": "svc", "listen": "127.0.0.1:0", "upstream": f"localhost:{echo_port}"}
    replaced = api.call("POST", "/populate", [moved]).json()["proxies"][0]
    assert replaced["upstream"] == f"localhost:{echo_port}" and replaced["toxics"] == []

    before = api.call("GET", "/proxies").json()
    bad = [{"name": "new", "upstream": f"127.0.0.1:{echo_port}"}, {"name": "broken", "listen": "127.0.0.1:0"}]
    response = api.call("POST", "/populate", bad)
    _assert_error(response, 400, "missing required field", "upstream", "at proxy 2")
    assert response.json()["proxies"] == []
    _assert_error(api.call("POST", "/populate", {"not": "a list"}), 400, "list")
    assert "proxies" in api.call("POST", "/populate", raw="[{").json()
    assert api.call("GET", "/proxies").json() == before


def test_populate_that_fails_half_way_says_what_it_applied(api: Api, echo_port: int) -> None:
    busy = {"name": "clash", "listen": f"127.0.0.1:{echo_port}", "upstream": f"127.0.0.1:{echo_port}"}
    first = {"name": "first", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"}
    response = api.call("POST", "/populate", [first, busy])
    _assert_error(response, 409, "cannot listen")
    assert [p["name"] for p in response.json()["proxies"]] == ["first"]


# --- stricter on purpose, and --lenient -----------------------------------------------------------------

STRICT_CASES = [
    ({"type": "latency", "attributes": {"delay_ms": 5}}, ["unknown attribute", "delay_ms"]),
    ({"type": "latency", "attributes": {"latency": -5}}, ["latency", ">= 0"]),
    ({"type": "latency", "toxicity": 1.5}, ["toxicity", "0 to 1"]),
    ({"type": "slicer", "attributes": {"average_size": 0}}, ["average_size", ">= 1"]),
]


@pytest.mark.parametrize(("body", "words"), STRICT_CASES)
def test_strict_refusals_say_toxiproxy_would_have_ignored_it(
    api: Api, echo_port: int, body: dict[str, Any], words: list[str]
) -> None:
    api.create_proxy("svc", echo_port)
    response = api.call("POST", "/proxies/svc/toxics", body)
    _assert_error(response, 400, *words, "--lenient")
    assert api.call("GET", "/proxies/svc/toxics").json() == []


def test_changing_type_or_stream_in_an_update_is_refused_and_changes_nothing(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    toxic = api.add_toxic("svc", "latency", latency=10)
    for body in ({"type": "bandwidth", "attributes": {"latency": 20}}, {"stream": "upstream"}):
        response = api.call("PATCH", "/proxies/svc/toxics/latency_downstream", body)
        _assert_error(response, 400, "cannot change", "Toxiproxy would have ignored it")
    assert api.call("GET", "/proxies/svc/toxics").json() == [toxic]


@pytest.fixture(scope="module")
def lenient_api(module_spawner: Spawner) -> Api:
    server: ProxyProcess = module_spawner.proxy("--lenient")
    return Api(server.url)


def test_lenient_accepts_what_toxiproxy_accepts(lenient_api: Api, echo_port: int) -> None:
    port = lenient_api.create_proxy("loose", echo_port)
    body = {"name": "odd", "type": "latency", "toxicity": 1.5, "attributes": {"latency": -5, "foo": 3}}
    created = lenient_api.call("POST", "/proxies/loose/toxics", body)
    assert created.status_code == 200, created.text
    # As Toxiproxy shows it: the unknown attribute dropped, the rest as given.
    assert created.json()["attributes"] == {"latency": -5, "jitter": 0}
    assert created.json()["toxicity"] == 1.5
    update = {"type": "bandwidth", "stream": "upstream", "attributes": {"latency": -1}}
    updated = lenient_api.call("POST", "/proxies/loose/toxics/odd", update).json()
    assert (updated["type"], updated["stream"], updated["attributes"]["latency"]) == ("latency", "downstream", -1)
    assert _echo_through("127.0.0.1", port) == b"via proxy"  # a negative latency acts as none
    lenient_api.clear()


# --- as Toxiproxy 2.8.0 reads and writes JSON (each checked against the real server) --------------------


def test_json_is_written_compact_in_toxiproxy_key_order(api: Api, echo_port: int) -> None:
    port = api.create_proxy("b<&>", echo_port)
    api.create_proxy("a", echo_port, enabled=False)
    body = {"type": "latency", "toxicity": 0.5, "attributes": {"latency": 10}}
    toxic = api.call("POST", "/proxies/b<&>/toxics", body)
    assert toxic.text == (
        '{"attributes":{"latency":10,"jitter":0},"name":"latency_downstream","type":"latency",'
        '"stream":"downstream","toxicity":0.5}'
    )
    listed = api.call("GET", "/proxies").text
    assert listed.startswith('{"a":{"name":"a","listen":"127.0.0.1:0","upstream":')  # Go sorts map keys
    assert f'"b\\u003c\\u0026\\u003e":{{"name":"b\\u003c\\u0026\\u003e","listen":"127.0.0.1:{port}"' in listed
    missing = api.call("GET", "/proxies/nope")
    assert missing.text.startswith('{"error":"proxy not found') and missing.text.endswith('"status":404}\n')
    deleted = api.call("DELETE", "/proxies/a")
    assert (deleted.status_code, deleted.text, deleted.headers.get("Content-Type")) == (204, "", None)
    version = api.call("GET", "/version")
    assert version.headers["Content-Type"] == "application/json;charset=utf-8"
    assert version.text.startswith('{"version": "2.8.0+brownout.') and version.text.endswith('"}\n')


def test_keys_in_any_case_nulls_and_trailing_data_are_read_as_toxiproxy_reads_them(api: Api, echo_port: int) -> None:
    raw = f'{{"Name": "svc", "UPSTREAM": "127.0.0.1:{echo_port}", "Listen": "127.0.0.1:0", "enabled": null}} more'
    created = api.call("POST", "/proxies", raw=raw)
    assert created.status_code == 201, created.text
    assert created.json()["enabled"] is True
    body = {
        "TYPE": "latency",
        "Stream": None,
        "name": None,
        "toxicity": None,
        "Attributes": {"Latency": 7, "jitter": None},
    }
    toxic = api.call("POST", "/proxies/svc/toxics", body)
    assert toxic.status_code == 200, toxic.text
    assert toxic.json() == {
        "attributes": {"latency": 7, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    update = {"attributes": {"LATENCY": None, "Jitter": 3}, "toxicity": None}
    updated = api.call("PATCH", "/proxies/svc/toxics/latency_downstream", update)
    assert updated.json()["attributes"] == {"latency": 7, "jitter": 3} and updated.json()["toxicity"] == 1
    assert api.call("PATCH", "/proxies/svc", {"ENABLED": False, "upstream": None}).json()["enabled"] is False
    assert api.call("PATCH", "/proxies/svc", {"enabled": None}).json()["enabled"] is False


def test_what_toxiproxy_refuses_is_refused(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    _assert_error(api.call("PATCH", "/proxies/svc", {"name": 5}), 400, "name")
    too_big = {"type": "latency", "attributes": {"latency": 2**63}}
    _assert_error(api.call("POST", "/proxies/svc/toxics", too_big), 400, "latency")
    for method in ("HEAD", "OPTIONS"):
        assert api.call(method, "/proxies").status_code == 405
    assert api.call("HEAD", "/healthz").status_code == 200  # brownout's own readiness route


def test_a_taken_name_is_a_409_before_the_rest_is_checked(api: Api, echo_port: int) -> None:
    """Toxiproxy's order: a name that exists is found before attributes or addresses are read."""
    api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=10)
    bad_attributes = {"type": "latency", "attributes": {"latency": "slow"}}
    _assert_error(api.call("POST", "/proxies/svc/toxics", bad_attributes), 409, "already exists")
    _assert_error(api.call("POST", "/proxies/svc/toxics", {"type": "latency", "toxicity": "x"}), 400, "toxicity")
    bad_address = {"name": "svc", "listen": "nowhere", "upstream": "127.0.0.1:0"}
    _assert_error(api.call("POST", "/proxies", bad_address), 409, "already exists")
    _assert_error(api.call("POST", "/proxies", {"name": "svc", "upstream": "x:1", "enabled": 1}), 400, "enabled")


def test_addresses_without_a_host_or_a_listen_port(api: Api, echo_port: int) -> None:
    """As in Go: no host is this machine (a listener binds loopback: see the README), no port any port."""
    no_host = api.call("POST", "/proxies", {"name": "a", "listen": ":0", "upstream": f":{echo_port}"})
    assert no_host.status_code == 201, no_host.text
    host, port = no_host.json()["listen"].rsplit(":", 1)
    assert (host, no_host.json()["upstream"]) == ("", f":{echo_port}")
    assert _echo_through("127.0.0.1", int(port)) == b"via proxy"
    any_port = api.call("POST", "/proxies", {"name": "b", "listen": "127.0.0.1:", "upstream": f":{echo_port}"})
    assert any_port.status_code == 201, any_port.text
    assert _echo_through("127.0.0.1", int(any_port.json()["listen"].rsplit(":", 1)[1])) == b"via proxy"


def test_a_new_upstream_drops_open_connections(api: Api, echo_port: int, greeting_port: int) -> None:
    port = api.create_proxy("svc", echo_port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"one")
        assert sock.recv(16) == b"one"
        assert api.call("POST", "/proxies/svc", {"upstream": f"127.0.0.1:{greeting_port}"}).status_code == 200
        assert sock.recv(16) == b""  # closed, as Toxiproxy closes it; not left talking to the old upstream
    assert _echo_through("127.0.0.1", port).startswith(b"hello")


def test_upstream_refusing_closes_the_client_cleanly(api: Api) -> None:
    """An orderly close (FIN), as Toxiproxy's, even when the client has sent something already (was a RST)."""
    port = api.create_proxy("svc", free_port())
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"anyone there?")
            assert sock.recv(16) == b""
