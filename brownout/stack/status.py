"""What the supervisor reports about a component, and the errors its operations raise."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from brownout.errors import StackError

RUNNING = "running"
FROZEN = "frozen"
STOPPED = "stopped"  # taken down on purpose (kill, or before start): stays down until started
EXITED = "exited"  # went away by itself (or never came up)

ACTIONS = ("kill", "start", "restart", "freeze", "thaw")
ENV_ACTIONS = ("start", "restart")  # the actions that start a process, so may give it extra env


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    state: str
    ready: bool
    port: int
    restarts: int
    critical: bool
    exit_code: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class UnknownComponentError(StackError):
    """No component of that name in the stack."""


class ComponentStateError(StackError):
    """The operation makes no sense in the component's current state (e.g. freeze a stopped one)."""
