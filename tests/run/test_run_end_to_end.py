"""`brownout run` end to end against the real sample stack: every history file, plausible content."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from brownout.history import load_history
from tests.helpers import REPO_ROOT, sigint_as_in_a_terminal, wait_until
from tests.run.conftest import BROWNOUT, SCENARIOS, everything, locust_total, processes_mentioning, run_dir_of

HISTORY_FILES = (
    "manifest.json", "timeline.csv", "users.csv", "faults.csv", "telemetry.csv", "integrity.json",
    "locust_stats.csv", "locust_stats_history.csv", "verdict.json", "report.md", "report.html", "junit.xml",
)  # fmt: skip


def test_smoke_run_passes_and_writes_a_complete_consistent_history(tmp_path: Path, run_brownout) -> None:
    done = run_brownout("scenarios/smoke.toml", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]  # a healthy build passes, every time
    results = run_dir_of(tmp_path)
    assert (tmp_path / "latest").resolve() == results
    for name in HISTORY_FILES:
        assert (results / name).stat().st_size > 0, name
    history = load_history(results)
    recorded = everything(history.timeline)
    assert recorded.total > 50
    assert (recorded.total, recorded.failed) == locust_total(results)  # the plugin saw what Locust counted
    assert {f.name: f.outcome for f in history.faults} == {"upstream-slow": "healed", "upstream-errors": "healed"}
    assert history.users and max(u.users for u in history.users) == 5
    assert history.telemetry is not None and "gateway_breaker_state" in history.telemetry.metrics
    integrity = history.integrity
    assert integrity is not None and integrity.verified
    assert integrity.kinds["messages"].acknowledged > 0
    assert (integrity.lost, integrity.duplicated, integrity.stream.gaps) == (0, 0, 0)
    assert history.manifest.ended_at > history.manifest.started_at
    assert history.manifest.scenario["name"] == "smoke"
    _assert_reports_agree(results, "pass")
    lines = done.stdout.rstrip().splitlines()
    assert "verdict: PASS" in lines
    assert lines[-1] == "brownout run: exit code 0 (every check passed)"  # brownout's own, not Locust's


def _assert_reports_agree(results: Path, verdict: str) -> None:
    """verdict.json, junit.xml, report.md and report.html state the same verdict over the same checks."""
    document = json.loads((results / "verdict.json").read_text())
    assert document["verdict"] == verdict
    checks = {check["name"]: check["status"] for check in document["checks"]}
    everyone = {"guard", "faults", "availability", "recovery", "detection", "load", "integrity", "resilience"}
    assert set(checks) == everyone
    suite = ElementTree.parse(results / "junit.xml").getroot()
    assert int(suite.get("tests", -1)) == len(checks)
    assert int(suite.get("failures", -1)) == sum(status == "fail" for status in checks.values())
    assert sorted(case.get("name") for case in suite.iter("testcase")) == sorted(checks)
    markdown = (results / "report.md").read_text()
    assert markdown.startswith(f"# brownout verdict: {verdict.upper()}")
    for name, status in checks.items():
        assert f"| {name} | {status.upper()} |" in markdown
    assert f"<title>brownout verdict: {verdict}</title>" in (results / "report.html").read_text()


def test_gateway_restart_loses_no_stream_event_and_no_write(tmp_path: Path, run_brownout) -> None:
    done = run_brownout(str(SCENARIOS / "restart.toml"), "--out", str(tmp_path), "--no-report")
    assert done.returncode == 0, done.stderr[-3000:]
    results = run_dir_of(tmp_path)
    history = load_history(results)
    assert [(f.name, f.outcome) for f in history.faults] == [("gateway-restart", "healed")]
    integrity = history.integrity
    assert integrity is not None and integrity.verified, integrity
    assert integrity.stream.users == 2
    assert (integrity.stream.gaps, integrity.stream.duplicates) == (0, 0)
    assert integrity.kinds["messages"].acknowledged > 0
    assert (integrity.lost, integrity.duplicated, integrity.unverifiable) == (0, 0, 0)
    assert "WS reconnect" in history.timeline.operations, "the restart never dropped a stream"


def _ctrl_c(run: subprocess.Popen[str]) -> None:
    os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group


def _sigterm(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGTERM)  # what a CI runner or a process manager does: brownout run only


@pytest.mark.parametrize("interrupt", [_ctrl_c, _sigterm], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_heals_stops_everything_and_leaves_readable_results(
    tmp_path: Path, interrupt: Callable[[subprocess.Popen[str]], None]
) -> None:
    run = subprocess.Popen(
        [*BROWNOUT, "run", str(SCENARIOS / "interrupted.toml"), "--out", str(tmp_path)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=sigint_as_in_a_terminal,
    )  # fmt: skip
    try:
        journals = lambda: list(tmp_path.glob("*/faults.csv"))  # noqa: E731
        # "aborted" is the outcome a fault in force would get: upstream-down has started
        assert wait_until(lambda: any("aborted" in j.read_text() for j in journals()), 60), "the fault never started"
        results = journals()[0].parent
        interrupt(run)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode in (1, 2), output[-3000:]  # the report's verdict on a cut-short run
    history = load_history(results)
    assert {f.name: f.outcome for f in history.faults} == {"upstream-down": "aborted", "later": "skipped"}
    down = history.faults[0]
    assert down.actual_end is not None and down.actual_end < history.manifest.ended_at + 1
    assert everything(history.timeline).total > 0
    assert json.loads((results / "integrity.json").read_text())["verified"] is True  # audited after the heal
    # Stopped children may take a moment to exit; a process left behind never does.
    assert wait_until(lambda: processes_mentioning(str(results)) == [], 30), processes_mentioning(str(results))


def test_a_broken_scenario_is_refused_before_anything_starts(tmp_path: Path, run_brownout) -> None:
    scenario = tmp_path / "broken.toml"
    scenario.write_text('[load]\nsteps = [{ users = 2, spawn_rate = 1, duration = "-5s" }]\n')
    done = run_brownout(str(scenario), "--out", str(tmp_path / "out"), timeout=60)
    assert done.returncode == 2
    assert str(scenario) in done.stderr and "duration" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


def test_a_fault_nothing_can_drive_is_refused_before_the_load_starts(tmp_path: Path, run_brownout) -> None:
    # --host: someone's own service, so no stack and no fault proxy for the smoke scenario's network fault.
    done = run_brownout("scenarios/smoke.toml", "--out", str(tmp_path), "--host", "http://127.0.0.1:9", timeout=60)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]  # Locust exited 2: its reason is the last thing said
    assert "upstream-slow" in last and "fault proxy" in last, done.stderr
    assert "scenarios/smoke.toml: faults[" in last and "--host was given, so the scenario's [stack] was not" in last
    assert "Traceback" not in done.stderr + done.stdout
    assert not list(tmp_path.glob("*/timeline.csv"))


def test_faults_a_run_does_not_fire_need_nothing_to_drive_them(tmp_path: Path, run_brownout) -> None:
    # --host --no-faults: no fault proxy or admin API needed, so pre-flight goes on to the host (where
    # nothing answers) instead of refusing the smoke scenario's faults that will not be fired.
    done = run_brownout("scenarios/smoke.toml", "--out", str(tmp_path), "--host", "http://127.0.0.1:9", "--no-faults",
                        timeout=60)  # fmt: skip
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "nothing answers at http://127.0.0.1:9/" in last and "fault proxy" not in last, done.stderr


def test_a_fault_name_the_scenario_lacks_is_refused(tmp_path: Path, run_brownout) -> None:
    done = run_brownout("scenarios/smoke.toml", "--out", str(tmp_path), "--faults", "upstream-slow,nope", timeout=60)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "--faults" in last and "no fault nope in" in last and "upstream-slow, upstream-errors" in last, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
