"""The `brownout` command: a thin dispatcher; each subcommand lives in the module that does the work."""

from __future__ import annotations

import importlib
import sys

from brownout.errors import BrownoutError

# subcommand -> (module[:function], one-line help): `main(argv: list[str]) -> int` of the command's package's
# cli.py unless another function is named.
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("brownout.stack.cli", "start/stop/inspect the sample target stack"),
    "proxy": ("brownout.proxy.cli", "run the Toxiproxy-compatible fault proxy"),
    "faults": ("brownout.faults.cli", "run a scenario's fault schedule without Locust"),
    "heal": ("brownout.faults.cli:heal_main", "heal the faults a killed run left in force (RESULTS_DIR)"),
    "init": ("brownout.scenario.cli", "write a starter scenario, locustfile and stack.toml for your own service"),
    "run": ("brownout.run.cli", "run a scenario: stack + Locust + faults -> results/<run-id>/"),
    "report": ("brownout.report.cli", "check a results directory and write the verdict and report"),
    "compare": ("brownout.compare.cli", "compare two result sets (brownout or plain Locust CSVs)"),
    "calibrate": ("brownout.compare.cli:calibrate_main", "tolerances for compare from several runs of one build"),
    "store": ("brownout.store.cli", "keep runs' figures by release in one file (store add / store list)"),
    "trend": ("brownout.store.trend_cli", "per-row series over the store's releases, with change points"),
}


def _usage() -> str:
    lines = ["usage: brownout COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"brownout: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, _, function = COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module_name), function or "main")
    try:
        return int(command(rest))
    except BrownoutError as exc:
        print(f"brownout {name}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"brownout {name}: interrupted", file=sys.stderr)
        return 130
