"""The report's chart: throughput, error ratio and p95 over time, fault windows shaded, load steps marked.

Rendered with matplotlib's Agg backend to PNG bytes (embedded in report.html as base64)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from brownout.checks.load import load_steps
from brownout.checks.windows import fault_windows, run_span
from brownout.history import History, OperationSeries

MAX_POINTS = 600  # chart resolution: a 1-hour run is drawn in 6 s bins


@dataclass(frozen=True)
class Binned:
    """A series re-binned to chart resolution; x in seconds from the start of the run."""

    x: list[float]
    rps: list[float]
    error_ratio: list[float | None]
    p95_ms: list[float | None]


def bin_width(history: History) -> float:
    start, end = run_span(history)
    bucket = history.manifest.bucket_s
    wanted = (end - start) / MAX_POINTS
    return max(bucket, bucket * round(wanted / bucket)) if wanted > bucket else bucket


def rebin(series: OperationSeries, run_start: float, width: float, bins: int) -> Binned:
    offsets = (np.asarray(series.times, dtype=np.float64) - run_start) / width
    groups = np.clip(np.trunc(offsets), 0, bins - 1).astype(np.int64)  # min(bins - 1, max(0, int(offset)))
    totals = _sum_by(groups, series.totals, bins)
    failed = _sum_by(groups, series.failed, bins)
    p95 = series.table.grouped(groups, bins).percentiles(0.95)
    return Binned(
        x=[(index + 0.5) * width for index in range(bins)],
        rps=[total / width for total in totals],
        error_ratio=[f / t if t else None for f, t in zip(failed, totals, strict=True)],
        p95_ms=[float(p) if p is not None else None for p in p95],
    )


def _sum_by(groups: npt.NDArray[np.int64], values: list[int], bins: int) -> list[int]:
    sums = np.zeros(bins, dtype=np.int64)
    np.add.at(sums, groups, np.asarray(values, dtype=np.int64))
    return [int(v) for v in sums.tolist()]


def timeline_chart_png(history: History) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_start, run_end = run_span(history)
    width = bin_width(history)
    bins = max(1, int((run_end - run_start) / width + 0.999))
    timeline = history.timeline
    overall = rebin(timeline.all_operations(), run_start, width, bins)
    figure, (throughput, errors, latency) = plt.subplots(3, 1, figsize=(12, 8), sharex=True, dpi=90)
    throughput.plot(overall.x, overall.rps, color="tab:blue", linewidth=1, label="all operations")
    throughput.set_ylabel("requests/s")
    throughput.set_ylim(bottom=0)
    errors.plot(overall.x, _nan(overall.error_ratio), color="tab:red", linewidth=1)
    errors.set_ylabel("error ratio")
    errors.set_ylim(-0.02, 1.02)
    latency.plot(overall.x, _nan(overall.p95_ms), color="black", linewidth=1.4, label="all operations")
    for operation in timeline.operations:
        binned = rebin(timeline.series[operation], run_start, width, bins)
        latency.plot(binned.x, _nan(binned.p95_ms), linewidth=0.8, alpha=0.7, label=operation)
    latency.set_ylabel("p95 ms")
    latency.set_xlabel(f"seconds since the start of the run (bins of {width:g} s)")
    latency.legend(loc="upper left", fontsize="small", ncol=3)
    for axes in (throughput, errors, latency):
        for window in fault_windows(history):
            axes.axvspan(window.start - run_start, window.end - run_start, color="tab:orange", alpha=0.18)
        for step in load_steps(history)[1:]:
            axes.axvline(step.start - run_start, color="tab:green", linestyle="--", linewidth=0.8)
        axes.grid(True, alpha=0.3)
    throughput.set_title("shaded: fault windows   dashed: load steps", fontsize="small", loc="right")
    figure.tight_layout()
    # tight_layout leaves a placeholder layout engine behind, which makes savefig draw everything twice.
    figure.set_layout_engine(None)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _nan(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]
