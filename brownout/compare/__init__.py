"""`brownout compare BASELINE CANDIDATE`: regression table between two result sets, exit 1 on regression.

Each side is a brownout results directory or a plain Locust `--csv` set from any project, or several runs
of either (glob, comma-separated list, or the option repeated) which are pooled. Reads files only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from brownout.arguments import Parser, writable_dir
from brownout.compare.figures import Side
from brownout.compare.locust_csv import STATS_SUFFIX, read_locust_run
from brownout.compare.locust_side import locust_figures
from brownout.compare.render_html import render_html
from brownout.compare.render_text import Comparison, markdown, terminal_table, to_json
from brownout.compare.sources import BROWNOUT, LOCUST, RunSource, SideSources, resolve_side
from brownout.compare.tolerance import StatsSettings, Tolerances, load_tolerances
from brownout.compare.verdict import compare_sides, family_level
from brownout.errors import InputError

FORMATS = ("md", "html", "json")
_PARALLEL_BYTES = 4_000_000  # below this, starting a process costs more than it saves


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


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
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


def compare(baseline: SideSources, candidate: SideSources, tolerances: Tolerances) -> Comparison:
    notes: list[str] = []
    if baseline.kind != candidate.kind:
        notes.append(
            f"baseline is {_kind_name(baseline.kind)}, candidate is {_kind_name(candidate.kind)}: comparing "
            "Locust's own statistics only (no timeline intervals, per-fault figures or integrity)"
        )
        sides = [_load_as_locust(baseline, tolerances.stats), _load_as_locust(candidate, tolerances.stats)]
    elif baseline.kind == BROWNOUT and _worth_two_processes(baseline, candidate):
        # Reading a long timeline is CPU-bound Python; the two sides are independent, so use two cores.
        # brownout.history and brownout.checks are imported once, here, rather than once in each child.
        import brownout.compare.results_side  # noqa: F401

        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(load_side, side, tolerances.stats) for side in (baseline, candidate)]
            sides = [future.result() for future in futures]
    else:
        sides = [load_side(baseline, tolerances.stats), load_side(candidate, tolerances.stats)]
    for side in sides:
        notes.extend(side.notes)
    rows = compare_sides(sides[0], sides[1], tolerances)
    level, judged = family_level(sides[0], sides[1], tolerances)
    if judged:
        notes.append(
            f"intervals: {tolerances.stats.confidence:.0%} for the table as a whole, i.e. "
            f"{level:.2%} for each of the {judged} rows with one (Bonferroni)"
        )
    return Comparison(sides[0], sides[1], rows, tuple(notes), tolerances.source, tolerances.stats.confidence)


def _worth_two_processes(*sides: SideSources) -> bool:
    timelines = [run.path / "timeline.csv" for side in sides for run in side.runs]
    size = sum(path.stat().st_size for path in timelines if path.is_file())
    return (os.cpu_count() or 1) > 1 and size > _PARALLEL_BYTES


def _kind_name(kind: str) -> str:
    return "a brownout results directory" if kind == BROWNOUT else "a plain Locust CSV set"


def load_side(sources: SideSources, settings: StatsSettings) -> Side:
    """One side's figures, from brownout results directories or Locust CSV sets."""
    if sources.kind == BROWNOUT:
        from brownout.compare.results_side import results_side  # needs brownout.history's readers

        return results_side(sources, settings)
    return _load_as_locust(sources, settings)


def _load_as_locust(sources: SideSources, settings: StatsSettings) -> Side:
    runs = [read_locust_run(prefix) for prefix in _locust_prefixes(sources.runs)]
    notes = tuple(note for run in runs for note in run.notes)
    figures = locust_figures(runs, sources.role, settings)
    return Side(sources.role, LOCUST, tuple(str(run) for run in sources.runs), figures, notes)


def _locust_prefixes(runs: tuple[RunSource, ...]) -> list[Path]:
    prefixes: list[Path] = []
    for run in runs:
        if run.kind == LOCUST:
            prefixes.append(run.path)
            continue
        found = sorted(run.path.glob(f"*{STATS_SUFFIX}"))
        if not found:
            raise InputError(f"{run.path}: brownout results directory without Locust's *{STATS_SUFFIX}")
        if len(found) > 1:
            raise InputError(f"{run.path}: several *{STATS_SUFFIX} files ({', '.join(p.name for p in found)})")
        prefixes.append(found[0].with_name(found[0].name[: -len(STATS_SUFFIX)]))
    return prefixes


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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
