"""Each fault window's figures (availability, recovery, detection, amplification) as plain numbers, from
the checks' own figures; read by compare (per side) and by the report (the spread of a repeated fault)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

FAULT_METRICS = ("availability", "recovery_s", "detection_s", "amplification")
Figures = Mapping[str, Any]  # one check's figures: {"faults": [{"fault": label, ...}, ...], ...}


def window_values(figures_of: Callable[[str], Figures], labels: list[str]) -> dict[str, dict[str, float]]:
    """window label -> metric -> value; what a check did not measure (no traffic, a recovery not seen
    before the run ended or only bounded, no breaker metric) is left out, never guessed."""
    values: dict[str, dict[str, float]] = {label: {} for label in labels}

    def put(label: str, metric: str, value: float | None) -> None:
        if label in values and value is not None:
            values[label][metric] = float(value)

    for fault in figures_of("availability").get("faults", []):
        put(fault["fault"], "availability", fault["overall"]["availability"])
    for fault in figures_of("recovery").get("faults", []):
        overall = fault["overall"]
        if overall.get("status") == "recovered" and overall.get("bound") != "upper":
            put(fault["fault"], "recovery_s", overall.get("recovery_s"))
    for fault in figures_of("detection").get("faults", []):
        seen = [s for s in (fault.get("breaker_open_s"), fault.get("degraded_s")) if s is not None]
        put(fault["fault"], "detection_s", min(seen, default=None))
    for fault in figures_of("resilience").get("faults", []):
        ratios = [d.get("amplification") for d in fault.get("retries", {}).values()]
        put(fault["fault"], "amplification", max((r for r in ratios if r is not None), default=None))
    return values
