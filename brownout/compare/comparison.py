"""Two sides' figures and the rows that compare them: the work behind `brownout compare`, without the CLI."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from brownout.compare.figures import Side
from brownout.compare.locust_csv import STATS_SUFFIX, read_locust_run
from brownout.compare.locust_side import locust_figures
from brownout.compare.metrics import FAULT, OPERATION
from brownout.compare.render_text import Comparison
from brownout.compare.sources import BROWNOUT, LOCUST, RunSource, SideSources
from brownout.compare.tolerance import StatsSettings, Tolerances, unmatched
from brownout.compare.verdict import compare_sides, family_level
from brownout.errors import InputError

_PARALLEL_BYTES = 4_000_000  # below this, starting a process costs more than it saves


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
    scopes = {kind: sorted(set(sides[0].scopes(kind)) | set(sides[1].scopes(kind))) for kind in (OPERATION, FAULT)}
    warnings = unmatched(tolerances, scopes[OPERATION], scopes[FAULT])
    return Comparison(
        sides[0], sides[1], rows, tuple(notes), tolerances.source, tolerances.stats.confidence, warnings
    )


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
