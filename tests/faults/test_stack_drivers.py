"""The toxiproxy, component and app drivers against the real sample stack (`brownout stack up`), and
`brownout faults run --stack-run-dir` end to end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from brownout.errors import FaultError
from brownout.faults.drivers import build_driver
from brownout.faults.endpoints import Endpoints, endpoints_from_stack_json
from brownout.faults.kinds import AppParams, ComponentParams, DbLockParams, NetworkParams
from brownout.history import read_faults
from brownout.scenario.schema import FaultSpec
from tests.helpers import BROWNOUT, REPO_ROOT, stop_process, wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run_dir = tmp_path_factory.mktemp("stack")
    log = (run_dir / "up.log").open("wb")
    process = subprocess.Popen(
        [*BROWNOUT, "stack", "up", "--run-dir", str(run_dir), "--ephemeral-ports"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: (run_dir / "stack.json").exists() or process.poll() is not None, 60)
        if not (run_dir / "stack.json").exists():
            raise RuntimeError(f"stack did not come up:\n{(run_dir / 'up.log').read_text()[-3000:]}")
        yield run_dir
    finally:
        stop_process(process, timeout=30)  # type: ignore[arg-type]
        log.close()


@pytest.fixture(scope="module")
def endpoints(stack: Path) -> Endpoints:
    return endpoints_from_stack_json(stack)


def _fault(name: str, target: str, kind: str, params: Any) -> FaultSpec:
    return FaultSpec(index=0, name=name, target=target, kind=kind, params=params, duration_s=1.0, at_s=0.0)


def _get(url: str, token: str | None) -> Any:
    response = requests.get(url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)
    response.raise_for_status()
    return response.json()


def _component(endpoints: Endpoints, name: str) -> dict[str, Any]:
    components = _get(f"{endpoints.control_url}/components", endpoints.token)["components"]
    return next(c for c in components if c["name"] == name)


def _gateway(endpoints: Endpoints) -> str:
    return endpoints.component_urls["gateway"]


def _send_message(endpoints: Endpoints) -> requests.Response:
    thread = requests.post(f"{_gateway(endpoints)}/threads", json={}, timeout=20)
    assert thread.status_code == 201, thread.text
    return requests.post(
        f"{_gateway(endpoints)}/threads/{thread.json()['thread_id']}/messages", json={"text": "hello"}, timeout=20
    )


def test_stack_json_gives_every_endpoint(endpoints: Endpoints, stack: Path) -> None:
    assert endpoints.control_url and endpoints.proxy_api_url and endpoints.token
    assert set(endpoints.component_urls) >= {"gateway", "upstream", "notifier", "faultproxy"}
    assert endpoints.gateway_db("gateway") == stack.resolve() / "data" / "gateway" / "gateway.db"


def test_toxic_is_added_and_removed_through_the_toxiproxy_api(endpoints: Endpoints) -> None:
    params = NetworkParams(proxy="upstream", toxic="latency", attributes=(("latency", 100), ("jitter", 10)))
    driver = build_driver(_fault("slow", "upstream", "network", params), endpoints)
    toxics_url = f"{endpoints.proxy_api_url}/proxies/upstream/toxics"
    driver.inject()
    try:
        toxics = _get(toxics_url, endpoints.proxy_token)
        assert [(t["name"], t["type"], t["attributes"]["latency"]) for t in toxics] == [
            ("brownout-slow", "latency", 100)
        ]
        driver.inject()  # a leftover toxic of the same name is replaced, not an error
        assert len(_get(toxics_url, endpoints.proxy_token)) == 1
    finally:
        driver.heal()
    assert _get(toxics_url, endpoints.proxy_token) == []
    driver.heal()  # idempotent


def test_proxy_down_makes_the_gateway_answer_degraded_until_healed(endpoints: Endpoints) -> None:
    driver = build_driver(_fault("cut", "upstream", "network", NetworkParams(proxy="upstream", down=True)), endpoints)
    proxy_url = f"{endpoints.proxy_api_url}/proxies/upstream"
    driver.inject()
    try:
        assert _get(proxy_url, endpoints.proxy_token)["enabled"] is False
        answer = _send_message(endpoints)
        assert answer.status_code == 201 and answer.headers.get("X-Degraded") == "1"
    finally:
        driver.heal()
    assert _get(proxy_url, endpoints.proxy_token)["enabled"] is True


def test_unknown_proxy_is_an_actionable_fault_error(endpoints: Endpoints) -> None:
    params = NetworkParams(proxy="nosuch", toxic="latency", attributes=(("latency", 1),))
    with pytest.raises(FaultError, match="has no proxy named 'nosuch'"):
        build_driver(_fault("x", "nosuch", "network", params), endpoints).inject()


def test_kill_then_heal_starts_the_component_again(endpoints: Endpoints) -> None:
    driver = build_driver(_fault("k", "notifier", "component", ComponentParams("notifier", "kill")), endpoints)
    pid = _component(endpoints, "notifier")["pid"]
    assert driver.inject() == {"pid": pid}  # the evidence: the process it killed
    try:
        assert _component(endpoints, "notifier")["state"] == "stopped"
    finally:
        healed = driver.heal()
    status = _component(endpoints, "notifier")
    assert status["state"] == "running" and status["ready"]
    assert healed == {"pid_after_heal": status["pid"]} and status["pid"] != pid
    driver.heal()  # idempotent: already running


def test_killing_a_component_that_is_already_gone_fails_the_inject(endpoints: Endpoints) -> None:
    requests.post(f"{endpoints.control_url}/components/notifier/kill",
                  headers={"Authorization": f"Bearer {endpoints.token}"}, timeout=10).raise_for_status()  # fmt: skip
    driver = build_driver(_fault("k", "notifier", "component", ComponentParams("notifier", "kill")), endpoints)
    try:
        with pytest.raises(FaultError, match="component 'notifier' was already stopped \\(no process to kill\\)"):
            driver.inject()
    finally:
        driver.heal()
    assert _component(endpoints, "notifier")["state"] == "running"


def test_a_network_fault_records_the_traffic_through_its_proxy(endpoints: Endpoints) -> None:
    params = NetworkParams(proxy="upstream", toxic="latency", attributes=(("latency", 10),))
    driver = build_driver(_fault("slow", "upstream", "network", params), endpoints)
    _send_message(endpoints)  # the gateway uses the proxy just before the fault
    before = driver.inject()
    assert before["proxy"] == "upstream" and before["source"] == "traffic"
    assert before["idle_before_s"] is not None and before["idle_before_s"] < 5 and before["bytes_before"] > 0
    try:
        assert _send_message(endpoints).status_code == 201
    finally:
        window = driver.heal()
    assert window is not None and window["bytes_upstream"] > 0 and window["bytes_downstream"] > 0


def test_freeze_then_heal_thaws(endpoints: Endpoints) -> None:
    driver = build_driver(_fault("f", "notifier", "component", ComponentParams("notifier", "freeze")), endpoints)
    driver.inject()
    try:
        assert _component(endpoints, "notifier")["state"] == "frozen"
    finally:
        driver.heal()
    assert _component(endpoints, "notifier")["state"] == "running"


def test_restart_heal_waits_until_the_gateway_is_ready(endpoints: Endpoints) -> None:
    before = _component(endpoints, "gateway")
    driver = build_driver(_fault("r", "gateway", "component", ComponentParams("gateway", "restart")), endpoints)
    driver.inject()
    driver.heal()
    after = _component(endpoints, "gateway")
    assert after["pid"] != before["pid"] and after["ready"]
    assert requests.get(f"{_gateway(endpoints)}/readyz", timeout=10).status_code == 200


def test_wrong_token_says_to_check_the_token(endpoints: Endpoints) -> None:
    from dataclasses import replace

    wrong = replace(endpoints, token="not-the-token")
    driver = build_driver(_fault("k", "notifier", "component", ComponentParams("notifier", "kill")), wrong)
    with pytest.raises(FaultError, match="answered 403.*check the token"):
        driver.inject()
    assert _component(endpoints, "notifier")["state"] == "running"


def test_app_fault_is_set_and_cleared_through_the_admin_api(endpoints: Endpoints) -> None:
    params = AppParams(dependency="upstream", error_rate=1.0)
    driver = build_driver(_fault("errors", "gateway", "app", params), endpoints)
    admin = f"{_gateway(endpoints)}/admin/faults"
    driver.inject()
    try:
        assert _get(admin, endpoints.admin_token)["faults"]["upstream"]["error_rate"] == 1.0
    finally:
        driver.heal()
    assert "upstream" not in _get(admin, endpoints.admin_token)["faults"]
    driver.heal()  # idempotent


def test_db_lock_holds_the_gateways_database_until_healed(endpoints: Endpoints) -> None:
    driver = build_driver(_fault("db", "gateway", "app", DbLockParams(acquire_timeout_s=5)), endpoints)
    db = endpoints.gateway_db("gateway")
    assert db is not None and db.is_file()
    driver.inject()
    try:
        with (
            pytest.raises(sqlite3.OperationalError, match="locked"),
            sqlite3.connect(db, timeout=0.1, isolation_level=None) as other,
        ):
            other.execute("BEGIN IMMEDIATE")
    finally:
        driver.heal()
    assert requests.post(f"{_gateway(endpoints)}/threads", json={}, timeout=20).status_code == 201


def test_a_schedule_of_every_kind_heals_back_to_a_healthy_stack(
    stack: Path, endpoints: Endpoints, tmp_path: Path
) -> None:
    marker = tmp_path / "command-fault-in-force"
    admin = f"{_gateway(endpoints)}/admin/faults/notifier"
    auth = f"Bearer {endpoints.token}"
    scenario = tmp_path / "every-kind.toml"
    scenario.write_text(f"""
