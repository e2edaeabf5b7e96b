"""Toxic specifications: what a toxic is, as Toxiproxy's API shows it, and the validation of API input.

A toxic is immutable; an update makes a new one with a new `uid`, so every open connection rolls its
toxicity again (as Toxiproxy restarts a toxic on update) and nobody sees a toxic half-changed.

Strict by default where Toxiproxy silently ignores a mistake (an unknown attribute name, a negative value,
a toxicity outside 0..1, a different type or stream in an update): the 400 says what is wrong and that
Toxiproxy would have ignored it. `lenient=True` (`brownout proxy --lenient`) accepts all of that as
Toxiproxy does: unknown attributes are dropped, negative values act as 0, the type and stream of an update
are ignored.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from brownout.proxy.errors import ApiError
from brownout.proxy.jsonio import extra_keys, fields

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)

# type -> attribute -> default. Times are milliseconds except slicer's delay (microseconds, as in
# Toxiproxy); bandwidth rate is KB/s (1 KB = 1000 bytes); limit_data and slicer sizes count bytes.
TOXIC_ATTRIBUTES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "latency": {"latency": 0, "jitter": 0},
        "bandwidth": {"rate": 0},
        "slow_close": {"delay": 0},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
        "limit_data": {"bytes": 0},
        "noop": {},
    }
)

# brownout's own types (Toxiproxy 2.8.0 refuses them; its clients pass them through as names). Text and
# table attributes are strings / JSON objects; all else is a number as above. A latency toxic's extra
# attributes (`distribution`, `p50`, `p99`) are brownout's too: without them it is Toxiproxy's latency.
_HTTP_MATCH: dict[str, object] = {"method": "", "path_prefix": "", "header": "", "first": 0, "every": 0}
BROWNOUT_ATTRIBUTES: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "latency": {"distribution": "", "p50": 0, "p99": 0},
        "http_error": {**_HTTP_MATCH, "status": 503, "body": "", "headers": MappingProxyType({})},
        "http_latency": {**_HTTP_MATCH, "latency": 0, "jitter": 0},
        "http_drop": {**_HTTP_MATCH, "bytes": 0, "reset": 0},
        "stall": {"probability": 0.01, "delay": 200},
    }
)
BROWNOUT_TYPES = ("http_error", "http_latency", "http_drop", "stall")
UPSTREAM_ONLY = ("http_error", "http_latency", "http_drop")  # they act on requests
DISTRIBUTIONS = ("", "uniform", "normal", "lognormal", "pareto")
HTTP_STATUSES = (100, 599)  # the status an http_error toxic may answer


def attributes_of(type_: str) -> Mapping[str, object]:
    """Every attribute a toxic type takes, with its default (Toxiproxy's first, then brownout's)."""
    return {**TOXIC_ATTRIBUTES.get(type_, {}), **BROWNOUT_ATTRIBUTES.get(type_, {})}


_LENIENT_HINT = "Toxiproxy would have ignored it; `brownout proxy --lenient` accepts it too"
_TOXIC_FIELDS = ("name", "type", "stream", "toxicity", "attributes")
_INT64 = 2**63  # Toxiproxy's attributes are Go int64s: a bigger number is a 400 there

_uids = itertools.count(1)


def next_uid() -> int:
    return next(_uids)


@dataclass(frozen=True)
class ToxicSpec:
    name: str
    type: str
    stream: str = DOWNSTREAM  # as the client spelled it (Toxiproxy echoes "UPSTREAM" back as given)
    toxicity: float = 1.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # Identity of this version of the toxic: connections key their toxicity roll and state on it.
    uid: int = field(default_factory=next_uid, compare=False)

    @property
    def direction(self) -> str:
        return self.stream.lower()

    def value(self, attribute: str) -> float:
        """The attribute as the data plane uses it: a negative value (accepted with --lenient) acts as 0."""
        return max(0.0, float(self._raw(attribute)))

    def text(self, attribute: str) -> str:
        return str(self._raw(attribute))

    def table(self, attribute: str) -> Mapping[str, object]:
        value = self._raw(attribute)
        return value if isinstance(value, Mapping) else {}

    def seconds(self, attribute: str) -> float:
        return self.value(attribute) / 1000.0

    def _raw(self, attribute: str) -> Any:
        # Defaults looked up only when missing: bandwidth asks for its rate on every 100 ms slice.
        if attribute in self.attributes:
            return self.attributes[attribute]
        return attributes_of(self.type)[attribute]

    def as_json(self) -> dict[str, object]:
        """In Toxiproxy's key order (its attributes come first)."""
        return {
            "attributes": {key: _plain_value(value) for key, value in self.attributes.items()},
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": _plain_number(self.toxicity),
        }


