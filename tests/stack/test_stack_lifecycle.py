"""The supervisor's Python API with real stand-in processes: up, down, readiness, failures, restarts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brownout.errors import StackError
from brownout.stack import Stack, process
from tests.helpers import wait_until
from tests.stack.stack_helpers import assert_all_gone, fake, process_gone, session, write_stack


def test_the_stack_comes_up_in_order_and_goes_down_without_leftovers(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    spec = write_stack(
        tmp_path / "stack.toml",
        [
            fake("up", "--ready-after", "0.3"),
            fake("faultproxy", "--proxy-config", "{proxy_config}"),
            fake("gw", "--to", "{proxies.up}", env={"FAKE_EXTRA": "{ports.up}"}),
        ],
        [{"name": "up", "listen": 9, "upstream": "up"}],
    )
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(stack)
    statuses = stack.status()
    assert [(s.name, s.state, s.ready) for s in statuses] == [
        ("up", "running", True),
        ("faultproxy", "running", True),
        ("gw", "running", True),
    ]
    http = session()
    info = http.get(stack.url("gw") + "/info", timeout=5).json()
    assert info["token"] == stack.token and info["extra"] == str(stack.ports["up"])
    assert info["argv"][-1] == str(stack.proxy_ports["up"])
    config = http.get(stack.url("faultproxy") + "/config", timeout=5).json()
    assert config == [
        {
            "name": "up",
            "listen": f"127.0.0.1:{stack.proxy_ports['up']}",
            "upstream": f"127.0.0.1:{stack.ports['up']}",
            "enabled": True,
        }
    ]
    assert all((tmp_path / "run" / "logs" / f"{name}.log").exists() for name in ("up", "faultproxy", "gw"))

    pids = [s.pid for s in statuses if s.pid is not None]
    stack.stop()
    assert_all_gone(pids, list(stack.ports.values()))
    assert all(s.state == "stopped" and s.pid is None for s in stack.status())
    assert stack.wait(0)


def test_an_empty_argument_reaches_the_component_as_an_argument(tmp_path: Path, stacks: list[Stack]) -> None:
    """`redis-server --save ""` is how redis is told not to snapshot: argv may hold an empty string."""
    spec = write_stack(tmp_path / "stack.toml", [fake("up", "--to", "", "after")])
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(stack)
    info = session().get(stack.url("up") + "/info", timeout=5).json()
    assert info["argv"][-3:] == ["--to", "", "after"]


def test_a_component_that_never_gets_ready_is_named_with_its_log(tmp_path: Path) -> None:
    spec = write_stack(
        tmp_path / "stack.toml",
        [fake("fine"), fake("stuck", "--never-ready", "--banner", "stuck-banner-1234", ready_timeout_s=1)],
    )
    with pytest.raises(StackError) as caught:
        Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    message = str(caught.value)
    assert "'stuck'" in message and "did not become ready within 1s" in message
    assert "stuck-banner-1234" in message and "stuck.log" in message
    # everything it had started is gone again
    pids = _pids_in_logs(tmp_path / "run")
    assert len(pids) == 2
    assert_all_gone(pids, [])


def test_a_component_that_dies_while_starting_is_named_with_its_exit_code(tmp_path: Path) -> None:
    spec = write_stack(
        tmp_path / "stack.toml",
        [
            fake(
                "crashy",
                "--never-ready",
                "--exit-after",
                "0.2",
                "--exit-code",
                "7",
                "--banner",
                "crash-banner",
            )
        ],
    )
    with pytest.raises(StackError) as caught:
        Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    message = str(caught.value)
    assert "'crashy' exited with code 7" in message and "crash-banner" in message


def test_a_command_that_does_not_exist_is_a_stack_error(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("ghost", command=["/nonexistent/brownout-binary"])])
    with pytest.raises(StackError, match="'ghost': cannot run '/nonexistent/brownout-binary'"):
        Stack.start(spec, tmp_path / "run", ephemeral_ports=True)


def test_a_ctrl_c_landing_on_the_supervisor_reaches_the_caller_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under gevent (Locust) the supervisor thread is a greenlet of the main thread, so the KeyboardInterrupt
    of a Ctrl-C can be raised inside it, e.g. while it forks a component. The caller waiting for that start
    must get it, not wait out the start's time budget and then get a StackError."""
    real_spawn = process.spawn

    def ctrl_c_on_the_second(argv: list[str], **kwargs: Any) -> Any:
        if "late-banner" in argv:
            raise KeyboardInterrupt
        return real_spawn(argv, **kwargs)

    monkeypatch.setattr(process, "spawn", ctrl_c_on_the_second)
    spec = write_stack(
        tmp_path / "stack.toml", [fake("first"), fake("late", "--banner", "late-banner", ready_timeout_s=1)]
    )
    with pytest.raises(KeyboardInterrupt):
        Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    assert_all_gone(_pids_in_logs(tmp_path / "run"), [])


