"""`Stack`: the Python API other parts use to run a stack and act on its components.

with Stack.start("targets/sample/stack.toml", run_dir, ports="ephemeral") as stack:
    requests.get(stack.url("gateway") + "/readyz")
    stack.kill("notifier"); stack.start("notifier")
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Protocol, overload

from brownout.errors import StackError
from brownout.stack.control import ControlServer
from brownout.stack.layout import HOST, Layout, PortPolicy, plan_layout, proxy_config
from brownout.stack.small_disk import SmallDisks
from brownout.stack.spec import StackSpec, load_stack_spec
from brownout.stack.status import ACTIONS, ComponentStatus, UnknownComponentError
from brownout.stack.supervisor import Supervisor

log = logging.getLogger("brownout.stack")


def _plan(spec: StackSpec, run_dir: Path, ports: PortPolicy | str, token: str | None) -> Layout:
    """Ports, paths and the token of a stack about to start; the fault proxy's config written out."""
    run_dir.mkdir(parents=True, exist_ok=True)
    policy = ports if isinstance(ports, PortPolicy) else PortPolicy.parse(ports)
    token = token or os.environ.get("BROWNOUT_TOKEN") or secrets.token_urlsafe(24)
    layout = plan_layout(spec, run_dir, ports=policy, token=token)
    if spec.proxies:
        layout.proxy_config_path.write_text(json.dumps(proxy_config(spec, layout), indent=2) + "\n")
    return layout


class _Launcher(Protocol):
    def __call__(
        self,
        spec: StackSpec | str | Path,
        run_dir: str | Path,
        *,
        ephemeral_ports: bool = False,
        ports: PortPolicy | str = "fixed",
        token: str | None = None,
        control: bool = True,
        small_disks: Mapping[str, int] | None = None,
    ) -> Stack: ...


class _StartDescriptor:
    """`Stack.start(spec, run_dir)` creates a stack; `stack.start(name)` starts one component of it."""

    @overload
    def __get__(self, instance: None, owner: type[Stack]) -> _Launcher: ...

    @overload
    def __get__(self, instance: Stack, owner: type[Stack]) -> Callable[[str], ComponentStatus]: ...

    def __get__(self, instance: Stack | None, owner: type[Stack]) -> Any:
        return owner.launch if instance is None else instance.start_component


