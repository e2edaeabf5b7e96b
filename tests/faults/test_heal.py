"""No fault outlives brownout: a run killed with SIGKILL mid-fault against a service it did not start leaves
its faults in force; `brownout heal RESULTS_DIR` (or the next `brownout run` under the same --out) reads the
killed run's journal and heals them, saying what it healed, and marks them so a second heal does nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from brownout.faults.journal import FaultJournal
from brownout.history import FaultRow, Manifest, read_faults, write_manifest
from tests.faults.support import RecordingServer
from tests.helpers import BROWNOUT, REPO_ROOT, free_port, start_process, stop_process, wait_until

_LOCUSTFILE = (
    "from locust import HttpUser, task, constant\n\n"
    "class U(HttpUser):\n    wait_time = constant(0.2)\n\n"
    "    @task\n    def index(self):\n        self.client.get('/')\n"
)


# One user for a minute and an http fault in force from 1 s to 41 s: the run is killed long before it heals.
_HTTP_ONLY = """
[target]
host = "{host}"
[load]
locustfile = "users.py"
steps = [{{ users = 1, spawn_rate = 1, duration = "60s" }}]
[[faults]]
name = "flag"
kind = "http"
target = "feature-flag"
inject = {{ method = "PUT", url = "{host}/flag" }}
heal = {{ method = "DELETE", url = "{host}/flag{query}" }}
at = "1s"
duration = "40s"
"""


def _scenario_text(host: str, proxy_api: str) -> str:
    """The http fault and, at the same time, a latency toxic on the external proxy's "db"."""
    proxy = f'[target.proxy]\nurl = "{proxy_api}"\n[load]'
    toxic = '[[faults]]\nname = "db-slow"\nkind = "network"\ntarget = "db"\ntoxic = "latency"\n'
    toxic += 'attributes = { latency = 50 }\nat = "1s"\nduration = "40s"\n'
    return _HTTP_ONLY.format(host=host, query="").replace("[load]", proxy, 1) + toxic


@pytest.fixture
def proxy_api(tmp_path: Path) -> Iterator[str]:
    """An external `brownout proxy` with one proxy, "db": a fault proxy the run does not start."""
    config = tmp_path / "proxies.json"
    routes = [{"name": "db", "listen": f"127.0.0.1:{free_port()}", "upstream": f"127.0.0.1:{free_port()}"}]
    config.write_text(json.dumps(routes))
    api = free_port()
    proxy = start_process([*BROWNOUT, "proxy", "--port", str(api), "--config", str(config)],
                          f"http://127.0.0.1:{api}/healthz", tmp_path / "proxy.log")  # fmt: skip
    try:
        yield f"http://127.0.0.1:{api}"
    finally:
        stop_process(proxy)


def _toxics(proxy_api: str) -> list[str]:
    import requests

    return [toxic["name"] for toxic in requests.get(f"{proxy_api}/proxies/db/toxics", timeout=5).json()]


def _in_force(results: Path) -> bool:
    try:
        rows = read_faults(results / "latest")
    except Exception:  # noqa: BLE001  (not written yet)
        return False
    return len([r for r in rows if r.actual_start is not None]) == 2