[load]
steps = [{{ users = 1, spawn_rate = 1, duration = "1m" }}]

[[faults]]
name = "upstream-slow"
kind = "network"
target = "upstream"
toxic = "latency"
attributes = {{ latency = 100 }}
at = "0s"
duration = "400ms"

[[faults]]
name = "notifier-link-down"
kind = "network"
target = "notifier"
down = true
at = "100ms"
duration = "400ms"

[[faults]]
name = "upstream-frozen"
kind = "component"
target = "upstream"
action = "freeze"
at = "600ms"
duration = "300ms"

[[faults]]
name = "gateway-upstream-errors"
kind = "app"
target = "gateway"
dependency = "upstream"
error_rate = 1.0
at = "1s"
duration = "300ms"

[[faults]]
name = "notifier-errors-by-http"
kind = "http"
target = "notifier-client"
at = "1400ms"
duration = "300ms"
inject = {{ method = "PUT", url = "{admin}", body = {{ error_rate = 1.0 }}, headers = {{ Authorization = "{auth}" }} }}
heal = {{ method = "DELETE", url = "{admin}", headers = {{ Authorization = "{auth}" }} }}

[[faults]]
name = "marker-by-command"
kind = "command"
target = "marker"
at = "1800ms"
duration = "300ms"
inject = ["{sys.executable}", "-c", "import pathlib; pathlib.Path('{marker}').touch()"]
heal = ["{sys.executable}", "-c", "import pathlib; pathlib.Path('{marker}').unlink()"]

