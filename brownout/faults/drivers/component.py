"""`component` faults through the stack supervisor's control API (docs/interfaces.md).

kill -> heal: start (stays down until then); restart -> heal: wait until ready; freeze -> heal: thaw.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from brownout.errors import FaultError
from brownout.faults.drivers.base import Evidence, call
from brownout.faults.kinds import ComponentParams
from brownout.net.loopback import session_for
from brownout.net.polling import wait_until

_INJECT_ACTION = {"kill": "kill", "restart": "restart", "freeze": "freeze"}


class ComponentDriver:
    def __init__(
        self,
        control_url: str,
        token: str | None,
        params: ComponentParams,
        fault_name: str,
        poll_interval_s: float = 0.1,
    ) -> None:
        self.control_url = control_url.rstrip("/")
        self.token = token
        self.params = params
        self.fault_name = fault_name
        self.poll_interval_s = poll_interval_s
        self._session = session_for(control_url, token)

    def _post(self, action: str, step: str) -> dict[str, Any]:
        name = quote(self.params.component, safe="")
        # restart and start answer once the component is ready, so allow for its readiness wait.
        response = call(
            self._session,
            "POST",
            f"{self.control_url}/components/{name}/{action}",
            timeout=self.params.ready_timeout_s + 10,
            what=f"{step} fault {self.fault_name!r} ({action} component {self.params.component!r})",
        )
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}

    def _component(self) -> dict[str, Any]:
        return read_component(self._session, self.control_url, self.params.component, self.fault_name)

    def inject(self) -> Evidence:
        """The pid acted on is the evidence; killing a component that is already gone acts on nothing."""
        before = self._component()
        if self.params.action == "kill" and before.get("pid") is None:
            raise FaultError(
                f"cannot inject fault {self.fault_name!r}: component {self.params.component!r} was already "
                f"{before.get('state') or 'gone'} (no process to kill): the fault would test nothing"
            )
        after = self._post(_INJECT_ACTION[self.params.action], "inject")
        if self.params.action == "restart":
            return {"pid": before.get("pid"), "new_pid": after.get("pid")}
        return {"pid": before.get("pid") if self.params.action == "kill" else after.get("pid")}

    def heal(self) -> Evidence:
        state = self._component()
        if self.params.action == "freeze":
            if state.get("state") == "frozen":
                self._post("thaw", "heal")
        elif self.params.action == "kill" and state.get("state") != "running":
            self._post("start", "heal")
        return {"pid_after_heal": self._wait_ready().get("pid")}

    def _wait_ready(self) -> dict[str, Any]:
        state = wait_until(
            self._component, done=running_and_ready, within_s=self.params.ready_timeout_s, every_s=self.poll_interval_s
        )
        if not running_and_ready(state):
            raise FaultError(
                f"heal fault {self.fault_name!r}: component {self.params.component!r} is "
                f"not ready after {self.params.ready_timeout_s:g}s (state "
                f"{state.get('state')!r}); raise `ready_timeout` or check its log"
            )
        return state


def read_component(session: requests.Session, control_url: str, name: str, fault_name: str) -> dict[str, Any]:
    """The control API's entry for one component (pid, state, ready, ...); FaultError when it has none."""
    response = call(session, "GET", f"{control_url}/components", timeout=10,
                    what=f"read the state of component {name!r}")  # fmt: skip
    for component in response.json().get("components", []):
        if component.get("name") == name:
            return dict(component)
    raise FaultError(f"the stack has no component {name!r} (fault {fault_name!r}: fix its `target`)")


def running_and_ready(state: dict[str, Any]) -> bool:
    return bool(state.get("ready")) and state.get("state") == "running"
