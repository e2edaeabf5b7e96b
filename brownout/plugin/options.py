"""brownout's options on Locust's command line (and, where they make sense, in its web UI form)."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_SCENARIO_ENV = "BROWNOUT_SCENARIO"


def add_options(parser: Any) -> None:
    # Locust's own parser (not an argument group) knows include_in_web_ui.
    group = parser
    group.add_argument(
        "--brownout-scenario", default=os.environ.get(DEFAULT_SCENARIO_ENV, ""), metavar="FILE",
        help="scenario TOML (load shape, faults, criteria, stack); default scenarios/default.toml",
        include_in_web_ui=False,
    )  # fmt: skip
    group.add_argument(
        "--brownout-out", default="", metavar="DIR",
        help="results directory of this run (default: results/<run-id>)", include_in_web_ui=False,
    )  # fmt: skip
    group.add_argument(
        "--brownout-bucket", type=float, default=0.25, metavar="SECONDS",
        help="timeline bucket width", include_in_web_ui=False,
    )  # fmt: skip
    group.add_argument(
        "--brownout-progress", type=float, default=0, metavar="SECONDS",
        help="print a progress line this often (0: never)", include_in_web_ui=False,
    )  # fmt: skip
    group.add_argument(
        "--brownout-no-faults", action="store_true", default=False,
        help="run the load without the scenario's faults", include_in_web_ui=True,
    )  # fmt: skip
    group.add_argument(
        "--brownout-ports", default="ephemeral", metavar="fixed|ephemeral|LOW-HIGH",
        help="where the stack's ports come from", include_in_web_ui=False,
    )  # fmt: skip
    group.add_argument(
        "--brownout-faults", default="", metavar="NAMES",
        help="only these of the scenario's faults (comma-separated names; empty: all)", include_in_web_ui=True,
    )  # fmt: skip
