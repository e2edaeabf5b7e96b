"""`brownout compare BASELINE CANDIDATE`: regression table between two result sets, exit 1 on regression.

Each side is a brownout results directory or a plain Locust `--csv` set from any project, or several runs
of either (glob, comma-separated list, or the option repeated) which are pooled. Reads files only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brownout.arguments import Parser, writable_dir
from brownout.compare.calibrate import calibrate_runs, render_toml
from brownout.compare.comparison import compare
from brownout.compare.metrics import FAULT, OPERATION
from brownout.compare.render_html import render_html
from brownout.compare.render_text import Comparison, markdown, terminal_table, to_json
from brownout.compare.sources import resolve_side
from brownout.compare.tolerance import load_tolerances
from brownout.errors import InputError

FORMATS = ("md", "html", "json")


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="brownout compare",
        description="Compare a candidate result set against a baseline; exit 1 on any regression.",
        epilog="A side is a brownout results directory, a Locust --csv prefix (PREFIX_stats.csv), a "
        "*_stats.csv file, a directory of them, a glob, or a comma-separated list; several runs are pooled.",
    )
    parser.add_argument("baseline", nargs="?", help="baseline result set(s)")
    parser.add_argument("candidate", nargs="?", help="candidate result set(s)")
    parser.add_argument(
        "-b",
        "--baseline",
        dest="baselines",
        action="append",
        default=[],
        metavar="RUNS",
        help="a baseline run (repeatable; instead of the positional BASELINE)",
    )
    parser.add_argument(
        "-c",
        "--candidate",
        dest="candidates",
        action="append",
        default=[],
        metavar="RUNS",
        help="a candidate run (repeatable; instead of the positional CANDIDATE)",
    )
    parser.add_argument("--tolerance", metavar="FILE", help="TOML tolerances (see README 'Comparing releases')")
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        metavar="md|html|json",
        help="files to write (repeatable or comma-separated; default: all three)",
    )
    parser.add_argument(
        "--out", type=writable_dir, metavar="DIR",
        help="where to write comparison.* (default: candidate directory, else .)",
    )
    return parser


def _with_store_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--store", type=Path, metavar="STORE",
        help="judge the one positional CANDIDATE against the spread between a release's runs in this run store",
    )  # fmt: skip
    parser.add_argument(
        "--baseline-release", metavar="LABEL",
        help="with --store: the release to compare with (default: the newest one other than the candidate's)",
    )  # fmt: skip
    return parser


def main(argv: list[str]) -> int:
    args = _with_store_arguments(_parser()).parse_args(argv)
    if args.store is not None:
        return _main_with_store(args)
    if args.baseline_release is not None:
        raise InputError("--baseline-release needs --store STORE")
    baseline_args = _side_arguments("baseline", args.baseline, args.baselines)
    candidate_args = _side_arguments("candidate", args.candidate, args.candidates)
    formats = _formats(args.formats)
    tolerances = load_tolerances(args.tolerance)
    comparison = compare(resolve_side("baseline", baseline_args), resolve_side("candidate", candidate_args), tolerances)
    out = Path(args.out) if args.out else _default_out(candidate_args)
    written = write_outputs(comparison, out, formats)
    print(terminal_table(comparison))
    if written:
        print("wrote " + ", ".join(str(path) for path in written))
    return comparison.exit_code


def _main_with_store(args: argparse.Namespace) -> int:
    """`compare --store STORE CANDIDATE`: the one positional argument (or --candidate) is the candidate."""
    from brownout.store.against import compare_with_store

    if args.baselines or (args.baseline and args.candidate):
        raise InputError("--store STORE takes the baseline from the store: give only the CANDIDATE")
    candidate_args = _side_arguments("candidate", args.baseline, args.candidates)
    tolerances = load_tolerances(args.tolerance)
    comparison = compare_with_store(
        args.store, resolve_side("candidate", candidate_args), tolerances, args.baseline_release
    )
    out = Path(args.out) if args.out else _default_out(candidate_args)
    written = write_outputs(comparison, out, _formats(args.formats))
    print(terminal_table(comparison))
    if written:
        print("wrote " + ", ".join(str(path) for path in written))
    return comparison.exit_code


def _side_arguments(role: str, positional: str | None, options: list[str]) -> list[str]:
    given = ([positional] if positional else []) + options
    if not given:
        raise InputError(f"no {role} given: brownout compare BASELINE CANDIDATE (or --{role} RUNS)")
    return given


def _formats(requested: list[str] | None) -> tuple[str, ...]:
    if not requested:
        return FORMATS
    chosen = [item.strip() for value in requested for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in FORMATS]
    if unknown:
        raise InputError(f"--format: unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(chosen))


def _default_out(candidate_args: list[str]) -> Path:
    if len(candidate_args) == 1 and "," not in candidate_args[0] and Path(candidate_args[0]).is_dir():
        return Path(candidate_args[0])
    return Path.cwd()


def write_outputs(comparison: Comparison, out: Path, formats: tuple[str, ...]) -> list[Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            path = out / f"comparison.{fmt}"
            render = {"md": markdown, "html": render_html, "json": to_json}[fmt]
            path.write_text(render(comparison), encoding="utf-8")
            written.append(path)
        return written
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def _calibrate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brownout calibrate",
        description="Write a tolerance file for `brownout compare --tolerance` from the spread of several "
        "runs of the same build (at least 3; more give tighter, surer tolerances).",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="results directories (or globs) of one build")
    parser.add_argument("--out", required=True, metavar="FILE", help="the tolerance TOML to write")
    return parser


def calibrate_main(argv: list[str]) -> int:
    """`brownout calibrate RUN RUN RUN... --out tolerance.toml`."""
    args = _calibrate_parser().parse_args(argv)
    sources = resolve_side("calibration", list(args.runs))
    calibrated = calibrate_runs(sources)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_toml(calibrated, [str(run) for run in sources.runs]), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    operations = len({c.scope for c in calibrated if c.scope_kind == OPERATION})
    faults = len({c.scope for c in calibrated if c.scope_kind == FAULT})
    print(
        f"wrote {out}: {len(calibrated)} tolerances for {operations} operation(s) and {faults} fault(s) "
        f"from {len(sources.runs)} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
