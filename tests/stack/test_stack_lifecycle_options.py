"""Per-component stop signal and timeout, readiness by command, env, port ranges, the token from
BROWNOUT_TOKEN, and freeze/kill of a process tree whose members left the group: with real processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from brownout.errors import InputError, StackError
from brownout.faults.endpoints import endpoints_from_target
from brownout.net.ports import free_port
from brownout.scenario.schema import Endpoint, TargetRef
from brownout.stack import Stack, load_stack_spec
from tests.helpers import wait_until
from tests.stack.stack_helpers import fake, process_gone, session, write_stack

TREE = Path(__file__).parent / "setsid_tree.py"
REPO = Path(__file__).resolve().parents[2]


def _brownout(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brownout", *args], capture_output=True, text=True, timeout=60, cwd=cwd or REPO
    )


def test_restart_and_stop_send_the_component_s_own_stop_signal(tmp_path: Path, stacks: list[Stack]) -> None:
    record = tmp_path / "signals.txt"
    spec = write_stack(
        tmp_path / "stack.toml",
        [
            fake("pg", "--record-signals", str(record), stop_signal="SIGINT"),
            fake("web", "--record-signals", str(tmp_path / "web.txt")),
        ],
    )
    stack = Stack.start(spec, tmp_path / "run", ports="ephemeral")
    stacks.append(stack)
    stack.restart("pg")
    assert record.read_text().split() == ["SIGINT"]
    stack.stop()
    assert record.read_text().split() == ["SIGINT", "SIGINT"]
    assert (tmp_path / "web.txt").read_text().split() == ["SIGTERM"]  # the default is unchanged


def test_stop_timeout_bounds_the_wait_before_sigkill(tmp_path: Path, stacks: list[Stack]) -> None:
    # The stack's own grace period is long; the component's stop_timeout decides.
    spec = write_stack(
        tmp_path / "stack.toml", [fake("stubborn", "--ignore-sigterm", stop_timeout=0.5)], stop_grace_s=60
    )
    stack = Stack.start(spec, tmp_path / "run", ports="ephemeral")
    stacks.append(stack)
    started = time.monotonic()
    status = stack.restart("stubborn")
    assert time.monotonic() - started < 30  # well under the stack's 60 s grace
    assert status.ready and status.restarts == 1


def test_a_readiness_command_decides_when_the_component_is_ready(tmp_path: Path, stacks: list[Stack]) -> None:
    flag = tmp_path / "go"
    check = ["{python}", "-c", "import os, sys; sys.exit(0 if os.path.exists(sys.argv[1]) else 1)", str(flag)]
    spec = write_stack(tmp_path / "stack.toml", [fake("db", ready=check)])
    started: list[Stack] = []
    starter = threading.Thread(target=lambda: started.append(Stack.start(spec, tmp_path / "run", ports="ephemeral")))
    starter.start()
    try:
        time.sleep(2.0)
        assert starter.is_alive(), "ready before its command said so"
        flag.touch()
        starter.join(30)
        assert started and started[0].component_status("db").ready
    finally:
        starter.join(30)
        stacks.extend(started)


def test_a_readiness_command_that_does_not_exist_is_named(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("db", ready=["no-such-probe-xyz", "{port}"], ready_timeout_s=2)])
    with pytest.raises(StackError) as caught:
        Stack.start(spec, tmp_path / "run", ports="ephemeral")
    assert "'no-such-probe-xyz' not found" in str(caught.value)


def test_env_and_the_token_from_brownout_token(
    tmp_path: Path, stacks: list[Stack], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWNOUT_TOKEN", "token-from-the-environment")
    spec = write_stack(tmp_path / "stack.toml", [fake("a", env={"FAKE_EXTRA": "port {port}"})])
    stack = Stack.start(spec, tmp_path / "run", ports="ephemeral")
    stacks.append(stack)
    info = session().get(f"{stack.url('a')}/info", timeout=5).json()
    assert info["token"] == stack.token == "token-from-the-environment"
    assert info["extra"] == f"port {stack.ports['a']}"
    answer = session().get(f"{stack.control_url}/components", timeout=5, headers={"Authorization": "Bearer x"})
    assert answer.status_code in (401, 403)


def test_ports_from_a_range(tmp_path: Path, stacks: list[Stack]) -> None:
    low = min(free_port(), 60000)
    high = low + 199
    spec = write_stack(
        tmp_path / "stack.toml", [fake("a"), fake("proxy-host")], proxies=[{"name": "p", "listen": 1, "upstream": "a"}],
        proxy_component="proxy-host",
    )  # fmt: skip
    stack = Stack.start(spec, tmp_path / "run", ports=f"{low}-{high}")
    stacks.append(stack)
    used = [*stack.ports.values(), *stack.proxy_ports.values(), int(stack.control_url.rsplit(":", 1)[1])]
    assert len(set(used)) == 4 and all(low <= port <= high for port in used), used


def test_a_range_too_small_for_the_stack_is_refused(tmp_path: Path) -> None:
    port = free_port()
    spec = write_stack(tmp_path / "stack.toml", [fake("a"), fake("b")])
    with pytest.raises(StackError, match="fewer than the 3 free ports"):
        Stack.start(spec, tmp_path / "run", ports=f"{port}-{port}")


def test_freeze_and_kill_reach_workers_that_left_the_group(tmp_path: Path, stacks: list[Stack]) -> None:
    beats = tmp_path / "beats.txt"
    command = ["{python}", str(TREE), "--port", "{port}", "--beats", str(beats)]
    spec = write_stack(tmp_path / "stack.toml", [{"name": "tree", "command": command, "port": 1}])
    stack = Stack.start(spec, tmp_path / "run", ports="ephemeral")
    stacks.append(stack)
    assert wait_until(lambda: beats.exists() and len(beats.read_text().split()) > 3)
    worker = int(beats.read_text().split()[0])

    stack.freeze("tree")
    time.sleep(0.2)  # a beat already being written may land
    frozen_at = len(beats.read_text().split())
    time.sleep(0.5)
    assert len(beats.read_text().split()) == frozen_at, "the worker went on beating while frozen"
    stack.thaw("tree")
    assert wait_until(lambda: len(beats.read_text().split()) > frozen_at + 3)

    stack.kill("tree")
    assert wait_until(lambda: process_gone(worker)), "the worker outlived its component"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stop_signal": "SIGFOO"}, "field 'stop_signal': must be a signal name"),
        ({"stop_signal": "SIGSTOP"}, "field 'stop_signal': must be a signal name"),
        ({"stop_timeout": -1}, "field 'stop_timeout'"),
        ({"ready": "ftp://x"}, "field 'ready': must be a URL path"),
        ({"ready": []}, "field 'ready': must be a non-empty list"),
        ({"ready": ["pg_isready", "{nope}"]}, "field 'ready': unknown placeholder {nope}"),
    ],
)
def test_bad_lifecycle_fields_name_file_component_and_field(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    path = write_stack(tmp_path / "stack.toml", [fake("db", **fields)])
    with pytest.raises(InputError) as caught:
        load_stack_spec(path)
    assert str(path) in str(caught.value) and "component 'db'" in str(caught.value)
    assert message in str(caught.value)


def test_lifecycle_fields_are_read(tmp_path: Path) -> None:
    path = write_stack(
        tmp_path / "stack.toml",
        [fake("db", stop_signal="INT", stop_timeout=7, ready=["pg_isready", "-p", "{port}"]), fake("web", ready="tcp")],
    )
    spec = load_stack_spec(path)
    db, web = spec.component("db"), spec.component("web")
    assert (db.stop_signal, db.stop_timeout, db.ready_command) == ("SIGINT", 7.0, ("pg_isready", "-p", "{port}"))
    assert (web.stop_signal, web.stop_timeout, web.ready) == ("SIGTERM", None, None)


@pytest.mark.parametrize("ports", ["sometimes", "9000-8000", "80-90"])
def test_bad_ports_exit_2_for_stack_up_and_run(tmp_path: Path, ports: str) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("a")])
    up = _brownout("stack", "up", "--stack", str(spec), "--run-dir", str(tmp_path / "run"), "--ports", ports)
    run = _brownout("run", str(REPO / "scenarios" / "smoke.toml"), "--ports", ports, "--out", str(tmp_path))
    for result in (up, run):
        assert result.returncode == 2, result.stderr
        assert "--ports" in result.stderr and "Traceback" not in result.stderr


def test_target_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    target = TargetRef(
        host="http://127.0.0.1:1",
        proxy=Endpoint("http://127.0.0.1:2", token_env="PROXY_TOKEN_FOR_TEST"),
        admin=Endpoint("http://127.0.0.1:3", token="literal"),
    )
    monkeypatch.setenv("PROXY_TOKEN_FOR_TEST", "from-env")
    endpoints = endpoints_from_target(target, "scenario.toml")
    assert (endpoints.proxy_token, endpoints.admin_token) == ("from-env", "literal")
    monkeypatch.delenv("PROXY_TOKEN_FOR_TEST")
    with pytest.raises(InputError, match=r"scenario.toml: \[target.proxy\] token_env: .*PROXY_TOKEN_FOR_TEST"):
        endpoints_from_target(target, "scenario.toml")


def test_a_scenario_cannot_give_both_token_and_token_env(tmp_path: Path) -> None:
    from brownout.scenario.schema import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(
        'name = "t"\n[target]\nhost = "http://127.0.0.1:1"\n'
        '[target.proxy]\nurl = "http://127.0.0.1:2"\ntoken = "a"\ntoken_env = "B"\n'
        '[load]\nsteps = [{ users = 1, spawn_rate = 1, duration = "1s" }]\n'
    )
    with pytest.raises(InputError, match="token_env.*give either token or token_env"):
        load_scenario(path)


