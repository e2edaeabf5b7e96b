"""Pre-flight against real processes (a `brownout proxy` with one proxy, a host that does not answer), the
starter's files, shipped scenarios by name, and `[load] locustfile` resolved from the scenario's folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.scenario.cli import write_starter
from brownout.scenario.schema import load_scenario
from brownout.scenario.shipped import DEFAULT_SCENARIO, SCENARIOS, scenario_file
from brownout.stack.spec import load_stack_spec
from tests.helpers import REPO_ROOT, free_port, start_process, stop_process

BROWNOUT = [sys.executable, "-m", "brownout"]


@pytest.fixture
def fault_proxy(tmp_path: Path):
    """A real fault proxy with one proxy, "db", and an HTTP service (http.server) to load."""
    config = tmp_path / "proxies.json"
    upstream, listen = free_port(), free_port()
    routes = [{"name": "db", "listen": f"127.0.0.1:{listen}", "upstream": f"127.0.0.1:{upstream}"}]
    config.write_text(json.dumps(routes))
    api, web = free_port(), free_port()
    proxy = start_process([*BROWNOUT, "proxy", "--port", str(api), "--config", str(config)],
                          f"http://127.0.0.1:{api}/healthz", tmp_path / "proxy.log")  # fmt: skip
    service = start_process([sys.executable, "-m", "http.server", str(web), "--bind", "127.0.0.1"],
                            f"http://127.0.0.1:{web}/", tmp_path / "http.log")  # fmt: skip
    try:
        yield f"http://127.0.0.1:{api}", f"http://127.0.0.1:{web}"
    finally:
        stop_process(proxy)
        stop_process(service)


def _scenario(folder: Path, host: str, proxy_api: str, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.py").write_text(
        "from locust import HttpUser, task, constant\n\n"
        "class U(HttpUser):\n    wait_time = constant(0.2)\n\n"
        "    @task\n    def index(self):\n        self.client.get('/')\n"
    )
    path = folder / "scenario.toml"
    path.write_text(f'''
[target]
host = "{host}"
[target.proxy]
url = "{proxy_api}"
[load]
locustfile = "users.py"
steps = [{{ users = 1, spawn_rate = 1, duration = "6s" }}]
[[faults]]
name = "db-slow"
kind = "network"
target = "db"
toxic = "latency"
attributes = {{ latency = 50 }}
at = "1s"
duration = "1s"
[[faults]]
name = "db-down"
kind = "network"
target = "{target}"
down = true
at = "3s"
duration = "1s"
''')
    return path


def _run(scenario: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [*BROWNOUT, "run", str(scenario), "--no-report", "--out", str(cwd / "results"), *extra]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_fault_on_a_proxy_the_target_does_not_have_stops_the_run_before_any_load(fault_proxy, tmp_path) -> None:
    proxy_api, host = fault_proxy
    scenario = _scenario(tmp_path / "scn", host, proxy_api, target="database")
    done = _run(scenario, tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    expected = (
        f'{scenario}: faults[1] "db-down": target \'database\': the proxy at {proxy_api} has no such proxy '
        "(its proxies: db)"
    )
    assert expected in done.stderr
    assert not list((tmp_path / "results").glob("*/timeline.csv"))  # no load was run


def test_a_host_that_does_not_answer_is_named_by_its_field(fault_proxy, tmp_path) -> None:
    proxy_api, _ = fault_proxy
    dead = f"http://127.0.0.1:{free_port()}"
    scenario = _scenario(tmp_path / "scn", dead, proxy_api, target="db")
    done = _run(scenario, tmp_path)
    assert done.returncode == 2
    assert f"{scenario}: [target] host: nothing answers at {dead}/ (is the service running?)" in done.stderr


def test_a_run_refused_by_pre_flight_ends_with_the_reason_and_leaves_latest_on_the_last_real_run(
    fault_proxy, tmp_path
) -> None:
    proxy_api, _ = fault_proxy
    dead = f"http://127.0.0.1:{free_port()}"
    scenario = _scenario(tmp_path / "scn", dead, proxy_api, target="db")
    results = tmp_path / "results"
    (results / "earlier").mkdir(parents=True)
    (results / "latest").symlink_to("earlier")
    done = _run(scenario, tmp_path)
    assert done.returncode == 2
    assert done.stdout.splitlines()[-1] == (
        "brownout run: exit code 2 (the run could not happen: pre-flight: 1 problem(s) before any load: "
        f"{scenario}: [target] host: nothing answers at {dead}/ (is the service running?))"
    )
    assert sorted(p.name for p in results.iterdir()) == ["earlier", "latest"]  # no empty run directory
    assert (results / "latest").readlink() == Path("earlier")


def test_with_everything_there_the_run_goes_on_and_the_locustfile_is_found_next_to_the_scenario(
    fault_proxy, tmp_path
) -> None:
    proxy_api, host = fault_proxy
    scenario = _scenario(tmp_path / "scn", host, proxy_api, target="db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run(scenario, elsewhere)
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = [p for p in (elsewhere / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    faults = (results / "faults.csv").read_text()
    assert faults.count(",healed,") == 2, faults
    assert "brownout run: exit code 0 (results written, not judged (--no-report))" in done.stdout


def test_a_missing_locustfile_is_named_with_the_folder_it_was_looked_for_in(tmp_path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[target]\nhost = "http://127.0.0.1:9"\n[load]\nlocustfile = "nope.py"\n'
                        'steps = [{ users = 1, spawn_rate = 1, duration = "2s" }]\n')  # fmt: skip
    done = subprocess.run([*BROWNOUT, "run", str(scenario)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"[load] locustfile: no such file {tmp_path / 'nope.py'}" in done.stderr


def test_shipped_scenarios_are_found_by_name_and_unknown_names_list_them(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert scenario_file("smoke") == SCENARIOS / "smoke.toml"
    assert scenario_file("default.toml") == DEFAULT_SCENARIO
    (tmp_path / "smoke.toml").write_text("")
    assert scenario_file("smoke.toml") == Path("smoke.toml")  # a file here wins
    with pytest.raises(InputError, match=r"nope: no such scenario file, .*\(shipped: .*smoke"):
        scenario_file("nope")


def test_the_starter_files_parse_and_are_not_overwritten(tmp_path) -> None:
    written = write_starter(tmp_path / "svc", "http://127.0.0.1:8000/")
    assert [p.name for p in written] == ["scenario.toml", "locustfile.py", "stack.toml"]
    scenario = load_scenario(tmp_path / "svc" / "scenario.toml")
    assert scenario.target is not None and scenario.target.host == "http://127.0.0.1:8000"
    assert scenario.load.duration_s <= 30 and scenario.faults == ()
    assert load_stack_spec(tmp_path / "svc" / "stack.toml").names == ("db", "faultproxy", "api")
    compile((tmp_path / "svc" / "locustfile.py").read_text(), "locustfile.py", "exec")
    with pytest.raises(InputError, match="already there; --force overwrites"):
        write_starter(tmp_path / "svc", None)


def test_the_starter_fails_against_a_service_that_does_not_answer_200(tmp_path) -> None:
    port = free_port()
    app = REPO_ROOT / "bench" / "plain_app.py"  # answers 404 on /
    service = start_process([sys.executable, str(app), "--port", str(port), "--delay-ms", "0"],
                            f"http://127.0.0.1:{port}/work", tmp_path / "app.log")  # fmt: skip
    try:
        write_starter(tmp_path / "svc", f"http://127.0.0.1:{port}")
        done = _run_judged(tmp_path / "svc" / "scenario.toml", tmp_path)
    finally:
        stop_process(service)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "verdict: FAIL" in done.stdout and "brownout run: exit code 1 (a check failed)" in done.stdout


def _run_judged(scenario: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [*BROWNOUT, "run", str(scenario), "--out", str(cwd / "results")]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
