"""`brownout stack up|status|down`: run a stack in the foreground, inspect it, stop it from elsewhere."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
import requests

from brownout.arguments import Parser, positive_seconds, writable_dir
from brownout.errors import InputError, StackError
from brownout.net.loopback import loopback_session
from brownout.net.polling import wait_until
from brownout.scenario.shipped import SAMPLE_STACK
from brownout.stack import PortPolicy, Stack

STATE_FILE = "stack.json"


def default_stack_file() -> Path:
    return SAMPLE_STACK  # in the checkout, or shipped inside the installed package


def main(argv: list[str]) -> int:
    parser = Parser(prog="brownout stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the stack and keep it up until Ctrl-C, SIGTERM or `down`")
    up.add_argument("--stack", type=Path, default=None, help="stack file (default: the sample target's)")
    up.add_argument("--run-dir", type=writable_dir, required=True, help="logs, data and stack.json go here")
    up.add_argument(
        "--ports", default="fixed", metavar="fixed|ephemeral|LOW-HIGH",
        help="the stack file's ports (default), free ones, or free ones in the range LOW-HIGH",
    )  # fmt: skip
    up.add_argument("--ephemeral-ports", action="store_true", help="the same as --ports ephemeral")
    up.add_argument("-v", "--verbose", action="store_true", help="also log every control API request")
    status = commands.add_parser("status", help="show the components of the stack running in --run-dir")
    status.add_argument("--run-dir", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="print the control API's answer as JSON")
    down = commands.add_parser("down", help="stop the stack running in --run-dir and wait until it is gone")
    down.add_argument("--run-dir", type=Path, required=True)
    down.add_argument("--timeout", type=positive_seconds, default=60.0, help="seconds to wait for it to exit (60)")
    args = parser.parse_args(argv)
    if args.command == "up":
        ports = PortPolicy("ephemeral") if args.ephemeral_ports else PortPolicy.parse(args.ports)
        return _up(args.stack or default_stack_file(), args.run_dir, ports, args.verbose)
    if args.command == "status":
        return _status(args.run_dir, args.json)
    return _down(args.run_dir, args.timeout)


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so that every `finally` on the way out runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def _up(stack_file: Path, run_dir: Path, ports: PortPolicy, verbose: bool) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # starts, readiness and exits are what a foreground supervisor is for; -v adds every API request
    logging.getLogger("brownout.stack").setLevel(logging.INFO)
    logging.getLogger("brownout.stack.control").setLevel(logging.DEBUG if verbose else logging.WARNING)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    state_file = run_dir / STATE_FILE
    stack: Stack | None = None
    try:
        stack = Stack.start(stack_file, run_dir, ports=ports)
        _write_private_json(state_file, stack.describe())
        _print_urls(stack.describe(), state_file)
        while not stack.wait(0.5):
            pass
        print("brownout stack: shut down by request", flush=True)
    except (KeyboardInterrupt, _Terminated):
        print("brownout stack: stopping", file=sys.stderr, flush=True)
    finally:
        # a second Ctrl-C or SIGTERM must not cut the shutdown short and leave processes behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if stack is not None:
                stack.stop()
            with contextlib.suppress(FileNotFoundError):
                if stack is not None and _read_state(state_file).get("pid") == os.getpid():
                    state_file.unlink()
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0


def _print_urls(state: dict[str, Any], state_file: Path) -> None:
    lines = [f"brownout stack: up (pid {state['pid']}); state in {state_file}"]
    lines.append(f"  {'control':<12} {state['control_url']}")
    lines += [f"  {name:<12} {info['url']}" for name, info in state["components"].items()]
    lines += [
        f"  {'proxy ' + name:<12} 127.0.0.1:{info['port']} -> {info['upstream']}"
        for name, info in state["proxies"].items()
    ]
    lines.append("Ctrl-C (or `brownout stack down --run-dir ...`) stops it.")
    print("\n".join(lines), flush=True)


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Written 0600 from the start (it holds the token), and renamed into place so readers see all or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(partial, path)


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(
            f"{path}: not found; no stack is running in {path.parent} "
            f"(start one with `brownout stack up --run-dir {path.parent}`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable stack state: {exc}") from None
    if not isinstance(data, dict) or not {"pid", "control_url", "token"} <= data.keys():
        raise InputError(f"{path}: not a stack state file (needs pid, control_url, token)")
    return data


def _status(run_dir: Path, as_json: bool) -> int:
    state = _read_state(run_dir / STATE_FILE)
    try:
        response = loopback_session(state["token"]).get(f"{state['control_url']}/components", timeout=10)
        response.raise_for_status()
        components = response.json()["components"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        alive = "alive" if _supervisor_alive(state) else "not running"
        raise StackError(
            f"the stack in {run_dir} (pid {state['pid']}, {alive}) does not answer "
            f"at {state['control_url']}: {exc}"
        ) from None
    if as_json:
        print(json.dumps({"components": components}, indent=2))
    else:
        print(f"{'name':<12} {'state':<8} {'ready':<6} {'pid':>8} {'port':>6} {'restarts':>8}  url")
        for c in components:
            url = state.get("components", {}).get(c["name"], {}).get("url", "")
            print(
                f"{c['name']:<12} {c['state']:<8} {str(c['ready']).lower():<6} {c['pid'] or '-':>8} "
                f"{c['port']:>6} {c['restarts']:>8}  {url}"
            )
    critical_down = [c["name"] for c in components if c.get("critical", True) and not c["ready"]]
    return 1 if critical_down else 0


def _supervisor_alive(state: dict[str, Any]) -> bool:
    """True if the recorded pid is still the supervisor that wrote the file (not a reused pid)."""
    try:
        process = psutil.Process(int(state["pid"]))
        # create_time is only as exact as the kernel's boot time (whole seconds): allow for that
        started_before = process.create_time() <= float(state.get("started_at", 0)) + 2.0
        return process.status() != psutil.STATUS_ZOMBIE and started_before
    except (psutil.Error, ValueError):
        return False


def _down(run_dir: Path, timeout_s: float) -> int:
    state_file = run_dir / STATE_FILE
    state = _read_state(state_file)
    if not _supervisor_alive(state):
        state_file.unlink(missing_ok=True)
        print(f"brownout stack: no stack running in {run_dir} (removed its stale {STATE_FILE})")
        return 0
    try:
        loopback_session(state["token"]).post(f"{state['control_url']}/shutdown", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        print(
            f"brownout stack: control API did not take the shutdown ({exc}); sending SIGTERM", file=sys.stderr
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["pid"]), signal.SIGTERM)
    if not wait_until(lambda: not _supervisor_alive(state), within_s=timeout_s, every_s=0.1):
        raise StackError(f"the stack in {run_dir} (pid {state['pid']}) is still up after {timeout_s:g}s")
    state_file.unlink(missing_ok=True)
    print(f"brownout stack: down ({run_dir})")
    return 0
