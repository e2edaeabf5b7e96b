"""Where a stack runs: its ports (fixed or ephemeral), paths, token, and each component's rendered command."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.errors import StackError
from brownout.ports import free_ports
from brownout.stack.spec import ComponentSpec, StackSpec, render

HOST = "127.0.0.1"


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


def plan_layout(spec: StackSpec, run_dir: Path, *, ephemeral_ports: bool, token: str) -> Layout:
    if ephemeral_ports:
        fresh = free_ports(len(spec.components) + len(spec.proxies))
        ports = {c.name: fresh.pop() for c in spec.components}
        proxy_ports = {p.name: fresh.pop() for p in spec.proxies}
        control_port = 0
    else:
        ports = {c.name: c.port for c in spec.components}
        proxy_ports = {p.name: p.listen for p in spec.proxies}
        control_port = spec.control_port
        _require_free(spec, ports, proxy_ports)
    return Layout(run_dir.resolve(), ports, proxy_ports, control_port, token)


def _require_free(spec: StackSpec, ports: Mapping[str, int], proxy_ports: Mapping[str, int]) -> None:
    """Fixed ports must be free: otherwise a readiness probe could be answered by a stranger."""
    claims = [(port, f"component {name!r}") for name, port in ports.items()]
    claims += [(port, f"proxy {name!r}") for name, port in proxy_ports.items()]
    claims += [(spec.control_port, "the control API")]
    for port, owner in claims:
        if not _is_free(port):
            raise StackError(
                f"port {port} for {owner} (from {spec.source}) is already in use: is another stack running? "
                "Stop it, or use --ephemeral-ports"
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
    ready = component.ready
    if ready is not None and ready.startswith("/"):
        ready = f"http://{HOST}:{{port}}{ready}"
    return Launch(
        name=component.name,
        argv=tuple(render(part, values) for part in component.command),
        env=env,
        ready_url=render(ready, values) if ready is not None else None,
        port=layout.ports[component.name],
        data_dir=layout.data_dir(component.name),
        log_path=layout.log_path(component.name),
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