def _heal(results_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BROWNOUT, "heal", str(results_dir)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_a_run_killed_mid_fault_leaves_its_toxic_and_brownout_heal_removes_it_and_sends_the_heal_request(
    proxy_api: str, tmp_path: Path
) -> None:
    with RecordingServer().running() as service:
        (tmp_path / "users.py").write_text(_LOCUSTFILE)
        scenario = tmp_path / "scenario.toml"
        scenario.write_text(_scenario_text(service.url, proxy_api))
        results = tmp_path / "results"
        argv = [*BROWNOUT, "run", str(scenario), "--no-report", "--out", str(results)]
        run = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
        try:
            # Both journalled and the http fault's PUT arrived: a fault's start is journalled as its inject
            # begins, so killing at the first sight of the row can come before the PUT or the toxic went out.
            injected = lambda: (  # noqa: E731
                _in_force(results) and ("PUT", "/flag") in service.paths() and bool(_toxics(proxy_api))
            )
            assert wait_until(injected, timeout_s=60), "the faults were never injected"
        finally:
            os.killpg(run.pid, signal.SIGKILL)  # brownout run and its Locust child: no heal, no write-up
            run.wait(timeout=10)
        before = _toxics(proxy_api)
        assert before == ["brownout-db-slow"]  # left in force by the killed run
        assert ("DELETE", "/flag") not in service.paths()

        done = _heal(results / "latest")
        assert done.returncode == 0, done.stderr
        assert _toxics(proxy_api) == []
        service.wait_for("DELETE", "/flag")
        assert done.stdout.splitlines() == [
            f"brownout heal: flag (http on feature-flag): healed: sent the heal request DELETE {service.url}/flag",
            "brownout heal: db-slow (network on db): healed: removed toxic 'brownout-db-slow' from proxy 'db'",
            f"brownout heal: 2 fault(s) healed; marked in {results / 'latest' / 'faults.csv'}",
        ]
        rows = read_faults(results / "latest")
        assert [(r.outcome, r.actual_end is not None) for r in rows] == [("aborted", True), ("aborted", True)]
        assert all("healed by `brownout heal` at" in r.error for r in rows)

        again = _heal(results / "latest")  # nothing left: no second heal request
        assert (again.returncode, again.stdout.strip()) == (0, f"brownout heal: nothing left in force in "
                                                                f"{results / 'latest'}")  # fmt: skip
        assert service.paths().count(("DELETE", "/flag")) == 1
    print(f"toxics left by the killed run: {len(before)}; after brownout heal: {len(_toxics(proxy_api))}")


# --- the journal alone: literal faults.csv and manifest --------------------------------------------------
def _killed_run(folder: Path, scenario_text: str, rows: list[FaultRow]) -> Path:
    folder.mkdir(parents=True)
    write_manifest(folder, Manifest(started_at=1000.0, ended_at=1000.0, scenario_text=scenario_text,
                                    scenario={"target": {}}))  # fmt: skip
    FaultJournal(folder).write(rows)
    return folder


def _row(name: str, kind: str, target: str) -> FaultRow:
    """A fault in force when its run was killed: started, never ended."""
    return FaultRow(name=name, target=target, kind=kind, params={}, planned_start=1001.0, planned_end=1041.0,
                    actual_start=1001.0, actual_end=None, outcome="aborted")  # fmt: skip


def test_a_heal_that_fails_exits_1_and_leaves_the_fault_open_for_the_next_heal(tmp_path: Path) -> None:
    with RecordingServer().running() as service:
        text = _HTTP_ONLY.format(host=service.url, query="?status=500")
        run = _killed_run(tmp_path / "run", text, [_row("flag", "http", "feature-flag")])
        done = _heal(run)
        assert done.returncode == 1
        assert done.stdout.splitlines()[0] == (
            f"brownout heal: flag (http on feature-flag): could not heal: cannot heal fault 'flag': DELETE "
            f"{service.url}/flag?status=500 answered 500: told to fail"
        )
        [row] = read_faults(run)
        assert row.actual_end is None and row.error.startswith("`brownout heal` at ")
        assert _heal(run).returncode == 1  # tried again, still failing


def test_a_run_that_is_still_going_is_not_healed(tmp_path: Path) -> None:
    with RecordingServer().running() as service:
        run = _killed_run(tmp_path / "run", _HTTP_ONLY.format(host=service.url, query=""), [_row("flag", "http", "x")])
        journal = FaultJournal(run)
        journal.start_writer()  # a live run's journal holds the run's lock
        try:
            done = _heal(run)
        finally:
            journal.close()
        assert done.returncode == 2
        assert "the run is still going" in done.stderr
        assert service.paths() == []
        assert _heal(run).returncode == 0  # once it is over


def test_the_next_brownout_run_heals_what_the_previous_run_left_before_anything_else(tmp_path: Path) -> None:
    with RecordingServer().running() as service:
        results = tmp_path / "results"
        text = _HTTP_ONLY.format(host=service.url, query="")
        _killed_run(results / "20240101-000000", text, [_row("flag", "http", "feature-flag")])
        (results / "latest").symlink_to("20240101-000000")
        argv = [*BROWNOUT, "run", str(tmp_path / "missing.toml"), "--out", str(results)]
        done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2  # the new run's own problem: its scenario is missing
        assert done.stdout.splitlines()[0] == (
            f"brownout run: the previous run {results / '20240101-000000'} left 1 fault(s) in force "
            "against its [target]; healing them first"
        )
        assert done.stdout.splitlines()[1] == (
            f"brownout run: flag (http on feature-flag): healed: sent the heal request DELETE {service.url}/flag"
        )
        assert service.paths() == [("DELETE", "/flag")]


def test_faults_on_the_run_s_own_stack_died_with_it_and_are_only_marked(tmp_path: Path) -> None:
    text = """
[load]
steps = [{ users = 1, spawn_rate = 1, duration = "60s" }]
[[faults]]
name = "upstream-slow"
kind = "network"
target = "upstream"
toxic = "latency"
attributes = { latency = 300 }
at = "1s"
duration = "10s"
"""
    run = _killed_run(tmp_path / "run", text, [_row("upstream-slow", "network", "upstream")])
    done = _heal(run)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        "brownout heal: upstream-slow (network on upstream): nothing to heal: it ended with the run's stack, "
        "which died with the run"
    )
    assert read_faults(run)[0].actual_end is not None


def test_heal_of_a_folder_without_a_journal_is_bad_input(tmp_path: Path) -> None:
    done = _heal(tmp_path)
    assert done.returncode == 2
    assert "faults.csv" in done.stderr and "Traceback" not in done.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