def test_a_non_critical_component_may_be_down_at_start(tmp_path: Path, stacks: list[Stack]) -> None:
    spec = write_stack(
        tmp_path / "stack.toml",
        [fake("main"), fake("extra", "--never-ready", ready_timeout_s=0.5, critical=False)],
    )
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(stack)
    assert stack.component_status("main").ready
    assert not stack.component_status("extra").ready


def test_on_failure_restarts_a_crash_but_not_a_kill(tmp_path: Path, stacks: list[Stack]) -> None:
    spec = write_stack(
        tmp_path / "stack.toml",
        [
            fake("crashy", "--exit-after", "0.5", "--exit-code", "3", restart="on-failure", max_restarts=50),
            fake("steady", restart="on-failure"),
        ],
    )
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(stack)
    assert wait_until(lambda: stack.component_status("crashy").restarts >= 1, timeout_s=10)
    assert "fake component exiting with 3" in (tmp_path / "run" / "logs" / "crashy.log").read_text()

    killed = stack.kill("steady")
    assert killed.state == "stopped" and killed.pid is None
    # the crashing one gets restarted again meanwhile: proof that the watcher had time to act
    seen = stack.component_status("crashy").restarts
    assert wait_until(lambda: stack.component_status("crashy").restarts > seen, timeout_s=10)
    assert stack.component_status("steady").state == "stopped"
    started = stack.start("steady")
    assert started.state == "running" and started.ready and started.restarts == 1


def test_restart_gives_a_new_process_that_is_ready(tmp_path: Path, stacks: list[Stack]) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("a", "--ready-after", "0.3")])
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    stacks.append(stack)
    before = stack.component_status("a")
    after = stack.restart("a")
    assert after.pid != before.pid and after.ready and after.restarts == 1
    assert before.pid is not None and wait_until(lambda: process_gone(before.pid or 0))
    assert session().get(stack.url("a") + "/info", timeout=5).json()["pid"] == after.pid


def test_a_component_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("stubborn", "--ignore-sigterm")], stop_grace_s=0.5)
    stack = Stack.start(spec, tmp_path / "run", ephemeral_ports=True)
    try:
        pid = stack.component_status("stubborn").pid
        assert pid is not None
    finally:
        stack.stop()
    assert_all_gone([pid], list(stack.ports.values()))
    assert stack.status()[0].exit_code == -9


def test_fixed_ports_in_use_are_refused_before_starting_anything(tmp_path: Path, stacks: list[Stack]) -> None:
    first = Stack.start(
        write_stack(tmp_path / "a.toml", [fake("a")]), tmp_path / "run-a", ephemeral_ports=True
    )
    stacks.append(first)
    taken = first.ports["a"]
    spec = write_stack(
        tmp_path / "b.toml", [fake("b", port=taken)], control_port=taken + 1 if taken < 65535 else 1
    )
    with pytest.raises(StackError, match=f"port {taken} for component 'b'.*already in use"):
        Stack.start(spec, tmp_path / "run-b")
    assert not (tmp_path / "run-b" / "logs" / "b.log").exists()


def _pids_in_logs(run_dir: Path) -> list[int]:
    """Every stand-in process a stack started under run_dir (each logs its pid first thing)."""
    text = "".join(log.read_text() for log in (run_dir / "logs").glob("*.log"))
    return [int(pid) for pid in re.findall(r"fake component pid=(\d+)", text)]


def test_a_frozen_component_is_still_stopped_cleanly(tmp_path: Path) -> None:
    stack = Stack.start(
        write_stack(tmp_path / "stack.toml", [fake("a")]), tmp_path / "run", ephemeral_ports=True
    )
    try:
        frozen = stack.freeze("a")
        assert frozen.state == "frozen" and frozen.pid is not None
    finally:
        stack.stop()
    assert_all_gone([frozen.pid or 0], list(stack.ports.values()))
    assert stack.status()[0].exit_code == -15  # SIGTERM was enough: it was thawed to receive it


def test_the_status_read_right_after_an_action_shows_it(tmp_path: Path) -> None:
    # The supervisor answered the action before publishing its snapshot: a CI run read "running" right
    # after a freeze. Each round trip below is a chance for that race.
    stack = Stack.start(write_stack(tmp_path / "stack.toml", [fake("a")]), tmp_path / "run", ephemeral_ports=True)
    try:
        seen = []
        for _ in range(20):
            stack.freeze("a")
            seen.append(stack.component_status("a").state)
            stack.thaw("a")
            seen.append(stack.component_status("a").state)
        assert seen == ["frozen", "running"] * 20
    finally:
        stack.stop()


def test_a_program_that_forgets_to_stop_its_stack_leaves_nothing_behind(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("a"), fake("b")])
    script = (
        "import sys\n"
        "from brownout.stack import Stack\n"
        f"stack = Stack.start({str(spec)!r}, {str(tmp_path / 'run')!r}, ephemeral_ports=True)\n"
        "print(' '.join(str(s.pid) for s in stack.status()), flush=True)\n"
        "sys.exit(0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pids = [int(pid) for pid in result.stdout.split()]
    assert len(pids) == 2
    assert_all_gone(pids, [])
