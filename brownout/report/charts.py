"""The report's chart: throughput, error ratio and p95 over time, fault windows shaded, load steps marked.

Rendered with matplotlib's Agg backend to PNG bytes (embedded in report.html as base64). Requests/s are
counted in bins of at least one second (0.25 s buckets of a few users swing between 0 and 20). Each fault
window is coloured by kind (the web UI's colours) and named in its own lane above the panels, so windows
that overlap stay apart; legends sit to the right of the panels, outside the data."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from brownout.checks.load import load_steps
from brownout.checks.windows import FaultWindow, fault_windows, run_span
from brownout.faults.describe import band_key, describe_fault
from brownout.history import History, OperationSeries
from brownout.report.colours import colour_of

MAX_POINTS = 600  # chart resolution: a 1-hour run is drawn in 6 s bins
MIN_BIN_S = 1.0
LABEL_CHARS = 150  # how many characters of a lane's label fit across the panels (13 in at 90 dpi, small font)
_HATCHES = ("", "//", "\\\\", "..")  # overlapping windows lie in different lanes: each lane its own hatch


@dataclass(frozen=True)
class Binned:
    """A series re-binned to chart resolution; x in seconds from the start of the run."""

    x: list[float]
    rps: list[float]
    error_ratio: list[float | None]
    p95_ms: list[float | None]


def bin_width(history: History) -> float:
    """A whole number of buckets, at least MIN_BIN_S, and coarse enough for MAX_POINTS over the run."""
    start, end = run_span(history)
    bucket = history.manifest.bucket_s
    wanted = max(MIN_BIN_S, (end - start) / MAX_POINTS)
    return max(bucket, bucket * round(wanted / bucket + 0.4999))


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
    windows = fault_windows(history)
    # A window takes its lane as far as its label reaches, so a long label never runs into the next window's.
    label_s = (run_end - run_start) / LABEL_CHARS
    lanes = _lanes([(w.start, max(w.end, w.start + label_s * (len(lane_label(w)) + 2))) for w in windows])
    lane_count = max(lanes, default=-1) + 1
    figure, axes = plt.subplots(
        4, 1, figsize=(13, 8.2 + 0.25 * lane_count), sharex=True, dpi=90,
        gridspec_kw={"height_ratios": [0.35 + 0.3 * lane_count, 3, 2, 3]},
    )  # fmt: skip
    names, throughput, errors, latency = axes
    _plot_overall(throughput, errors, latency, overall, width)
    for operation in timeline.operations:
        binned = rebin(timeline.series[operation], run_start, width, bins)
        latency.plot(binned.x, _nan(binned.p95_ms), linewidth=0.8, alpha=0.7, label=operation)
    latency.set_xlabel(f"seconds since the start of the run (bins of {width:g} s)")
    _draw_fault_lanes(names, windows, lanes, run_start, lane_count)
    for axis in (throughput, errors, latency):
        _mark_windows(axis, windows, lanes, run_start)
        for step in load_steps(history)[1:]:
            axis.axvline(step.start - run_start, color="tab:green", linestyle="--", linewidth=0.8)
        axis.grid(True, alpha=0.3)
    _legends(figure, throughput, latency, windows)
    figure.subplots_adjust(left=0.07, right=0.77, top=0.97, bottom=0.07, hspace=0.12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _plot_overall(throughput: Any, errors: Any, latency: Any, overall: Any, width: float) -> None:
    throughput.plot(overall.x, overall.rps, color="tab:blue", linewidth=1.2, label="all operations")
    throughput.set_ylabel(f"requests/s\n({width:g} s bins)")
    throughput.set_ylim(bottom=0)
    errors.plot(overall.x, _nan(overall.error_ratio), color="tab:red", linewidth=1, label="all operations")
    errors.set_ylabel("error ratio")
    errors.set_ylim(-0.02, 1.02)
    latency.plot(overall.x, _nan(overall.p95_ms), color="black", linewidth=1.4, label="p95, all operations")
    latency.set_ylabel("p95 ms")


def _mark_windows(axis: Any, windows: list[FaultWindow], lanes: list[int], run_start: float) -> None:
    """Each fault window as a band in its kind's colour, hatched by lane, with its edges drawn."""
    for window, lane in zip(windows, lanes, strict=True):
        colour = _colour(window)
        start, end = window.start - run_start, window.end - run_start
        axis.axvspan(start, end, facecolor=colour, alpha=0.10, linewidth=0, hatch=_HATCHES[lane % len(_HATCHES)],
                     edgecolor=colour)  # fmt: skip
        for edge in (start, end):
            axis.axvline(edge, color=colour, linewidth=0.9, alpha=0.8)


def _lanes(spans: list[tuple[float, float]]) -> list[int]:
    """A lane per window, the lowest free one, so overlapping windows never share a lane."""
    ends: list[float] = []
    lanes = []
    for start, end in spans:
        lane = next((i for i, last in enumerate(ends) if last <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        ends[lane] = end
        lanes.append(lane)
    return lanes


def _draw_fault_lanes(axis: Any, windows: list[FaultWindow], lanes: list[int], run_start: float, count: int) -> None:
    axis.set_ylim(max(count, 1), 0)
    axis.set_yticks([])
    axis.set_ylabel("faults", rotation=0, ha="right", va="center")
    for side in ("top", "right", "left"):
        axis.spines[side].set_visible(False)
    if not windows:
        axis.text(0.01, 0.5, "no fault windows", transform=axis.transAxes, va="center", fontsize="small", color="#666")
    for window, lane in zip(windows, lanes, strict=True):
        colour = _colour(window)
        start = window.start - run_start
        axis.barh(lane + 0.5, window.end - window.start, left=start, height=0.8, color=colour, alpha=0.6,
                  hatch=_HATCHES[lane % len(_HATCHES)], edgecolor=colour)  # fmt: skip
        axis.text(start, lane + 0.5, f" {lane_label(window)}", va="center", ha="left", fontsize="small",
                  color="black", clip_on=False)  # fmt: skip


def _legends(figure: Any, throughput: Any, latency: Any, windows: list[FaultWindow]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    marks: list[Any] = [Patch(color=colour, alpha=0.5, label=label) for colour, label in legend_bands(windows)]
    marks.append(Line2D([], [], color="tab:green", linestyle="--", linewidth=0.8, label="load step"))
    throughput.legend(handles=marks, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    latency.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def lane_label(window: FaultWindow) -> str:
    """A fault's name in its lane, with its kind as people read it: "gateway-cpu (resource cpu 2 hogs)"."""
    ended = "" if window.heal is not None else " (not healed)"
    return f"{window.label} ({describe_fault(window.fault.kind, window.fault.params)}){ended}"


def legend_bands(windows: list[FaultWindow]) -> list[tuple[str, str]]:
    """(colour, label) per colour on the chart: a kind, or a resource fault's resource ("resource cpu fault")."""
    bands = {band_key(w.fault.kind, w.fault.params): w.fault.kind for w in windows}
    ordered = sorted(bands.items(), key=lambda item: (item[1], item[0]))
    return [(colour_of(band), " ".join(dict.fromkeys((kind, band))) + " fault") for band, kind in ordered]


def _colour(window: FaultWindow) -> str:
    """Its kind's colour; a resource fault's resource's (cpu, memory, disk, clock), as on the web UI's chart."""
    return colour_of(band_key(window.fault.kind, window.fault.params))


def _nan(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]
