"""The admin API (loopback peers with the bearer token only): app-level faults and the integrity audit."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound

from targets.sample.gateway.faults import DEPENDENCIES, AppFault, AppFaults
from targets.sample.gateway.store import Store
from targets.sample.gateway.threads import message_copies
from targets.sample.gateway.workflows import WorkflowRunner, audit_workflows
from targets.sample.serving import is_loopback_peer, json_error, read_json_object


def _string_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(f"field {field!r} must be a list of strings")
    return value


def _known_dependency(name: str) -> str:
    if name not in DEPENDENCIES:
        raise NotFound(f"unknown dependency {name!r}; expected one of {list(DEPENDENCIES)}")
    return name


def admin_blueprint(
    token: str | None, faults: AppFaults, store: Store, runner: WorkflowRunner, breakers: dict[str, Any]
) -> Blueprint:
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    admin.before_request(_authorizer(token))
    _fault_routes(admin, faults)

    @admin.get("/breakers")
    def _breakers() -> Response:
        return jsonify(
            {
                name: {"state": b.state, "transitions": [vars(t) for t in b.transitions]}
                for name, b in breakers.items()
            }
        )

    @admin.post("/audit")
    def _audit() -> Response:
        return jsonify(_audit_answer(store, runner, read_json_object()))

    return admin


def _authorizer(token: str | None) -> Callable[[], Response | None]:
    def _authorize() -> Response | None:
        if not is_loopback_peer(request.remote_addr):
            return json_error(403, "the admin API answers loopback peers only")
        if token is None:
            return json_error(403, "admin disabled: start the gateway with --admin-token or BROWNOUT_TOKEN")
        header = request.headers.get("Authorization", "")
        if not header:
            return json_error(401, "missing 'Authorization: Bearer <token>' header")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return json_error(403, "wrong admin token")
        return None

    return _authorize


def _fault_routes(admin: Blueprint, faults: AppFaults) -> None:
    @admin.get("/faults")
    def _faults() -> Response:
        return jsonify({"faults": faults.as_json()})

    @admin.put("/faults/<dependency>")
    def _set_fault(dependency: str) -> Response:
        name = _known_dependency(dependency)
        try:
            fault = AppFault.from_json(read_json_object())
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        faults.set(name, fault)
        return jsonify({"faults": faults.as_json()})

    @admin.delete("/faults/<dependency>")
    def _clear_fault(dependency: str) -> Response:
        faults.clear(_known_dependency(dependency))
        return jsonify({"faults": faults.as_json()})

    @admin.delete("/faults")
    def _clear_faults() -> Response:
        faults.clear()
        return jsonify({"faults": faults.as_json()})


def _audit_answer(store: Store, runner: WorkflowRunner, body: dict[str, Any]) -> dict[str, Any]:
    """How many copies of each acknowledged message the store holds, and the workflows' consistency."""
    message_ids = _string_list(body, "message_ids")
    workflow_ids = _string_list(body, "workflow_ids")
    copies = message_copies(store, message_ids)
    workflows = audit_workflows(store, runner.active, workflow_ids)
    missing = [i for i, n in copies.items() if n == 0]
    missing += [i for i, status in workflows["workflows"].items() if status == "missing"]
    return {
        "messages": copies,
        "missing": missing,
        "duplicated": [i for i, n in copies.items() if n > 1],
        "store": store.kind,
        **workflows,
    }
