"""Toxic specifications: what a toxic is, as Toxiproxy's API shows it, and the validation of API input.

A toxic is immutable; an update makes a new one with a new `uid`, so every open connection rolls its
toxicity again (as Toxiproxy restarts a toxic on update) and nobody sees a toxic half-changed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from brownout.proxy.errors import ApiError

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)

# type -> attribute -> default. Times are milliseconds, bandwidth rate is KB/s (1 KB = 1000 bytes, as in
# Toxiproxy), limit_data counts bytes.
TOXIC_ATTRIBUTES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "latency": {"latency": 0, "jitter": 0},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "bandwidth": {"rate": 0},
        "slow_close": {"delay": 0},
        "limit_data": {"bytes": 0},
    }
)

_uids = itertools.count(1)


def next_uid() -> int:
    return next(_uids)


@dataclass(frozen=True)
class ToxicSpec:
    name: str
    type: str
    stream: str = DOWNSTREAM
    toxicity: float = 1.0
    attributes: Mapping[str, float] = field(default_factory=dict)
    # Identity of this version of the toxic: connections key their toxicity roll and state on it.
    uid: int = field(default_factory=next_uid, compare=False)

    def value(self, attribute: str) -> float:
        return float(self.attributes.get(attribute, TOXIC_ATTRIBUTES[self.type][attribute]))

    def seconds(self, attribute: str) -> float:
        return self.value(attribute) / 1000.0

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": {key: _plain_number(value) for key, value in self.attributes.items()},
        }


def parse_toxic(body: object) -> ToxicSpec:
    """A new toxic from a `POST /proxies/{name}/toxics` body; ApiError(400) says what is wrong."""
    if not isinstance(body, dict):
        raise ApiError("bad request body: a toxic must be a JSON object")
    type_ = body.get("type")
    if type_ not in TOXIC_ATTRIBUTES:
        known = ", ".join(TOXIC_ATTRIBUTES)
        raise ApiError(f"invalid toxic type {type_!r}: use one of {known}")
    stream = body.get("stream", DOWNSTREAM)
    if stream not in STREAMS:
        raise ApiError(f"stream was invalid ({stream!r}), can be either upstream or downstream")
    name = body.get("name") or f"{type_}_{stream}"
    if not isinstance(name, str):
        raise ApiError(f"toxic name must be a string, got {name!r}")
    toxicity = _toxicity(body.get("toxicity", 1.0))
    attributes = _attributes(str(type_), body.get("attributes", {}), {})
    return ToxicSpec(name=name, type=str(type_), stream=stream, toxicity=toxicity, attributes=attributes)


def updated_toxic(current: ToxicSpec, body: object) -> ToxicSpec:
    """`current` changed by a `POST /proxies/{name}/toxics/{toxic}` body: attributes and toxicity only."""
    if not isinstance(body, dict):
        raise ApiError("bad request body: a toxic update must be a JSON object")
    for key in ("type", "stream"):
        if key in body and body[key] != getattr(current, key):
            raise ApiError(f"cannot change the {key} of toxic {current.name!r}: delete it, create a new one")
    toxicity = _toxicity(body.get("toxicity", current.toxicity))
    attributes = _attributes(current.type, body.get("attributes", {}), current.attributes)
    return ToxicSpec(current.name, current.type, current.stream, toxicity, attributes)


def _toxicity(value: object) -> float:
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        raise ApiError(f"toxicity must be a number from 0 to 1, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _attributes(type_: str, given: object, base: Mapping[str, float]) -> Mapping[str, float]:
    if not isinstance(given, dict):
        raise ApiError(f"attributes of a {type_} toxic must be a JSON object, got {given!r}")
    allowed = TOXIC_ATTRIBUTES[type_]
    merged = {key: base.get(key, default) for key, default in allowed.items()}
    for key, value in given.items():
        if key not in allowed:
            raise ApiError(f"unknown attribute {key!r} for a {type_} toxic: use {', '.join(allowed)}")
        if not _is_number(value) or float(value) < 0:
            raise ApiError(f"attribute {key!r} of a {type_} toxic must be a number >= 0, got {value!r}")
        merged[key] = value
    return MappingProxyType(merged)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
