"""Fault windows from faults.csv's actual start and end (never the plan); episodes of overlapping faults."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from brownout.history import FaultRow, History


@dataclass(frozen=True)
class FaultWindow:
    label: str  # the fault's name, made unique with "#2", "#3" when a name repeats
    fault: FaultRow
    start: float
    heal: float | None  # None: the fault was never healed (heal-failed, or the run ended first)
    end: float  # heal, or the end of the run when it was never healed


@dataclass(frozen=True)
class Episode:
    """Faults whose windows overlap (or chain); recovery is measured once, from the last heal of them all."""

    faults: tuple[FaultWindow, ...]

    @property
    def start(self) -> float:
        return min(f.start for f in self.faults)

    @property
    def end(self) -> float:
        return max(f.end for f in self.faults)

    @property
    def heal(self) -> float | None:
        heals = [f.heal for f in self.faults]
        return None if any(h is None for h in heals) else max(h for h in heals if h is not None)

    @property
    def labels(self) -> list[str]:
        return [f.label for f in self.faults]


def run_span(history: History) -> tuple[float, float]:
    """The run from the manifest, widened to any recorded bucket outside it (clocks of workers may differ)."""
    start, end = history.manifest.started_at, history.manifest.ended_at
    span = history.timeline.span
    if span is not None:
        start, end = min(start, span[0]), max(end, span[1])
    return start, end


def fault_windows(history: History) -> list[FaultWindow]:
    """Every fault that was actually injected, by start time; skipped / inject-failed ones have no window."""
    _, run_end = run_span(history)
    # An inject-failed row keeps the times of the attempt; the fault never was in force, so it has no
    # window (the faults check reports it; availability must not call it "no requests during the window").
    injected = sorted(
        (f for f in history.faults if f.actual_start is not None and f.outcome not in ("inject-failed", "skipped")),
        key=lambda f: f.actual_start or 0.0,
    )
    seen: dict[str, int] = {}
    windows = []
    for fault in injected:
        assert fault.actual_start is not None
        seen[fault.name] = seen.get(fault.name, 0) + 1
        label = fault.name if seen[fault.name] == 1 else f"{fault.name}#{seen[fault.name]}"
        heal = fault.actual_end
        windows.append(
            FaultWindow(label, fault, fault.actual_start, heal, heal if heal is not None else run_end)
        )
    return windows


class _Span(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


S = TypeVar("S", bound=_Span)


def overlapping(spans: Iterable[S]) -> list[list[S]]:
    """Spans grouped where they overlap or chain, in order of start (the run's episodes, or a plan's)."""
    grouped: list[list[S]] = []
    current_end = float("-inf")
    for span in sorted(spans, key=lambda s: s.start):
        if grouped and span.start < current_end:
            grouped[-1].append(span)
            current_end = max(current_end, span.end)
        else:
            grouped.append([span])
            current_end = span.end
    return grouped


def episodes(windows: list[FaultWindow]) -> list[Episode]:
    return [Episode(tuple(group)) for group in overlapping(windows)]
