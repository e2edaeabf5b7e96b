"""App-level faults injected through the admin API: an error rate and added latency per dependency.

Dependencies: `upstream`, `notifier` (applied inside their HTTP clients, per attempt) and `store` (applied
while holding the store's write lock, so added latency there acts as a database lock).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

import gevent

DEPENDENCIES = ("upstream", "notifier", "store")


class InjectedFault(Exception):
    """Raised by an injected error; the clients treat it like a 5xx (retryable, counts for the breaker)."""


@dataclass(frozen=True)
class AppFault:
    error_rate: float = 0.0
    latency_ms: float = 0.0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AppFault:
        """Validate an admin request body; ValueError names the bad field."""
        unknown = sorted(set(body) - {"error_rate", "latency_ms"})
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; expected 'error_rate' and/or 'latency_ms'")
        error_rate = body.get("error_rate", 0.0)
        latency_ms = body.get("latency_ms", 0.0)
        if (
            isinstance(error_rate, bool)
            or not isinstance(error_rate, int | float)
            or not 0 <= error_rate <= 1
        ):
            raise ValueError("field 'error_rate' must be a number from 0 to 1")
        if (
            isinstance(latency_ms, bool)
            or not isinstance(latency_ms, int | float)
            or not 0 <= latency_ms <= 600_000
        ):
            raise ValueError("field 'latency_ms' must be a number from 0 to 600000")
        return cls(error_rate=float(error_rate), latency_ms=float(latency_ms))


class AppFaults:
    """The faults in force, by dependency."""

    def __init__(self) -> None:
        self._faults: dict[str, AppFault] = {}

    def set(self, dependency: str, fault: AppFault) -> None:
        self._faults[dependency] = fault

    def clear(self, dependency: str | None = None) -> None:
        if dependency is None:
            self._faults.clear()
        else:
            self._faults.pop(dependency, None)

    def as_json(self) -> dict[str, dict[str, float]]:
        return {name: asdict(fault) for name, fault in self._faults.items()}

    def apply(self, dependency: str) -> None:
        """Sleep the added latency, then fail with the configured probability."""
        fault = self._faults.get(dependency)
        if fault is None:
            return
        if fault.latency_ms > 0:
            gevent.sleep(fault.latency_ms / 1000.0)
        if fault.error_rate > 0 and random.random() < fault.error_rate:
            raise InjectedFault(f"{dependency}: injected error (rate {fault.error_rate})")
