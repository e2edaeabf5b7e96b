"""brownout's options on Locust's command line (and, where they make sense, in its web UI form).

The start form also shows the scenario: its load plan (a one-choice list: it is display only) and each of
its faults as a checkbox, ticked. Locust builds its parser before it knows the option values, so the
scenario is read here from the command line (`--brownout-scenario`) or BROWNOUT_SCENARIO; a scenario that
does not load adds nothing (the plugin reports it properly when it starts).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO_ENV = "BROWNOUT_SCENARIO"


# Flag -> its argparse settings, in the order Locust shows them; the scenario's own switches (one per fault)
# go between the two groups.
_BEFORE_FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--brownout-scenario", dict(default=os.environ.get(DEFAULT_SCENARIO_ENV, ""), metavar="FILE",
     help="scenario TOML (load shape, faults, criteria, stack); default scenarios/default.toml")),
    ("--brownout-out", dict(default="", metavar="DIR",
     help="results directory of this run (default: results/<run-id>)")),
    ("--brownout-bucket", dict(type=float, default=0.25, metavar="SECONDS", help="timeline bucket width")),
    ("--brownout-progress", dict(type=float, default=0, metavar="SECONDS",
     help="print a progress line this often (0: never)")),
    ("--brownout-abort-on", dict(default="", metavar="FILE",
     help="kill switch: creating or touching FILE (or SIGUSR1) heals every fault and stops the test")),
)  # fmt: skip
_AFTER_FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--brownout-no-faults", dict(action="store_true", default=False, help="no faults at all: only the load",
     include_in_web_ui=True)),
    ("--brownout-ports", dict(default="ephemeral", metavar="fixed|ephemeral|LOW-HIGH",
     help="where the stack's ports come from")),
    ("--brownout-release", dict(default="", metavar="LABEL",
     help="the release label the manifest records (for `brownout store add`)")),
    ("--brownout-store", dict(default="", metavar="STORE",
     help="a run store (`brownout store add`): the report places the run against its last releases")),
    ("--brownout-faults", dict(default="", metavar="NAMES",
     help="or name them, comma-separated; empty: the ticked ones", include_in_web_ui=True)),
)  # fmt: skip


def add_options(parser: Any) -> None:
    # Locust's own parser (not an argument group) knows include_in_web_ui.
    for flag, settings in _BEFORE_FAULTS:
        parser.add_argument(flag, **{"include_in_web_ui": False, **settings})
    _add_scenario_options(parser)
    for flag, settings in _AFTER_FAULTS:
        parser.add_argument(flag, **{"include_in_web_ui": False, **settings})


def _add_scenario_options(group: Any) -> None:
    from brownout.plugin.plans import fault_plan, load_plan, option_keys

    scenario = _scenario_from_command_line()
    if scenario is None:
        return
    # dest "brownout": first in the form (Locust sorts by key), labelled "Brownout (load plan ...)".
    group.add_argument(
        "--brownout-load-plan", dest="brownout", default=load_plan(scenario.load), choices=[load_plan(scenario.load)],
        help=f"load plan of {scenario.path.name}, display only: edit the scenario to change it",
        include_in_web_ui=True,
    )  # fmt: skip
    for fault in scenario.faults:
        key = option_keys(scenario.faults)[fault.name]
        try:
            group.add_argument(
                "--" + key.replace("_", "-"), dest=key,
                action=argparse.BooleanOptionalAction, default=True,
                help=f"{fault_plan(fault)}", include_in_web_ui=True,
            )  # fmt: skip
        except argparse.ArgumentError:
            continue  # two names that differ only in punctuation: the names field still picks either


def _scenario_from_command_line() -> Any:
    from brownout.errors import BrownoutError
    from brownout.scenario.schema import load_scenario
    from brownout.scenario.shipped import DEFAULT_SCENARIO

    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--brownout-scenario", default=os.environ.get(DEFAULT_SCENARIO_ENV, ""))
    known, _ = peek.parse_known_args(sys.argv[1:])
    try:
        return load_scenario(known.brownout_scenario or DEFAULT_SCENARIO)
    except (BrownoutError, OSError):
        return None


def store_option(options: object) -> str:
    """--brownout-store as an absolute path: the report may run from another directory."""
    store = str(getattr(options, "brownout_store", "") or "")
    return str(Path(store).resolve()) if store else ""