[[faults]]
name = "db-locked"
kind = "app"
target = "gateway"
db_lock = true
at = "2200ms"
duration = "300ms"
""")
    out = tmp_path / "out"
    done = subprocess.run(
        [*BROWNOUT, "faults", "run", str(scenario), "--stack-run-dir", str(stack), "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = read_faults(out)
    assert [(row.name, row.kind, row.outcome) for row in rows] == [
        ("upstream-slow", "network", "healed"), ("notifier-link-down", "network", "healed"),
        ("upstream-frozen", "component", "healed"), ("gateway-upstream-errors", "app", "healed"),
        ("notifier-errors-by-http", "http", "healed"), ("marker-by-command", "command", "healed"),
        ("db-locked", "app", "healed"),
    ]  # fmt: skip
    for row in rows:
        assert row.actual_start is not None and row.actual_end is not None and row.planned_start is not None
        assert row.actual_start >= row.planned_start - 0.01 and row.actual_end > row.actual_start
    assert not marker.exists()
    components = _get(f"{endpoints.control_url}/components", endpoints.token)["components"]
    assert {(c["name"], c["state"], c["ready"]) for c in components} == {
        (name, "running", True) for name in ("upstream", "notifier", "faultproxy", "gateway")
    }
    proxies = _get(f"{endpoints.proxy_api_url}/proxies", endpoints.token)
    assert {name: (p["enabled"], p["toxics"]) for name, p in proxies.items()} == {
        name: (True, []) for name in proxies
    }
    assert _get(f"{_gateway(endpoints)}/admin/faults", endpoints.token) == {"faults": {}}
    assert _send_message(endpoints).json()["degraded"] is False
