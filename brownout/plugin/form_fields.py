"""The hand-made fault form's fields, read by the readers a scenario's `[[faults]]` table goes through.

A form sends text; each kind's fields are turned into the TOML values a scenario would hold (integers,
numbers, text, a headers table) and put where a scenario has them (`attributes.status`, `limit_mb`), then
brownout.faults.kinds.read_params reads them with its bounds and choices. So a form and a scenario refuse the
same things, and the refusal names the form's field: "field 'status': must be at most 599, got 999".
Only the chosen kind's fields are read; the others (hidden on the page) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brownout.errors import InputError
from brownout.faults.kinds import FaultParams, read_params
from brownout.inputs import TomlTable
from brownout.net.auth import Refused

# (form field, where a scenario has it, its type); "attributes.x" is a toxic attribute.
Field = tuple[str, str, str]
_MATCH: tuple[Field, ...] = (
    ("method", "attributes.method", "text"), ("path_prefix", "attributes.path_prefix", "text"),
    ("header", "attributes.header", "text"), ("first", "attributes.first", "integer"),
    ("every", "attributes.every", "integer"), ("toxicity", "toxicity", "number"),
)  # fmt: skip
FORM_FIELDS: dict[str, tuple[Field, ...]] = {
    "network-down": (),
    "network-latency": (
        ("latency_ms", "attributes.latency", "integer"), ("jitter_ms", "attributes.jitter", "integer"),
        ("distribution", "attributes.distribution", "text"), ("p50_ms", "attributes.p50", "integer"),
        ("p99_ms", "attributes.p99", "integer"), ("toxicity", "toxicity", "number"),
    ),
    "network-http_error": (
        ("status", "attributes.status", "integer"), ("body", "attributes.body", "text"),
        ("headers", "attributes.headers", "headers"), *_MATCH,
    ),
    "network-http_latency": (
        ("http_latency_ms", "attributes.latency", "integer"), ("http_jitter_ms", "attributes.jitter", "integer"),
        *_MATCH,
    ),
    "network-http_drop": (("drop_bytes", "attributes.bytes", "integer"), ("reset", "attributes.reset", "flag"),
                          *_MATCH),
    "network-stall": (("probability", "attributes.probability", "number"),
                      ("stall_delay_ms", "attributes.delay", "integer"), ("toxicity", "toxicity", "number")),
    "resource-cpu": (("cpus", "cpus", "integer"),),
    "resource-memory": (("limit_mb", "limit_mb", "integer"),),
    "resource-disk": (("disk_limit_mb", "limit_mb", "integer"),),
    "resource-clock": (("offset", "offset", "text"),),
}  # fmt: skip
# What a kind always has: its toxic or resource (from its name); a disk fault can only be `full` here.
_FIXED: dict[str, dict[str, Any]] = {"network-down": {"down": True}, "resource-disk": {"mode": "full"}}


class FormTable(TomlTable):
    """A TomlTable whose refusals name the form's fields (`latency_ms`, not `latency`) and no file."""

    def __init__(self, data: Mapping[str, Any], names: Mapping[str, str], where: str = "") -> None:
        super().__init__(data, file="the form", where=where)
        self.names = names

    def _error(self, message: str) -> InputError:
        return InputError(message)

    def error(self, field: str, message: str) -> InputError:
        return InputError(f"field {self.names.get(field, field)!r}: {message}")

    def missing(self, field: str, hint: str) -> InputError:
        return InputError(f"field {self.names.get(field, field)!r}: {hint}")

    def table(self, key: str, *, required: bool = False) -> TomlTable | None:
        inner = super().table(key, required=required)
        return None if inner is None else FormTable(inner.as_dict(), self.names, where=inner.where)


def form_params(kind: str, target: str, fields: Mapping[str, str]) -> FaultParams:
    """A network or resource kind's params from the form, read as a scenario's fault table is."""
    family, _, what = kind.partition("-")
    data: dict[str, Any] = {"toxic": what} if family == "network" and what != "down" else {}
    data.update({"resource": what} if family == "resource" else {"proxy": target} if family == "network" else {})
    data.update(_FIXED.get(kind, {}))
    for name, key, type_ in FORM_FIELDS[kind]:
        value = _typed(fields, name, type_)
        if value is None:
            continue
        place, _, leaf = key.rpartition(".")
        (data.setdefault(place, {}) if place else data)[leaf] = value
    if kind == "network-latency" and "latency" not in data.get("attributes", {}) and not fields.get("p50_ms"):
        data.setdefault("attributes", {})["latency"] = 1000  # the form's default: a second
    names = {key.rpartition(".")[2]: name for name, key, _ in FORM_FIELDS[kind]}
    try:
        return read_params(family, FormTable(data, names), target)
    except InputError as exc:
        raise Refused(400, str(exc)) from None


def _typed(fields: Mapping[str, str], name: str, type_: str) -> Any:
    """A form field's text as the TOML value a scenario would hold; None when it is empty."""
    text = fields.get(name, "").strip()
    if not text:
        return None
    if type_ == "text":
        return text
    if type_ == "flag":
        return 1 if text.lower() in ("1", "on", "true", "yes") else 0
    if type_ == "headers":
        return _headers(text)
    try:
        return int(text) if type_ == "integer" else float(text)
    except ValueError:
        what = "a whole number" if type_ == "integer" else "a number"
        raise Refused(400, f"field {name!r}: {text!r} is not {what}") from None


def _headers(text: str) -> dict[str, str]:
    """`Retry-After: 2; X-Why: test` as a table of header values."""
    headers: dict[str, str] = {}
    for part in (p.strip() for p in text.replace("\n", ";").split(";")):
        name, colon, value = part.partition(":")
        if part and (not colon or not name.strip()):
            raise Refused(400, f"field 'headers': write each header as 'Name: value', separated by ';' (got {part!r})")
        if part:
            headers[name.strip()] = value.strip()
    return headers


# The form field a machine's refusal of a resource fault is about (brownout.faults.drivers.resource.refusal).
_REFUSAL_FIELDS = {"memory": "limit_mb", "disk": "disk_limit_mb"}


def refuse_if_impossible(params: FaultParams, data_dir: Path | None) -> None:
    """A resource fault this machine cannot do is refused now, with the reason and the fix (as pre-flight
    refuses a scenario's), rather than failing at its inject."""
    from brownout.faults.drivers.resource import refusal
    from brownout.faults.kinds import ResourceParams

    if not isinstance(params, ResourceParams):
        return
    problem = refusal(params, data_dir)
    if problem:
        raise Refused(400, f"field {_REFUSAL_FIELDS.get(params.resource, 'kind')!r}: {problem}")
