"""The start form's fault choice, checked before Locust starts anything (a `before_request` on `/swarm`).

The form carries one checkbox per scenario fault (`brownout_fault_<name>`, ticked), "no faults", and a
names field. A name the scenario does not have is refused with the form's own error line (Locust shows
the `message` of a `{"success": false}` answer) and nothing starts. A new test also waits until the last
one has healed its faults and saved its counts, so the two never mix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flask import Response, jsonify, request
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from brownout.errors import InputError
from brownout.plugin.plans import option_keys, same_key
from brownout.plugin.session import select_faults
from brownout.scenario.schema import FaultSpec, Scenario

if TYPE_CHECKING:
    from brownout.plugin.session import RunSession

log = logging.getLogger("brownout.plugin")

_BOX_PREFIX = "brownout_fault_"
_SETTLE_WAIT_S = 30.0


def choose_faults(scenario: Scenario, form: Mapping[str, str]) -> tuple[FaultSpec, ...]:
    """The faults a start form asks for; InputError (its message fit for the form) for unknown names."""
    boxes = {key: value for key, value in form.items() if key.startswith(_BOX_PREFIX)}
    keys = option_keys(scenario.faults)
    known = {keys[fault.name]: fault for fault in scenario.faults}
    unknown = [key for key in boxes if not any(same_key(key, k) for k in known)]
    if unknown:
        names = ", ".join(key.removeprefix(_BOX_PREFIX) for key in unknown)
        raise InputError(
            f"no fault {names} in {scenario.path.name} (its faults: {_names(scenario)}); nothing was started"
        )
    if form.get("brownout_no_faults", "false") == "true":
        return ()
    names = form.get("brownout_faults", "").strip()
    if names:
        wanted = [name.strip() for name in names.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in {fault.name for fault in scenario.faults}]
        if unknown:
            raise InputError(f"field Brownout Faults: no fault {', '.join(unknown)} in {scenario.path.name} "
                             f"(its faults: {_names(scenario)}); nothing was started")  # fmt: skip
        return select_faults(scenario, names)
    ticked = {k for k, v in boxes.items() if v != "false"}
    return tuple(f for f in scenario.faults if not boxes or any(same_key(keys[f.name], k) for k in ticked))


def _names(scenario: Scenario) -> str:
    return ", ".join(fault.name for fault in scenario.faults) or "none"


def guard_start(session: RunSession) -> Response | None:
    """Flask before_request: refuse a start the plugin cannot honour, else record the fault choice."""
    if request.endpoint != "locust.swarm" or request.method != "POST":
        return None
    environment = session.environment
    runner = environment.runner
    if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
        return None  # changing a running test, not starting one
    form = {key: str(value) for key, value in request.form.items()}
    try:
        chosen = choose_faults(session.scenario, form)
    except InputError as exc:
        log.error("brownout: start refused: %s", exc)
        return jsonify({"success": False, "message": f"brownout: {exc}", "host": environment.host})
    if not session.wait_until_settled(_SETTLE_WAIT_S):
        message = "brownout: the last test is still healing its faults and saving its counts; try again shortly"
        return jsonify({"success": False, "message": message, "host": environment.host})
    session.chosen = chosen
    log.info("brownout: next test fires %s", ", ".join(f.name for f in chosen) or "no faults")
    return None