def parse_toxic(body: object, lenient: bool = False, taken: Callable[[str], bool] = lambda _name: False) -> ToxicSpec:
    """A new toxic from a `POST /proxies/{name}/toxics` body; ApiError(400) says what is wrong.

    A name `taken` already is a 409, found in Toxiproxy's order: after the type, stream and name are known
    and before the attributes are read (so a duplicate with bad attributes is a 409 there too).
    """
    if not isinstance(body, dict):
        raise ApiError("bad request body: a toxic must be a JSON object")
    given = fields(body, _TOXIC_FIELDS)  # as Toxiproxy reads it: any letter case, null = left out
    type_ = given.get("type")
    if type_ not in TOXIC_ATTRIBUTES and type_ not in BROWNOUT_TYPES:
        known = ", ".join((*TOXIC_ATTRIBUTES, *BROWNOUT_TYPES))
        raise ApiError(f"invalid toxic type {type_!r}: use one of {known}")
    # The Go client leaves the stream out, meaning downstream; an http toxic acts on requests: upstream.
    stream = given.get("stream", UPSTREAM if type_ in UPSTREAM_ONLY else DOWNSTREAM)
    if not isinstance(stream, str) or stream.lower() not in STREAMS:
        raise ApiError(f"stream was invalid ({stream!r}), can be either upstream or downstream")
    if type_ in UPSTREAM_ONLY and stream.lower() != UPSTREAM:
        raise ApiError(f"a {type_} toxic acts on requests: its stream must be upstream, got {stream!r}")
    name = given.get("name", "")
    if not isinstance(name, str):
        raise ApiError(f"toxic name must be a string, got {name!r}")
    name = name or f"{type_}_{stream}"
    if not _is_number(given.get("toxicity", 1.0)):  # a type error: Toxiproxy refuses it before the name
        raise ApiError(f"toxicity must be a number from 0 to 1, got {given['toxicity']!r}")
    if taken(name):
        raise ApiError(f"toxic already exists: {name!r}", 409)
    toxicity = _toxicity(given.get("toxicity", 1.0), lenient)
    attributes = _attributes(str(type_), given.get("attributes"), {}, lenient)
    _check_slicer(str(type_), attributes, lenient)
    check_brownout_attributes(str(type_), attributes)
    return ToxicSpec(name=name, type=str(type_), stream=stream, toxicity=toxicity, attributes=attributes)


def updated_toxic(current: ToxicSpec, body: object, lenient: bool = False) -> ToxicSpec:
    """`current` changed by a `POST|PATCH /proxies/{name}/toxics/{toxic}` body: attributes and toxicity.

    A body may repeat the toxic's type and stream (clients send the whole toxic back); a different one is
    refused unless lenient, because Toxiproxy would silently keep the old one.
    """
    if not isinstance(body, dict):
        raise ApiError("bad request body: a toxic update must be a JSON object")
    given = fields(body, _TOXIC_FIELDS)
    for key, now in (("type", current.type), ("stream", current.stream)):
        value = given.get(key, "")
        if value == "" or lenient or (isinstance(value, str) and value.lower() == now.lower()):
            continue
        raise ApiError(
            f"cannot change the {key} of toxic {current.name!r} from {now!r} to {value!r}: delete it and "
            f"create a new one ({_LENIENT_HINT}, keeping {now!r})"
        )
    toxicity = _toxicity(given.get("toxicity", current.toxicity), lenient)
    attributes = _attributes(current.type, given.get("attributes"), current.attributes, lenient)
    _check_slicer(current.type, attributes, lenient)
    check_brownout_attributes(current.type, attributes)
    return ToxicSpec(current.name, current.type, current.stream, toxicity, attributes)


def _toxicity(value: object, lenient: bool) -> float:
    if not _is_number(value):
        raise ApiError(f"toxicity must be a number from 0 to 1, got {value!r}")
    number = float(value)  # type: ignore[arg-type]
    if not lenient and not 0.0 <= number <= 1.0:
        raise ApiError(f"toxicity must be a number from 0 to 1, got {value!r} ({_LENIENT_HINT})")
    return number


