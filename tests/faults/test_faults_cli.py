"""`brownout faults run` as a real process against a real HTTP server: a full run, and SIGINT / SIGTERM in
the middle of a fault (heal requests seen by the server, journal rows `aborted`, prompt exit)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from brownout.history import read_faults
from tests.faults.support import RecordingServer
from tests.helpers import BROWNOUT, REPO_ROOT


def _scenario(tmp_path: Path, url: str, faults: list[tuple[str, str, str]]) -> Path:
    text = '[load]\nsteps = [{ users = 1, spawn_rate = 1, duration = "5m" }]\n'
    for name, at, duration in faults:
        text += f"""
[[faults]]
name = "{name}"
kind = "http"
target = "{name}"
inject = {{ method = "POST", url = "{url}/{name}/break" }}
heal = {{ method = "POST", url = "{url}/{name}/heal" }}
at = "{at}"
duration = "{duration}"
"""
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def _start(scenario: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BROWNOUT, "faults", "run", str(scenario), "--no-stack", "--out", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 15) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err


def test_a_whole_schedule_runs_and_is_journaled(tmp_path: Path, server: RecordingServer) -> None:
    scenario = _scenario(tmp_path, server.url, [("one", "0s", "200ms"), ("two", "100ms", "200ms")])
    process = _start(scenario, tmp_path / "out")
    code, out, err = _finish(process)
    assert code == 0, err
    paths = server.paths()
    assert sorted(paths) == sorted(
        [("POST", "/one/break"), ("POST", "/one/heal"), ("POST", "/two/break"), ("POST", "/two/heal")]
    )
    assert paths.index(("POST", "/one/heal")) > paths.index(("POST", "/one/break"))
    rows = {row.name: row for row in read_faults(tmp_path / "out")}
    assert {row.outcome for row in rows.values()} == {"healed"}
    assert all(row.actual_start and row.actual_end and row.actual_end > row.actual_start for row in rows.values())
    assert "two (http on two): healed" in out


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_fault_heals_everything_and_journals_aborted(
    tmp_path: Path, server: RecordingServer, signum: int, exit_code: int
) -> None:
    scenario = _scenario(tmp_path, server.url, [("cut", "0s", "2m"), ("later", "4m", "10s")])
    process = _start(scenario, tmp_path / "out")
    try:
        server.wait_for("POST", "/cut/break", timeout=15)
        process.send_signal(signum)
        code, _, err = _finish(process, timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == exit_code, err
    assert "Traceback" not in err
    server.wait_for("POST", "/cut/heal", timeout=1)
    assert ("POST", "/later/break") not in server.paths()
    rows = {row.name: row for row in read_faults(tmp_path / "out")}
    assert rows["cut"].outcome == "aborted" and rows["cut"].actual_end is not None
    assert rows["later"].outcome == "skipped" and rows["later"].actual_start is None


def test_an_inject_failure_heals_and_exits_2_with_the_reason(tmp_path: Path, server: RecordingServer) -> None:
    scenario = _scenario(tmp_path, server.url, [("ok", "0s", "1m"), ("bad", "100ms", "1m")])
    scenario.write_text(scenario.read_text().replace("/bad/break", "/bad/break?status=500"))
    code, _, err = _finish(_start(scenario, tmp_path / "out"))
    assert code == 2
    assert "inject fault 'bad'" in err and "answered 500" in err and "Traceback" not in err
    assert ("POST", "/ok/heal") in server.paths() and ("POST", "/bad/heal") in server.paths()
    rows = {row.name: row.outcome for row in read_faults(tmp_path / "out")}
    assert rows == {"ok": "aborted", "bad": "inject-failed"}


def test_stack_faults_without_a_stack_are_refused_before_anything_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text("""
[load]
steps = [{ users = 1, spawn_rate = 1, duration = "1m" }]

[[faults]]
name = "kill-notifier"
kind = "component"
target = "notifier"
action = "kill"
at = "1s"
duration = "5s"
""")
    code, _, err = _finish(_start(scenario, tmp_path / "out"))
    assert code == 2
    assert "faults[0] \"kill-notifier\": a 'component' fault needs the stack's control API" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_stack_run_dir_says_how_to_start_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *BROWNOUT,
            "faults",
            "run",
            str(REPO_ROOT / "scenarios" / "smoke.toml"),
            "--stack-run-dir",
            str(tmp_path / "nostack"),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "stack.json: no such file; start a stack with `brownout stack up --run-dir" in done.stderr
