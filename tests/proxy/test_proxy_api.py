"""The proxy's HTTP API against a real `brownout proxy` process: Toxiproxy's shapes, codes and errors."""

from __future__ import annotations

import socket

import pytest

from tests.proxy.proxy_support import Api, ProxyProcess, Spawner


def _assert_error(response, status: int, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["error"], body


def test_proxy_lifecycle_uses_toxiproxy_shapes_and_codes(api: Api, echo_port: int) -> None:
    listen_port = api.create_proxy("svc", echo_port)
    shown = api.call("GET", "/proxies/svc").json()
    assert shown == {
        "name": "svc",
        "listen": f"127.0.0.1:{listen_port}",
        "upstream": f"127.0.0.1:{echo_port}",
        "enabled": True,
        "toxics": [],
    }
    assert api.call("GET", "/proxies").json() == {"svc": shown}

    toxic = api.add_toxic("svc", "latency", latency=100, jitter=10)
    assert toxic == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 100, "jitter": 10},
    }
    assert api.call("GET", "/proxies/svc/toxics").json() == [toxic]
    assert api.call("GET", "/proxies/svc/toxics/latency_downstream").json() == toxic
    updated = api.call("POST", "/proxies/svc/toxics/latency_downstream", {"attributes": {"latency": 250}})
    assert updated.status_code == 200
    assert updated.json()["attributes"] == {"latency": 250, "jitter": 10}

    assert api.call("DELETE", "/proxies/svc/toxics/latency_downstream").status_code == 204
    assert api.call("GET", "/proxies/svc/toxics").json() == []
    assert api.call("DELETE", "/proxies/svc").status_code == 204
    assert api.call("GET", "/proxies").json() == {}
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listen_port), timeout=2).close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "gremlins"}, ["invalid toxic type", "gremlins"]),
        ({"type": "latency", "attributes": {"latency": -5}}, ["latency", ">= 0"]),
        ({"type": "latency", "attributes": {"latency": "fast"}}, ["latency", "number"]),
        ({"type": "latency", "attributes": {"delay_ms": 5}}, ["unknown attribute", "delay_ms"]),
        ({"type": "latency", "toxicity": 1.5}, ["toxicity", "0 to 1"]),
        ({"type": "latency", "toxicity": -0.1}, ["toxicity"]),
        ({"type": "latency", "stream": "sideways"}, ["stream", "upstream or downstream"]),
        ({"type": "latency", "stream": ""}, ["stream"]),
        (["not", "an", "object"], ["JSON object"]),
    ],
)
def test_bad_toxics_are_refused_with_400_and_a_reason(api: Api, echo_port: int, body: object, words: list[str]) -> None:
    api.create_proxy("svc", echo_port)
    _assert_error(api.call("POST", "/proxies/svc/toxics", body), 400, *words)
    assert api.call("GET", "/proxies/svc/toxics").json() == []