def _attributes(type_: str, given: object, base: Mapping[str, Any], lenient: bool) -> Mapping[str, Any]:
    if given is None:  # the Go client sends `"attributes": null` when it has none
        given = {}
    if not isinstance(given, dict):
        raise ApiError(f"attributes of a {type_} toxic must be a JSON object, got {given!r}")
    allowed = attributes_of(type_)
    unknown = extra_keys(given, allowed)
    if unknown and not lenient:
        raise ApiError(
            f"unknown attribute {unknown[0]!r} for a {type_} toxic: use {', '.join(allowed) or 'none'} "
            f"({_LENIENT_HINT})"
        )
    # A Toxiproxy type shows only Toxiproxy's attributes unless brownout's were given (same JSON as there).
    toxiproxy = TOXIC_ATTRIBUTES.get(type_, allowed)
    merged = {key: base.get(key, default) for key, default in allowed.items() if key in toxiproxy or key in base}
    for key, value in fields(given, allowed).items():
        merged[key] = _attribute_value(type_, key, value, allowed[key], lenient)
    return MappingProxyType(merged)


def _attribute_value(type_: str, key: str, value: object, default: object, lenient: bool) -> object:
    """One attribute checked against its default's kind: text, a table of header values, or a number."""
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ApiError(f"attribute {key!r} of a {type_} toxic must be a string, got {value!r}")
        return value
    if isinstance(default, Mapping):
        if not isinstance(value, dict) or not all(isinstance(v, str | int | float) for v in value.values()):
            raise ApiError(f"attribute {key!r} of a {type_} toxic must be an object of header values, got {value!r}")
        return MappingProxyType({str(k): str(v) for k, v in value.items()})
    if not isinstance(value, int | float) or not _is_number(value) or not -_INT64 <= value < _INT64:
        raise ApiError(f"attribute {key!r} of a {type_} toxic must be a number from 0 to 2**63-1, got {value!r}")
    if float(value) < 0 and not lenient:
        raise ApiError(f"attribute {key!r} of a {type_} toxic must be a number >= 0, got {value!r} ({_LENIENT_HINT})")
    return value


def check_brownout_attributes(type_: str, attributes: Mapping[str, Any]) -> None:
    """What brownout's own attributes need to make sense (there is no Toxiproxy behaviour to be lenient to)."""
    if type_ == "latency" and str(attributes.get("distribution", "")) not in DISTRIBUTIONS:
        raise ApiError(f"attribute 'distribution' of a latency toxic must be one of {', '.join(DISTRIBUTIONS[1:])}")
    problem = latency_fit_problem(attributes) if type_ == "latency" else None
    if problem:
        raise ApiError(problem)
    lowest, highest = HTTP_STATUSES
    status = attributes.get("status", 0)
    if type_ == "http_error" and not lowest <= float(status) <= highest:
        raise ApiError(f"attribute 'status' of an http_error toxic must be {lowest} to {highest}, got {status!r}")
    if type_ == "stall" and not 0 <= float(attributes["probability"]) <= 1:
        raise ApiError(f"attribute 'probability' of a stall toxic must be 0 to 1, got {attributes['probability']!r}")


def latency_fit_problem(attributes: Mapping[str, Any]) -> str | None:
    """Why a latency toxic's tail cannot be fitted (lognormal / pareto, or a `p99` alone), or None. Shared with
    brownout.faults.kinds, so a scenario or the web UI's form is refused before the proxy sees the toxic."""
    fitted = attributes.get("distribution") in ("lognormal", "pareto") or (
        attributes.get("distribution", "") in ("", "uniform") and attributes.get("p99")
    )
    p50 = float(attributes.get("p50") or attributes.get("latency", 0))
    if fitted and not 0 < p50 < float(attributes.get("p99", 0)):
        return "a lognormal or pareto latency needs 0 < p50 (or latency) < p99, in ms"
    return None


def _check_slicer(type_: str, attributes: Mapping[str, Any], lenient: bool) -> None:
    if type_ == "slicer" and not lenient and attributes["average_size"] < 1:
        raise ApiError(
            "attribute 'average_size' of a slicer toxic must be >= 1 byte (Toxiproxy 2.8.0 accepts 0 and then "
            "never delivers the data; `brownout proxy --lenient` accepts it and passes data unsliced)"
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _plain_value(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    return _plain_number(value)  # type: ignore[arg-type]
