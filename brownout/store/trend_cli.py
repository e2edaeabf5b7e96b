"""`brownout trend STORE [--out DIR]`: per row, the series over the store's releases with change points;
writes trend.json, trend.md and trend.html; exit 1 when the newest release starts a worse regime."""

from __future__ import annotations

import argparse
from pathlib import Path

from brownout.arguments import Parser, writable_dir
from brownout.compare.tolerance import load_tolerances
from brownout.errors import InputError
from brownout.store.db import open_store, points, releases
from brownout.store.trend import build_trend
from brownout.store.trend_render import headline, markdown, render_html, to_json


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="brownout trend", description=__doc__.split("\n\n")[0].strip("`"))
    parser.add_argument("store", type=Path, metavar="STORE", help="a run store (brownout store add)")
    parser.add_argument("--tolerance", metavar="FILE", help="TOML tolerances: a change point counts beyond them")
    parser.add_argument(
        "--out", type=writable_dir, default=".", metavar="DIR", help="where to write trend.* (default .)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    with open_store(args.store) as connection:
        trend = build_trend(releases(connection), points(connection), load_tolerances(args.tolerance))
    if not trend.releases:
        raise InputError(f"{args.store}: the store holds no runs yet (brownout store add)")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, render in (("trend.json", to_json), ("trend.md", markdown), ("trend.html", render_html)):
            (out / name).write_text(render(trend), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    changes = sum(len(row.changes) for row in trend.rows)
    print(f"{len(trend.rows)} rows over {len(trend.releases)} releases, {changes} change point(s)")
    print(headline(trend))
    print(f"wrote {out / 'trend.json'}, {out / 'trend.md'}, {out / 'trend.html'}")
    return 1 if trend.newest_worse() else 0
