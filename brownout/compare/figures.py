"""What one side of a comparison knows: a figure per (scope kind, scope, metric), each a point estimate
with, where the inputs allow it, bootstrap replicates of the same statistic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brownout.compare.bootstrap import FloatArray

Key = tuple[str, str, str]  # (scope kind, scope, metric)


@dataclass(frozen=True)
class Figure:
    value: float | None
    replicates: FloatArray | None = None
    basis: str = ""  # what was resampled, e.g. "240 buckets (60 blocks of 1 s)" or "3 runs"
    requests: int = 0  # requests behind the figure, for the thin-tail rule
    model: str = "bootstrap"  # how replicates were made: resampling, or draws from a count model
    windows: int = 0  # a fault figure: how many fault windows (repetitions x runs) it is the mean of

    @property
    def has_interval(self) -> bool:
        return self.replicates is not None and bool(np.isfinite(self.replicates).sum() >= 20)


@dataclass(frozen=True)
class Side:
    role: str  # "baseline" or "candidate"
    kind: str  # "brownout" or "locust"
    sources: tuple[str, ...]
    figures: dict[Key, Figure]
    notes: tuple[str, ...] = ()

    def scopes(self, scope_kind: str) -> list[str]:
        return sorted({scope for kind, scope, _ in self.figures if kind == scope_kind})

    def requests(self, operation: str) -> int:
        return max(
            (f.requests for (kind, scope, _), f in self.figures.items() if kind == "operation" and scope == operation),
            default=0,
        )