def test_lookups_duplicates_and_malformed_json_give_4xx_json(api: Api, echo_port: int) -> None:
    api.create_proxy("svc", echo_port)
    api.add_toxic("svc", "latency", latency=10)
    _assert_error(api.call("GET", "/proxies/ghost"), 404, "proxy not found", "ghost")
    _assert_error(api.call("DELETE", "/proxies/ghost"), 404, "ghost")
    _assert_error(api.call("POST", "/proxies/ghost/toxics", {"type": "latency"}), 404, "ghost")
    _assert_error(api.call("GET", "/proxies/svc/toxics/ghost"), 404, "toxic not found", "ghost")
    _assert_error(api.call("DELETE", "/proxies/svc/toxics/ghost"), 404, "ghost")
    _assert_error(api.call("POST", "/proxies/svc/toxics/ghost", {"toxicity": 0.5}), 404, "ghost")
    _assert_error(api.call("POST", "/proxies/svc/toxics", {"type": "latency"}), 409, "already exists")
    body = {"name": "svc", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"}
    _assert_error(api.call("POST", "/proxies", body), 409, "already exists", "svc")
    _assert_error(api.call("POST", "/proxies", raw="{not json"), 400, "bad request body")
    _assert_error(api.call("POST", "/proxies/svc/toxics", raw=""), 400, "bad request body")
    _assert_error(api.call("POST", "/proxies/svc", raw="[1,"), 400, "bad request body")
    _assert_error(api.call("GET", "/no/such/route"), 404)
    _assert_error(api.call("PUT", "/proxies"), 405)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "x", "listen": "127.0.0.1", "upstream": "127.0.0.1:1"}, ["listen", "host:port"]),
        ({"name": "x", "listen": "127.0.0.1:70000", "upstream": "127.0.0.1:1"}, ["port outside"]),
        ({"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:0"}, ["upstream", "real port"]),
        ({"name": "x", "listen": "127.0.0.1:0"}, ["missing required field", "upstream"]),
        ({"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}, ["missing required field", "name"]),
        ({"name": "x", "upstream": "127.0.0.1:http"}, ["port"]),
        ({"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}, ["enabled"]),
    ],
)
def test_bad_proxies_are_refused_with_400(api: Api, body: object, words: list[str]) -> None:
    _assert_error(api.call("POST", "/proxies", body), 400, *words)
    assert api.call("GET", "/proxies").json() == {}


def test_busy_listen_address_is_a_409_not_a_crash(api: Api, echo_port: int) -> None:
    body = {"name": "x", "listen": f"127.0.0.1:{echo_port}", "upstream": f"127.0.0.1:{echo_port}"}
    _assert_error(api.call("POST", "/proxies", body), 409, "cannot listen")
    assert api.call("GET", "/version").status_code == 200


def test_reset_enables_every_proxy_and_removes_every_toxic(api: Api, echo_port: int) -> None:
    api.create_proxy("a", echo_port)
    api.create_proxy("b", echo_port)
    api.add_toxic("a", "latency", latency=50)
    api.add_toxic("b", "timeout", stream="upstream", timeout=0)
    assert api.call("POST", "/proxies/b", {"enabled": False}).json()["enabled"] is False

    assert api.call("POST", "/reset").status_code == 204
    proxies = api.call("GET", "/proxies").json()
    assert {name: (p["enabled"], p["toxics"]) for name, p in proxies.items()} == {
        "a": (True, []),
        "b": (True, []),
    }


def test_populate_creates_and_keeps_unchanged_proxies(api: Api, echo_port: int) -> None:
    listen_port = api.create_proxy("a", echo_port)
    api.add_toxic("a", "latency", latency=50)
    body = [
        {"name": "a", "listen": f"127.0.0.1:{listen_port}", "upstream": f"127.0.0.1:{echo_port}"},
        {"name": "b", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}", "enabled": False},
    ]
    response = api.call("POST", "/populate", body)
    assert response.status_code == 201, response.text
    by_name = {p["name"]: p for p in response.json()["proxies"]}
    assert len(by_name["a"]["toxics"]) == 1
    assert by_name["b"]["enabled"] is False


def test_version_and_healthz(api: Api) -> None:
    # Like Toxiproxy's ("2.8.0"), with brownout's own version as semver build metadata.
    assert api.call("GET", "/version").json()["version"].startswith("2.8.0+brownout.")
    assert api.call("GET", "/healthz").status_code == 200


def test_browsers_are_refused(api: Api) -> None:
    response = api.session.get(api.url + "/proxies", headers={"User-Agent": "Mozilla/5.0"}, timeout=10)
    _assert_error(response, 403, "browser")


def test_token_when_set_is_required_except_for_healthz(spawner: Spawner) -> None:
    server: ProxyProcess = spawner.proxy(token="s3cret")
    anonymous = Api(server.url)
    _assert_error(anonymous.call("GET", "/proxies"), 401, "token")
    _assert_error(Api(server.url, token="wrong").call("GET", "/proxies"), 403, "wrong token")
    assert anonymous.call("GET", "/healthz").status_code == 200
    assert Api(server.url, token="s3cret").call("GET", "/proxies").json() == {}
