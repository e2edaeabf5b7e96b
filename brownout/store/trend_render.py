"""`brownout trend` output: trend.json, trend.md (a CI job summary) and trend.html (self-contained: one
small inline SVG per row, runs as dots, release medians as a line, change points as vertical marks)."""

from __future__ import annotations

import html
import json
from typing import Any

from brownout.compare.metrics import METRICS
from brownout.store.changes import ChangePoint
from brownout.store.trend import Trend, TrendRow

_W, _H, _PAD = 360, 92, 6  # one row's chart, in px
_LABELS = 12  # px under the plot for the release labels
_WORSE, _BETTER = "#b00020", "#1b7f3a"


def describe_change(row: TrendRow, change: ChangePoint) -> str:
    spec = METRICS[row.metric]
    moved = f" ({change.relative * 100:+.0f} %)" if change.relative is not None else ""
    way = "worse" if change.worse else "better"
    return f"{change.release}: {spec.describe(change.before)} -> {spec.describe(change.after)}{moved}, {way}"


def headline(trend: Trend) -> str:
    worse = trend.newest_worse()
    if not trend.releases:
        return "empty store: no trend"
    if not worse:
        return f"newest release {trend.releases[-1]}: no worse regime starts there"
    rows = ", ".join(f"{row.scope} {row.metric}" for row, _ in worse)
    return f"newest release {trend.releases[-1]} starts a worse regime on {len(worse)} row(s): {rows}"


def to_json(trend: Trend) -> str:
    document: dict[str, Any] = {
        "format": "brownout-trend", "format_version": 1, "releases": list(trend.releases),
        "newest_worse": [f"{row.scope_kind}:{row.scope}:{row.metric}" for row, _ in trend.newest_worse()],
        "rows": [_row_json(trend, row) for row in trend.rows],
    }  # fmt: skip
    return json.dumps(document, indent=2) + "\n"


def _row_json(trend: Trend, row: TrendRow) -> dict[str, Any]:
    return {
        "scope_kind": row.scope_kind, "scope": row.scope, "metric": row.metric,
        "runs": [{"release": trend.releases[i], "value": v} for i, v in row.runs],
        "medians": [{"release": trend.releases[i], "median": v} for i, v in row.medians],
        "change_points": [
            {"release": c.release, "before": c.before, "after": c.after, "relative": c.relative, "worse": c.worse}
            for c in row.changes
        ],
    }  # fmt: skip


def markdown(trend: Trend) -> str:
    lines = [f"## brownout trend: {len(trend.releases)} release(s)", "", f"**{headline(trend)}**", ""]
    lines += ["| scope | metric | newest median | change points |", "| --- | --- | --- | --- |"]
    for row in trend.rows:
        newest = METRICS[row.metric].describe(row.medians[-1][1]) + f" ({trend.releases[row.medians[-1][0]]})"
        changes = "; ".join(describe_change(row, c) for c in row.changes) or "none"
        lines.append(f"| {row.scope} | {row.metric} | {newest} | {changes} |")
    return "\n".join(lines) + "\n"


def render_html(trend: Trend) -> str:
    body = "".join(_html_row(trend, row) for row in trend.rows)
    bad = " bad" if trend.newest_worse() else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>brownout trend</title>"
        f"<style>{_STYLE}</style></head><body><h1>brownout trend</h1>"
        f"<p class='summary{bad}'>{html.escape(headline(trend))}</p>"
        f"<p>Releases, oldest first: {html.escape(', '.join(trend.releases))}. Dots: runs; line: release medians; "
        "vertical marks: change points (red worse, green better).</p>"
        "<table><tr><th>scope</th><th>metric</th><th>runs by release</th><th>change points</th></tr>"
        f"{body}</table></body></html>\n"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: middle; }
th { background: #f3f3f3; }
tr.worse td { background: #fde2e1; }
.summary { font-size: 1.2em; font-weight: bold; }
.summary.bad { color: #b00020; }
"""


def _html_row(trend: Trend, row: TrendRow) -> str:
    newest = len(trend.releases) - 1
    worse = " class='worse'" if any(c.index == newest and c.worse for c in row.changes) else ""
    changes = "<br>".join(html.escape(describe_change(row, c)) for c in row.changes) or "none"
    return (
        f"<tr{worse}><td>{html.escape(row.scope)}</td><td>{html.escape(row.metric)}</td>"
        f"<td>{chart_svg(trend, row)}</td><td>{changes}</td></tr>"
    )


def chart_svg(trend: Trend, row: TrendRow) -> str:
    """Runs as dots in their release's slot, the medians joined by a line, a change point as a vertical
    line at the left edge of the release it starts; the y range is printed at the left."""
    slots = max(1, len(trend.releases))
    values = [v for _, v in row.runs]
    low, high = min(values), max(values)
    span = (high - low) or max(abs(high), 1.0) * 0.1
    left, width = 44, _W - 44 - _PAD

    def x(index: float) -> float:
        return left + (index + 0.5) * width / slots

    def y(value: float) -> float:
        return _PAD + (1 - (value - low) / span) * (_H - 2 * _PAD - _LABELS)

    marks = [_dot(x(i) + _jitter(i, n, row), y(v)) for n, (i, v) in enumerate(row.runs)]
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in row.medians)
    marks.append(f"<polyline points='{line}' fill='none' stroke='#333' stroke-width='1.5'/>")
    for change in row.changes:
        edge = x(change.index - 0.5)
        colour = _WORSE if change.worse else _BETTER
        marks.append(
            f"<line x1='{edge:.1f}' y1='0' x2='{edge:.1f}' y2='{_H}' stroke='{colour}' stroke-width='2' "
            f"stroke-dasharray='4 2'><title>{html.escape(describe_change(row, change))}</title></line>"
        )
    spec = METRICS[row.metric]
    axis = (
        f"<text x='2' y='{_PAD + 8}' font-size='9'>{html.escape(spec.describe(high))}</text>"
        f"<text x='2' y='{_H - _PAD - _LABELS}' font-size='9'>{html.escape(spec.describe(low))}</text>"
        + "".join(
            f"<text x='{x(i):.1f}' y='{_H - 2}' font-size='9' text-anchor='middle'>{html.escape(label)}</text>"
            for i in _labelled(trend, row)
            if (label := trend.releases[i])
        )
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' role='img' "
        f"aria-label='{html.escape(row.scope)} {row.metric}'>{axis}{''.join(marks)}</svg>"
    )


def _labelled(trend: Trend, row: TrendRow) -> list[int]:
    """Every release when they fit, else the first, the last and those a change point starts."""
    if len(trend.releases) <= 10:
        return list(range(len(trend.releases)))
    return sorted({0, len(trend.releases) - 1, *(c.index for c in row.changes)})


def _dot(cx: float, cy: float) -> str:
    return f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='2.2' fill='#4a78b5' fill-opacity='0.7'/>"


def _jitter(index: int, order: int, row: TrendRow) -> float:
    """Spread a release's runs a little sideways, so five equal values show as five dots."""
    same = [n for n, (i, _) in enumerate(row.runs) if i == index]
    return (same.index(order) - (len(same) - 1) / 2) * 2.5 if len(same) > 1 else 0.0
