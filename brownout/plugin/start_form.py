"""The start form's fault choice, checked before Locust starts anything (a `before_request` on `/swarm`).

The form carries one checkbox per scenario fault (`brownout_fault_<name>`, ticked), "no faults", and a
names field. A name the scenario does not have is refused with the form's own error line (Locust shows
the `message` of a `{"success": false}` answer) and nothing starts. A new test also waits until the last
one has healed its faults and saved its counts, so the two never mix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Response, jsonify, request
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from brownout.errors import InputError
from brownout.faults.selection import choose_faults
from brownout.plugin.plans import option_keys, same_key
from brownout.plugin.views import Session
from brownout.scenario.schema import FaultSpec, Scenario

log = logging.getLogger("brownout.plugin")

_BOX_PREFIX = "brownout_fault_"
_SETTLE_WAIT_S = 30.0


def form_faults(scenario: Scenario, form: Mapping[str, str]) -> tuple[FaultSpec, ...]:
    """The faults a start form asks for; InputError (its message fit for the form) for unknown names."""
    boxes = {key: value for key, value in form.items() if key.startswith(_BOX_PREFIX)}
    keys = option_keys(scenario.faults)
    unknown = [key for key in boxes if not any(same_key(key, k) for k in keys.values())]
    if unknown:
        names = ", ".join(key.removeprefix(_BOX_PREFIX) for key in unknown)
        raise InputError(
            f"no fault {names} in {scenario.path.name} (its faults: {_names(scenario)}); nothing was started"
        )
    named = form.get("brownout_faults", "")
    ticked = [k for k, v in boxes.items() if v != "false"]
    # The names field, when filled in, says it all; else an unticked box (or one left out) turns its fault off.
    unticked = {name for name, key in keys.items() if not any(same_key(key, k) for k in ticked)}
    off = unticked if boxes and not named.strip() else set()
    try:
        return choose_faults(scenario, named, option="field Brownout Faults",
                             none=form.get("brownout_no_faults", "false") == "true", off=off)  # fmt: skip
    except InputError as exc:
        raise InputError(f"{exc}; nothing was started") from None


def _names(scenario: Scenario) -> str:
    return ", ".join(fault.name for fault in scenario.faults) or "none"


def guard_start(session: Session) -> Response | None:
    """Flask before_request: refuse a start the plugin cannot honour, else record the fault choice."""
    if request.endpoint != "locust.swarm" or request.method != "POST":
        return None
    environment = session.environment
    runner = environment.runner
    if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
        return None  # changing a running test, not starting one
    form = {key: str(value) for key, value in request.form.items()}
    try:
        chosen = form_faults(session.scenario, form)
    except InputError as exc:
        log.error("brownout: start refused: %s", exc)
        return jsonify({"success": False, "message": f"brownout: {exc}", "host": environment.host})
    if not session.wait_until_settled(_SETTLE_WAIT_S):
        message = "brownout: the last test is still healing its faults and saving its counts; try again shortly"
        return jsonify({"success": False, "message": message, "host": environment.host})
    session.choose_next(chosen)
    log.info("brownout: next test fires %s", ", ".join(f.name for f in chosen) or "no faults")
    return None
