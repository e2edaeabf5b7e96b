"""`brownout store add STORE RUN... [--release LABEL]` and `brownout store list STORE`: the run store
(one SQLite file) that `brownout compare --store` and `brownout trend` read."""

from __future__ import annotations

import argparse
from pathlib import Path

from brownout.arguments import Parser
from brownout.compare.sources import resolve_side
from brownout.errors import InputError
from brownout.store.db import add_runs, known, list_runs, open_store
from brownout.store.extract import RunRecord, read_run, run_identity


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brownout store", description="Keep runs' figures, labelled by release, in one file.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="add|list")
    add = commands.add_parser("add", help="add runs (brownout results directories or Locust CSV sets)")
    add.add_argument("store", type=Path, metavar="STORE", help="the store file (created if absent)")
    add.add_argument("runs", nargs="+", metavar="RUN", help="results directories, Locust --csv prefixes, globs")
    add.add_argument(
        "--release", metavar="LABEL", help="release label (default: the manifest's release, else its git rev)"
    )
    listing = commands.add_parser("list", help="list the stored runs by release")
    listing.add_argument("store", type=Path, metavar="STORE")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "add":
        return _add(args.store, args.runs, args.release)
    return _list(args.store)


def _add(store: Path, arguments: list[str], release: str | None) -> int:
    if release is not None and not release.strip():
        raise InputError("--release: an empty label names no release")
    sources = resolve_side("run", arguments)
    with open_store(store, create=True) as connection:
        # Every run is read (and a damaged one refused) before any is added: all of them go in, or none.
        fresh = [run for run in sources.runs if not known(connection, run_identity(run))]
        records = [_labelled(read_run(run, release), str(run)) for run in fresh]
        added = add_runs(connection, records)
    for run in sources.runs:
        if run not in fresh:
            print(f"{run}: already in {store}")
    for record, new in zip(records, added, strict=True):
        print(f"{record.source}: {'added' if new else 'already in the store'} as release {record.label} "
              f"({len(record.figures)} figures)")  # fmt: skip
    return 0


def _labelled(record: RunRecord, shown: str) -> RunRecord:
    if not record.label:
        raise InputError(
            f"{shown}: no release label (its manifest names neither a release nor a git rev); pass --release LABEL"
        )
    return record


def _list(store: Path) -> int:
    with open_store(store) as connection:
        runs = list_runs(connection)
    if not runs:
        print(f"{store}: empty")
        return 0
    order: dict[str, list[str]] = {}
    for run in runs:
        order.setdefault(run.release, []).append(f"{run.name} ({run.kind}, {run.figures} figures, id {run.run_id})")
    for release, names in order.items():
        print(f"release {release}: {len(names)} run(s)")
        for name in names:
            print(f"  {name}")
    return 0
