"""Where a stack runs: its ports (fixed, ephemeral or from a range), paths, token, each component's rendered
command, readiness check and stop signal."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.errors import InputError, StackError
from brownout.net.ports import free_ports
from brownout.stack.spec import ComponentSpec, StackSpec, render

HOST = "127.0.0.1"
PORT_CHOICES = "fixed, ephemeral or a range LOW-HIGH"


@dataclass(frozen=True)
class PortPolicy:
    """Where a stack's ports come from: the stack file (`fixed`), free ones (`ephemeral`), or free ones
    inside LOW-HIGH (a range a firewall or a container publishes)."""

    mode: str  # "fixed", "ephemeral" or "range"
    low: int = 0
    high: int = 0

    @classmethod
    def parse(cls, text: str, *, source: str = "--ports") -> PortPolicy:
        """InputError (naming `source`) unless text is fixed, ephemeral or LOW-HIGH within 1024-65535."""
        value = text.strip().lower()
        if value in ("fixed", "ephemeral"):
            return cls(value)
        low_text, dash, high_text = value.partition("-")
        if dash and low_text.isdigit() and high_text.isdigit():
            low, high = int(low_text), int(high_text)
            if 1024 <= low <= high <= 65535:
                return cls("range", low, high)
            raise InputError(f"{source}: range {text!r} must lie within 1024-65535, low end first")
        raise InputError(f"{source}: expected {PORT_CHOICES}, got {text!r}")

    def __str__(self) -> str:
        return f"{self.low}-{self.high}" if self.mode == "range" else self.mode


@dataclass(frozen=True)
class Layout:
    run_dir: Path
    ports: Mapping[str, int]  # component -> port
    proxy_ports: Mapping[str, int]  # proxy -> listen port
    control_port: int  # 0: the control server picks a free one itself
    token: str

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def proxy_config_path(self) -> Path:
        return self.run_dir / "proxies.json"

    def data_dir(self, component: str) -> Path:
        return self.run_dir / "data" / component

    def log_path(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"


@dataclass(frozen=True)
class Launch:
    """Everything needed to (re)start one component, rendered once."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ready_url: str | None
    port: int
    data_dir: Path
    log_path: Path
    ready_command: tuple[str, ...] | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout_s: float = 5.0


def plan_layout(spec: StackSpec, run_dir: Path, *, ports: PortPolicy, token: str) -> Layout:
    if ports.mode != "fixed":
        within = range(ports.low, ports.high + 1) if ports.mode == "range" else None
        needed = len(spec.components) + len(spec.proxies) + (1 if within else 0)
        fresh = _free_ports(needed, within, spec)
        component_ports = {c.name: fresh.pop() for c in spec.components}
        proxy_ports = {p.name: fresh.pop() for p in spec.proxies}
        control_port = fresh.pop() if within else 0  # 0: the control server binds any free port itself
        return Layout(run_dir.resolve(), component_ports, proxy_ports, control_port, token)
    fixed = {c.name: c.port for c in spec.components}
    proxy_ports = {p.name: p.listen for p in spec.proxies}
    _require_free(spec, fixed, proxy_ports)
    return Layout(run_dir.resolve(), fixed, proxy_ports, spec.control_port, token)


def _free_ports(count: int, within: range | None, spec: StackSpec) -> list[int]:
    try:
        return free_ports(count, within=within)
    except OSError:
        assert within is not None
        raise StackError(
            f"ports {within.start}-{within.stop - 1}: fewer than the {count} free ports the stack in "
            f"{spec.source} needs ({len(spec.components)} components, {len(spec.proxies)} proxies, control API)"
        ) from None


def _require_free(spec: StackSpec, ports: Mapping[str, int], proxy_ports: Mapping[str, int]) -> None:
    """Fixed ports must be free: otherwise a readiness probe could be answered by a stranger."""
    claims = [(port, f"component {name!r}") for name, port in ports.items()]
    claims += [(port, f"proxy {name!r}") for name, port in proxy_ports.items()]
    claims += [(spec.control_port, "the control API")]
    for port, owner in claims:
        if not _is_free(port):
            raise StackError(
                f"port {port} for {owner} (from {spec.source}) is already in use: is another stack running? "
                "Stop it, or use --ports ephemeral"
            )


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def launch_for(spec: StackSpec, component: ComponentSpec, layout: Layout) -> Launch:
    values = {
        "python": sys.executable,
        "name": component.name,
        "port": str(layout.ports[component.name]),
        "data_dir": str(layout.data_dir(component.name)),
        "run_dir": str(layout.run_dir),
        "token": layout.token,
        "proxy_config": str(layout.proxy_config_path),
    }
    values |= {f"ports.{name}": str(port) for name, port in layout.ports.items()}
    values |= {f"proxies.{name}": str(port) for name, port in layout.proxy_ports.items()}
    env = dict(os.environ)
    env |= {"PYTHONUNBUFFERED": "1", "BROWNOUT_TOKEN": layout.token}
    env |= {key: render(value, values) for key, value in component.env}
    ready = component.ready if isinstance(component.ready, str) else None
    if ready is not None and ready.startswith("/"):
        ready = f"http://{HOST}:{{port}}{ready}"
    ready_command = None
    if component.ready_command is not None:
        ready_command = tuple(render(part, values) for part in component.ready_command)
    return Launch(
        name=component.name,
        argv=tuple(render(part, values) for part in component.command),
        env=env,
        ready_url=render(ready, values) if ready is not None else None,
        port=layout.ports[component.name],
        data_dir=layout.data_dir(component.name),
        log_path=layout.log_path(component.name),
        ready_command=ready_command,
        stop_signal=signal.Signals[component.stop_signal],
        stop_timeout_s=component.stop_timeout if component.stop_timeout is not None else spec.stop_grace_s,
    )


def proxy_config(spec: StackSpec, layout: Layout) -> list[dict[str, Any]]:
    """The fault proxy's startup config, in Toxiproxy's -config format."""
    return [
        {
            "name": proxy.name,
            "listen": f"{HOST}:{layout.proxy_ports[proxy.name]}",
            "upstream": f"{HOST}:{layout.ports[proxy.upstream]}",
            "enabled": True,
        }
        for proxy in spec.proxies
    ]
