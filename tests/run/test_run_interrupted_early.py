"""`brownout run` interrupted while its stack is still starting: no traceback, a reason, nothing left running."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import BROWNOUT, REPO_ROOT, sigint_as_in_a_terminal, wait_until
from tests.run.conftest import processes_mentioning

FAKE = REPO_ROOT / "tests" / "stack" / "fake_component.py"


def _slow_stack(folder: Path) -> Path:
    """A stack whose second component never gets ready, so the run waits in its start-up."""
    (folder / "stack.toml").write_text(f'''
[stack]
entry = "web"
stop_grace_s = 3

[[components]]
name = "web"
command = ["{{python}}", "{FAKE}", "--port", "{{port}}"]
port = 9001
ready = "/readyz"

[[components]]
name = "warmup"
command = ["{{python}}", "{FAKE}", "--port", "{{port}}", "--never-ready"]
port = 9002
ready = "/readyz"
ready_timeout_s = 60
''')
    (folder / "users.py").write_text(
        "from locust import HttpUser, constant, task\n\n"
        "class U(HttpUser):\n    wait_time = constant(0.5)\n\n"
        "    @task\n    def index(self):\n        self.client.get('/readyz')\n"
    )
    scenario = folder / "scenario.toml"
    scenario.write_text(
        '[stack]\npath = "stack.toml"\n[load]\nlocustfile = "users.py"\n'
        'steps = [{ users = 1, spawn_rate = 1, duration = "5s" }]\n'
    )
    return scenario


def _ctrl_c(run: subprocess.Popen[str]) -> None:
    os.killpg(run.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group


def _sigterm(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGTERM)  # a CI runner or a process manager: brownout run only


@pytest.mark.parametrize(
    ("interrupt", "reason"),
    [
        (_ctrl_c, "interrupted (Ctrl-C) before the load started: no test was run"),
        (_sigterm, "locust was ended by SIGTERM before any test ran"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupt_while_the_stack_starts_says_so_and_leaves_nothing_running(
    tmp_path: Path, interrupt: Callable[[subprocess.Popen[str]], None], reason: str
) -> None:
    scenario = _slow_stack(tmp_path)
    out = tmp_path / "results"
    run = subprocess.Popen(
        [*BROWNOUT, "run", str(scenario), "--out", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=sigint_as_in_a_terminal,
    )  # fmt: skip
    try:
        assert wait_until(lambda: list(out.glob("*/stack/logs/warmup.log")), 60), "the stack never got to warmup"
        interrupt(run)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert output.splitlines()[-1] == f"brownout run: exit code 2 (the run could not happen: {reason})"
    assert wait_until(lambda: processes_mentioning(str(FAKE)) == [], 30), processes_mentioning(str(FAKE))
