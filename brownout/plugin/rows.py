"""The faults of the current test as rows for the Faults tab, the faults page and its JSON, in plain words.

Rows are sorted by planned start (a fault injected by hand: by when it started). A state reads as what
happened: "pending", "active", "healed", "cut short by stop", "not started: test stopped", "failed to
inject"; `tone` names its colour class on the page, and a sign stands for it in Locust's tab (text only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from brownout.errors import InputError
from brownout.faults.describe import band_key
from brownout.faults.kinds import params_as_dict
from brownout.faults.scheduler import FaultStatus
from brownout.plugin.manual import describe_kind
from brownout.plugin.plans import planned
from brownout.plugin.views import Session
from brownout.scenario.schema import FaultSpec

# Not "name": Locust's tables sort by a "name" field unless a header is clicked; without one, ours keep
# their order (planned start).
TAB_COLUMNS = (
    ("fault", "Fault"), ("state", "State"), ("kind", "Kind"), ("target", "Target"), ("planned", "Planned"),
    ("started", "Started"), ("ended", "Ended"), ("error", "Error"),
)  # fmt: skip
# Signs every font has (colour emoji fonts are not everywhere): Locust's cells are plain text.
_MARKS = {"pending": "○", "busy": "◐", "active": "●", "healed": "✓", "cut": "◼", "skipped": "–", "failed": "✗"}


@dataclass(frozen=True)
class FaultRow:
    name: str
    target: str
    kind: str  # the family: network / component / app / http / command
    what: str  # the kind as people read it: "network latency", "app upstream errors 0.5", "resource cpu 2 hogs"
    band: str  # what colours its band on the chart (brownout.report.colours): the kind, a resource fault's resource
    planned: str
    state: str  # plain words
    tone: str  # pending / busy / active / healed / cut / skipped / failed
    started: str  # "+3.1s" from the test's start, or ""
    ended: str
    error: str
    start_s: float | None  # actual start, seconds from the test's start (for the chart)
    end_s: float | None
    order: float  # planned start offset; by hand: actual start

    def for_tab(self) -> dict[str, str]:
        row = {key: str(getattr(self, key, "")) for key, _ in TAB_COLUMNS}
        row["fault"] = self.name
        row["kind"] = self.what
        row["state"] = f"{_MARKS.get(self.tone, '')} {self.state}".strip()
        return row

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def fault_rows(session: Session, manual: Mapping[str, FaultSpec] | None = None) -> list[FaultRow]:
    """One row per fault of the current test (before the first start: the scenario's plan); `manual`: the
    specs of the faults injected by hand, by name."""
    run = session.current
    if run is None:
        try:
            faults = session.planned_faults()
        except InputError:
            return []
        return sorted((_planned_row(spec) for spec in faults), key=lambda row: (row.order, row.name))
    if run.scheduler is None:
        return []
    specs = {window.name: window for spec in session.scenario.faults for window in spec.windows()}
    stopped = run.finished
    rows = [_status_row(s, specs.get(s.name), (manual or {}).get(s.name), run.started_at, stopped)
            for s in run.scheduler.snapshot()]  # fmt: skip
    return sorted(rows, key=lambda row: (row.order, row.name))


def _planned_row(spec: FaultSpec) -> FaultRow:
    return FaultRow(
        name=spec.name, target=spec.target, kind=spec.kind, what=describe_kind(spec.kind, spec.params),
        band=band_key(spec.kind, params_as_dict(spec.params)), planned=planned(spec), state="pending",
        tone="pending", started="", ended="", error="", start_s=None, end_s=None, order=spec.planned_offset_s,
    )  # fmt: skip


def _status_row(
    status: FaultStatus, spec: FaultSpec | None, by_hand_spec: FaultSpec | None, t0: float, stopped: bool
) -> FaultRow:
    start_s = None if status.actual_start is None else status.actual_start - t0
    end_s = None if status.actual_end is None else status.actual_end - t0
    by_hand = start_s if start_s is not None else float("inf")
    order = spec.planned_offset_s if spec is not None else by_hand
    state, tone = _words(status, manual=spec is None, stopped=stopped)
    described = spec or by_hand_spec
    params = described.params if described is not None else None
    return FaultRow(
        name=status.name, target=status.target, kind=status.kind, what=describe_kind(status.kind, params),
        band=band_key(status.kind, params_as_dict(params) if params else {}), planned=planned(spec), state=state,
        tone=tone, started=_offset(start_s), ended=_offset(end_s),
        error=status.error, start_s=start_s, end_s=end_s, order=order,
    )  # fmt: skip


def _words(status: FaultStatus, manual: bool, stopped: bool) -> tuple[str, str]:
    state, outcome = status.state, status.outcome
    if state == "pending":
        return ("not started: test stopped", "skipped") if stopped else ("pending", "pending")
    if state in ("injecting", "healing"):
        return f"{state}…", "busy"
    if state == "active":
        return "active", "active"
    if state == "healed":
        if outcome == "aborted":
            return ("healed at stop", "cut") if manual else ("cut short by stop", "cut")
        return "healed", "healed"
    if outcome == "skipped":
        return "not started: test stopped", "skipped"
    if outcome == "heal-failed":
        return "failed to heal: check the target", "failed"
    return "failed to inject", "failed"


def _offset(seconds: float | None) -> str:
    return "" if seconds is None else f"+{seconds:.1f}s"
