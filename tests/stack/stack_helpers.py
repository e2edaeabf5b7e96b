"""Helpers for supervisor tests: stack files made of stand-in components, "is it all gone?" checks."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import psutil
import requests

from tests.helpers import wait_until

FAKE = Path(__file__).parent / "fake_component.py"
_DUMMY_PORTS = itertools.count(20000)  # distinct fixed ports keep the spec valid; tests use ephemeral ones


def fake(name: str, *flags: str, **fields: Any) -> dict[str, Any]:
    """A [[components]] entry running the stand-in component."""
    entry: dict[str, Any] = {
        "name": name,
        "command": ["{python}", str(FAKE), "--port", "{port}", *flags],
        "port": fields.pop("port", next(_DUMMY_PORTS)),
        "ready": "/readyz",
        "ready_timeout_s": 10,
    }
    entry.update(fields)
    return entry


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers and lists of them read the same in TOML


def write_stack(
    path: Path, components: list[dict[str, Any]], proxies: list[dict[str, Any]] | None = None, **stack: Any
) -> Path:
    lines = ["[stack]", *(f"{k} = {_toml_value(v)}" for k, v in {"stop_grace_s": 3, **stack}.items())]
    for component in components:
        lines += ["", "[[components]]", *(f"{k} = {_toml_value(v)}" for k, v in component.items())]
    for proxy in proxies or []:
        lines += ["", "[[proxies]]", *(f"{k} = {_toml_value(v)}" for k, v in proxy.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def process_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead; reaping is init's business
    except psutil.NoSuchProcess:
        return True


def port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return False
    except OSError:
        return True


def assert_all_gone(pids: list[int], ports: list[int], timeout_s: float = 10.0) -> None:
    assert wait_until(lambda: all(process_gone(p) for p in pids), timeout_s), [
        p for p in pids if not process_gone(p)
    ]
    assert all(port_closed(p) for p in ports), [p for p in ports if not port_closed(p)]


def kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
