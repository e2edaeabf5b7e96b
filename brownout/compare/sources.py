"""Turn what the user typed for one side into runs: brownout results directories or Locust CSV prefixes.

One side may be several runs, given as a glob, a comma-separated list, the option repeated, or a directory
holding several `*_stats.csv` sets; they are pooled.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path

from brownout.compare.locust_csv import HISTORY_SUFFIX, STATS_SUFFIX
from brownout.errors import InputError
from brownout.history.records import READABLE_VERSIONS

BROWNOUT = "brownout"
LOCUST = "locust"
_MANIFEST = "manifest.json"
_LOCUST_SUFFIXES = (HISTORY_SUFFIX, STATS_SUFFIX, "_failures.csv", "_exceptions.csv")


@dataclass(frozen=True)
class RunSource:
    kind: str  # BROWNOUT (a results directory) or LOCUST (a `--csv` prefix)
    path: Path  # the directory, or the prefix such that `<prefix>_stats.csv` exists

    def __str__(self) -> str:
        return str(self.path) + ("/" if self.kind == BROWNOUT else "")


@dataclass(frozen=True)
class SideSources:
    role: str
    runs: tuple[RunSource, ...]

    @property
    def kind(self) -> str:
        return self.runs[0].kind


def resolve_side(role: str, arguments: list[str]) -> SideSources:
    runs: list[RunSource] = []
    for argument in arguments:
        for item in (part.strip() for part in argument.split(",")):
            if item:
                runs.extend(_expand(role, item))
    # By real path: `results/*` also matches the `latest` link `brownout run` leaves next to the runs.
    first: dict[tuple[str, Path], RunSource] = {}
    for run in runs:
        first.setdefault((run.kind, run.path.resolve()), run)
    unique = list(first.values())
    if not unique:
        raise InputError(f"{role}: no input given")
    kinds = {run.kind for run in unique}
    if len(kinds) > 1:
        listing = ", ".join(f"{run} ({run.kind})" for run in unique)
        raise InputError(
            f"{role}: mixes brownout results directories and plain Locust CSV sets ({listing}); give one kind per side"
        )
    return SideSources(role, tuple(unique))


def _expand(role: str, item: str) -> list[RunSource]:
    if any(char in item for char in "*?["):
        matches = sorted(glob.glob(item))
        if not matches:
            raise InputError(f"{role}: nothing matches {item!r}")
        found = [run for match in matches for run in _runs_at(role, Path(match), strict=False)]
        if not found:
            raise InputError(
                f"{role}: {item!r} matches {len(matches)} path(s) but none is a brownout results "
                "directory or a Locust --csv set (*_stats.csv)"
            )
        return found
    return _runs_at(role, Path(item), strict=True)


def _runs_at(role: str, path: Path, strict: bool) -> list[RunSource]:
    if path.is_dir():
        if (path / _MANIFEST).is_file():
            _check_manifest(path / _MANIFEST)
            return [RunSource(BROWNOUT, path)]
        prefixes = sorted(p.with_name(p.name[: -len(STATS_SUFFIX)]) for p in path.glob(f"*{STATS_SUFFIX}"))
        if prefixes:
            return [RunSource(LOCUST, prefix) for prefix in prefixes]
        if not strict:
            return []
        raise InputError(f"{role}: {path} is a directory with neither a brownout manifest.json nor any *{STATS_SUFFIX}")
    for suffix in _LOCUST_SUFFIXES:
        if path.name.endswith(suffix) and path.is_file():
            prefix = path.with_name(path.name[: -len(suffix)])
            if Path(f"{prefix}{STATS_SUFFIX}").is_file():
                return [RunSource(LOCUST, prefix)]
            if strict or suffix == STATS_SUFFIX:
                raise InputError(f"{role}: {path} has no companion {prefix}{STATS_SUFFIX}")
            return []
    if Path(f"{path}{STATS_SUFFIX}").is_file():
        return [RunSource(LOCUST, path)]
    if not strict:
        return []
    if path.exists():
        raise InputError(
            f"{role}: {path} is neither a brownout results directory, a Locust *{STATS_SUFFIX} file, "
            f"nor a --csv prefix (no {path}{STATS_SUFFIX})"
        )
    raise InputError(
        f"{role}: {path} not found (expected a brownout results directory, a Locust --csv prefix "
        f"such that {path}{STATS_SUFFIX} exists, or a directory holding *{STATS_SUFFIX})"
    )


def _check_manifest(path: Path) -> None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON manifest: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != "brownout-results":
        raise InputError(f'{path}: not a brownout results manifest ("format" is not "brownout-results")')
    if document.get("format_version") not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise InputError(
            f"{path}: results format_version {document.get('format_version')!r} is not supported (this "
            f"brownout reads version {readable})"
        )