class Stack:
    """A running stack. Create it with `Stack.start(...)`; stop it with `stop()` or a `with` block."""

    start = _StartDescriptor()

    def __init__(self, spec: StackSpec, layout: Layout, small_disks: Mapping[str, int] | None = None) -> None:
        self.spec = spec
        self._layout = layout
        self._control: ControlServer | None = None
        self._small_disks = SmallDisks(small_disks or {})
        self._supervisor = Supervisor(
            spec, layout, on_stopping=self._close_control, on_stopped=self._small_disks.unmount
        )
        self.started_at = time.time()

    @classmethod
    def launch(
        cls,
        spec: StackSpec | str | Path,
        run_dir: str | Path,
        *,
        ephemeral_ports: bool = False,
        ports: PortPolicy | str = "fixed",
        token: str | None = None,
        control: bool = True,
        small_disks: Mapping[str, int] | None = None,
    ) -> Stack:
        """Start every component in order, each ready before the next; StackError if a critical one is not.

        ports: "fixed" (the stack file's), "ephemeral" (free ones; `ephemeral_ports=True` says the same)
        or "LOW-HIGH" (free ones in that range). token: the control API's and the components'
        BROWNOUT_TOKEN; default: the BROWNOUT_TOKEN environment variable, else a random one.
        small_disks: component -> MB, a tmpfs of that size as its data dir (brownout.stack.small_disk).

        Call from a thread that outlives the stack (normally the main thread): the supervisor thread it
        creates owns the processes. A non-critical component that does not come up is logged and left down.
        """
        if not isinstance(spec, StackSpec):
            spec = load_stack_spec(spec)
        policy = PortPolicy("ephemeral") if ephemeral_ports else ports
        layout = _plan(spec, Path(run_dir), policy, token)
        stack = cls(spec, layout, small_disks)
        atexit.register(stack.stop)
        try:
            stack._small_disks.mount({name: layout.data_dir(name) for name in spec.names})
            if control:
                stack._control = ControlServer(stack, layout.token, port=layout.control_port)
                stack._control.start()
            stack._supervisor.start()
            stack._start_all()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _start_all(self) -> None:
        """Every component in order; a critical one that does not come up stops the start (StackError)."""
        for component in self.spec.components:
            try:
                self.start_component(component.name)
            except StackError as exc:
                if component.critical:
                    raise
                log.warning("non-critical component %s is down: %s", component.name, exc)

    # ---- where things are ---------------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self._layout.run_dir

    @property
    def token(self) -> str:
        return self._layout.token

    @property
    def ports(self) -> Mapping[str, int]:
        return MappingProxyType(dict(self._layout.ports))

    @property
    def proxy_ports(self) -> Mapping[str, int]:
        return MappingProxyType(dict(self._layout.proxy_ports))

    @property
    def control_url(self) -> str:
        if self._control is None:
            raise StackError("this stack was started without its control API (control=False)")
        return self._control.url

    def url(self, name: str) -> str:
        if name not in self._layout.ports:
            raise UnknownComponentError(f"no component named {name!r} (known: {', '.join(self._layout.ports)})")
        return f"http://{HOST}:{self._layout.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self._layout.log_path(name)

    def describe(self) -> dict[str, Any]:
        """What `brownout stack up` writes to stack.json."""
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "stack_file": str(self.spec.source),
            "run_dir": str(self.run_dir),
            "control_url": self._control.url if self._control else None,
            "token": self.token,
            "components": {
                name: {"port": port, "url": self.url(name), "log": str(self.log_path(name))}
                for name, port in self._layout.ports.items()
            },
            "proxies": {
                proxy.name: {"port": self._layout.proxy_ports[proxy.name], "upstream": proxy.upstream}
                for proxy in self.spec.proxies
            },
        }

    # ---- acting on components -----------------------------------------------------------------------

    def status(self) -> list[ComponentStatus]:
        return list(self._supervisor.statuses())

    def component_status(self, name: str) -> ComponentStatus:
        for status in self._supervisor.statuses():
            if status.name == name:
                return status
        raise UnknownComponentError(f"no component named {name!r} (known: {', '.join(self._layout.ports)})")

    def perform(self, action: str, name: str, env: Mapping[str, str] | None = None) -> ComponentStatus:
        """One of ACTIONS; returns when done (start and restart: when the component is ready again).

        `env` (start, restart): extra env over the stack file's, kept for later starts until replaced.
        """
        if action not in ACTIONS:
            raise StackError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
        return self._supervisor.call(action, name, env)

    def kill(self, name: str) -> ComponentStatus:
        """SIGKILL the component's process group; it stays down (no on-failure restart) until start()."""
        return self.perform("kill", name)

    def start_component(self, name: str) -> ComponentStatus:
        return self.perform("start", name)

    def restart(self, name: str, env: Mapping[str, str] | None = None) -> ComponentStatus:
        return self.perform("restart", name, env)

    def freeze(self, name: str) -> ComponentStatus:
        return self.perform("freeze", name)

    def thaw(self, name: str) -> ComponentStatus:
        return self.perform("thaw", name)

    # ---- lifetime -----------------------------------------------------------------------------------

    def request_shutdown(self) -> None:
        """Ask for a stop without waiting for it (the control API's POST /shutdown)."""
        self._supervisor.request_stop()

    def wait(self, timeout_s: float | None = None) -> bool:
        """True once the stack has shut down (by stop(), POST /shutdown, or a supervisor failure)."""
        return self._supervisor.wait_stopped(timeout_s)

    def stop(self) -> None:
        """Stop every component (reverse order, its stop signal then SIGKILL) and the control API. Idempotent."""
        atexit.unregister(self.stop)
        self._supervisor.request_stop()
        if self._supervisor.wait_stopped(0):
            return
        budget = sum(c.stop_timeout or self.spec.stop_grace_s for c in self.spec.components)
        budget += len(self.spec.components) * 11.0 + 5.0
        self._supervisor.join(budget)
        if not self._supervisor.wait_stopped(0):
            self._close_control()  # the supervisor thread never ran (or died before its cleanup)
            self._small_disks.unmount()

    def _close_control(self) -> None:
        if self._control is not None:
            self._control.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
