"""`brownout stack up|status|down` as real subprocesses, and what happens when the supervisor dies."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import BROWNOUT, sigint_as_in_a_terminal, wait_until
from tests.stack.stack_helpers import assert_all_gone, fake, kill_leftovers, write_stack

_TIMEOUT_S = 30


def _brownout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BROWNOUT, "stack", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
    )


class _Supervisor:
    """`brownout stack up` running in the background, with what its stack.json says."""

    def __init__(self, proc: subprocess.Popen[str], run_dir: Path) -> None:
        self.proc = proc
        self.run_dir = run_dir
        self.state: dict[str, Any] = {}

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    def wait_until_up(self) -> dict[str, Any]:
        assert wait_until(lambda: self.state_file.exists() or self.proc.poll() is not None, _TIMEOUT_S)
        assert self.proc.poll() is None, self.proc.communicate()
        self.state = json.loads(self.state_file.read_text())
        return self.state

    def child_pids(self) -> list[int]:
        status = _brownout("status", "--run-dir", str(self.run_dir), "--json")
        assert status.returncode == 0, status.stderr
        return [c["pid"] for c in json.loads(status.stdout)["components"]]

    def ports(self) -> list[int]:
        ports = [info["port"] for info in self.state["components"].values()]
        return ports + [int(self.state["control_url"].rsplit(":", 1)[1])]


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[_Supervisor]:
    spec = write_stack(
        tmp_path / "stack.toml", [fake("one"), fake("two", "--ready-after", "0.2", restart="on-failure")]
    )
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "brownout",
        "stack",
        "up",
        "--stack",
        str(spec),
        "--run-dir",
        str(run_dir),
    ]
    proc = subprocess.Popen(
        [*command, "--ephemeral-ports"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    running = _Supervisor(proc, run_dir)
    pids: list[int] = []
    try:
        running.wait_until_up()
        pids = running.child_pids()
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=_TIMEOUT_S)
        kill_leftovers(pids)


def test_up_writes_a_private_state_file_and_down_stops_everything(supervisor: _Supervisor) -> None:
    state = supervisor.state
    assert stat.S_IMODE(supervisor.state_file.stat().st_mode) == 0o600
    assert state["pid"] == supervisor.proc.pid and state["token"]
    assert set(state["components"]) == {"one", "two"}
    assert state["components"]["one"]["url"] == f"http://127.0.0.1:{state['components']['one']['port']}"

    status = _brownout("status", "--run-dir", str(supervisor.run_dir))
    assert status.returncode == 0, status.stderr
    assert "one" in status.stdout and "two" in status.stdout and "running" in status.stdout
    pids, ports = supervisor.child_pids(), supervisor.ports()

    down = _brownout("down", "--run-dir", str(supervisor.run_dir))
    assert down.returncode == 0, down.stderr
    assert supervisor.proc.wait(_TIMEOUT_S) == 0
    assert_all_gone(pids, ports)
    assert not supervisor.state_file.exists()
    out, _ = supervisor.proc.communicate()
    assert state["control_url"] in out  # `up` printed where to find things

    after = _brownout("status", "--run-dir", str(supervisor.run_dir))
    assert after.returncode == 2 and "no stack is running" in after.stderr and "Traceback" not in after.stderr


def test_sigterm_to_the_supervisor_stops_every_component(supervisor: _Supervisor) -> None:
    pids, ports = supervisor.child_pids(), supervisor.ports()
    supervisor.proc.send_signal(signal.SIGTERM)
    assert supervisor.proc.wait(_TIMEOUT_S) == 0
    assert_all_gone(pids, ports)
    assert not supervisor.state_file.exists()


def test_sigint_to_the_supervisor_stops_every_component(supervisor: _Supervisor) -> None:
    pids, ports = supervisor.child_pids(), supervisor.ports()
    supervisor.proc.send_signal(signal.SIGINT)
    assert supervisor.proc.wait(_TIMEOUT_S) == 0
    assert_all_gone(pids, ports)


def test_sigkill_of_the_supervisor_takes_its_children_along(supervisor: _Supervisor) -> None:
    pids, ports = supervisor.child_pids(), supervisor.ports()
    assert all(os.getpgid(pid) == pid for pid in pids)  # each in its own group: a kill reaches all of it
    supervisor.proc.kill()
    supervisor.proc.wait(_TIMEOUT_S)
    assert_all_gone(pids, ports)  # no cleanup code ran: this is PR_SET_PDEATHSIG at work
    # a stale state file is recognised as such
    down = _brownout("down", "--run-dir", str(supervisor.run_dir))
    assert down.returncode == 0 and "no stack running" in down.stdout


def test_a_malformed_stack_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("one", restart="sometimes")])
    result = _brownout("up", "--stack", str(spec), "--run-dir", str(tmp_path / "run"), "--ephemeral-ports")
    assert result.returncode == 2
    assert str(spec) in result.stderr and "component 'one'" in result.stderr and "'restart'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "stack.json").exists()


def test_a_stack_that_cannot_come_up_exits_2_quoting_the_log(tmp_path: Path) -> None:
    spec = write_stack(
        tmp_path / "stack.toml", [fake("one", "--never-ready", "--banner", "xyzzy", ready_timeout_s=1)]
    )
    result = _brownout("up", "--stack", str(spec), "--run-dir", str(tmp_path / "run"), "--ephemeral-ports")
    assert result.returncode == 2
    assert "'one' did not become ready" in result.stderr and "xyzzy" in result.stderr
    assert "Traceback" not in result.stderr
