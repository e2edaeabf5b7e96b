"""One colour per fault kind, shared by the report's charts and the web UI's live chart.

Kinds added later (another helper's resource kinds, anyone's own) fall back to DEFAULT_COLOUR until they
get an entry; network toxics of every type are `network` and share its colour.
"""

from __future__ import annotations

import json

DEFAULT_COLOUR = "#ff7f0e"  # matplotlib's tab:orange
KIND_COLOURS = {
    "network": "#1f77b4", "component": "#d62728", "app": "#9467bd", "http": "#2ca02c", "command": "#8c564b",
    "partition": "#17becf",
    # resource faults on a component (CPU starvation, memory pressure, disk, clock), by whichever name lands
    "resource": "#bcbd22", "cpu": "#bcbd22", "memory": "#e377c2", "disk": "#7f7f7f", "clock": "#aec7e8",
}  # fmt: skip


def colour_of(kind: str) -> str:
    return KIND_COLOURS.get(kind, DEFAULT_COLOUR)


def colours_as_js() -> str:
    """The table as a JavaScript object literal for the live chart."""
    return json.dumps(KIND_COLOURS)
