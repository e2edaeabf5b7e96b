"""`brownout store add/list`: what goes in, what is refused, and that an add is all or nothing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from brownout.cli import main as brownout_main
from brownout.history.readers import read_manifest
from brownout.run.cli import locust_command
from brownout.scenario.schema import load_scenario
from brownout.scenario.shipped import DEFAULT_SCENARIO
from brownout.store import db
from brownout.store.extract import RunRecord
from tests.store.helpers import locust_set, store_add, synthetic_run


def _runs(store: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(store) as connection:
        return connection.execute("SELECT name, release FROM runs ORDER BY seq").fetchall()


def test_add_list_and_the_same_run_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    one, two = synthetic_run(tmp_path / "one", 1), synthetic_run(tmp_path / "two", 2)
    assert store_add(store, one, two, release="v1") == 0
    assert store_add(store, one) == 0  # a no-op, whatever label the manifest would give
    assert "already in" in capsys.readouterr().out
    assert _runs(store) == [("one", "v1"), ("two", "v1")]
    assert brownout_main(["store", "list", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "release v1: 2 run(s)" in listing and "one (brownout, " in listing


def test_the_label_defaults_to_the_manifests_release_then_git_rev(tmp_path: Path) -> None:
    run = synthetic_run(tmp_path / "run", 1)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "git_rev": "abc123", "release": "2.4.0"}))
    assert read_manifest(run).release == "2.4.0"
    other = synthetic_run(tmp_path / "other", 2)
    (other / "manifest.json").write_text(
        json.dumps({**json.loads((other / "manifest.json").read_text()), "git_rev": "abc123"})
    )
    assert store_add(tmp_path / "s.db", run, other) == 0
    assert _runs(tmp_path / "s.db") == [("run", "2.4.0"), ("other", "abc123")]


def test_brownout_run_release_reaches_the_plugin() -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    argv = locust_command(
        scenario, Path("/tmp/x"), locustfile=Path("l.py"), workers=0, ui=False, host=None, release="2.4.0"
    )
    assert argv[argv.index("--brownout-release") + 1] == "2.4.0"
    assert "--brownout-release" not in locust_command(
        scenario, Path("/tmp/x"), locustfile=Path("l.py"), workers=0, ui=False, host=None
    )


def test_a_plain_locust_set_goes_in_with_its_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = locust_set(tmp_path / "kinto" / "run1")
    assert store_add(tmp_path / "s.db", prefix) == 2
    assert "pass --release LABEL" in capsys.readouterr().err
    assert store_add(tmp_path / "s.db", prefix, release="kinto-19") == 0
    assert _runs(tmp_path / "s.db") == [("run1", "kinto-19")]


def test_a_damaged_run_is_refused_naming_the_file_and_nothing_is_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = synthetic_run(tmp_path / "good", 1), synthetic_run(tmp_path / "bad", 2)
    timeline = (bad / "timeline.csv").read_text()
    (bad / "timeline.csv").write_text(timeline[: len(timeline) // 2])  # cut mid-line
    assert store_add(tmp_path / "s.db", good, bad, release="v1") == 2
    assert f"{bad}/timeline.csv, line" in capsys.readouterr().err
    assert _runs(tmp_path / "s.db") == []


def test_a_crash_mid_add_leaves_no_half_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "s.db"
    assert store_add(store, synthetic_run(tmp_path / "first", 1), release="v1") == 0
    real = db.add_runs

    def crashing(connection: sqlite3.Connection, records: list[RunRecord]) -> list[bool]:
        # The run's row goes in, then its last figure fails (NOT NULL) mid-transaction: all must roll back.
        broken = [replace(r, figures=(*r.figures[:-1], replace(r.figures[-1], value=None))) for r in records]
        return real(connection, broken)

    monkeypatch.setattr("brownout.store.cli.add_runs", crashing)
    assert store_add(store, synthetic_run(tmp_path / "second", 2), release="v1") == 2
    assert _runs(store) == [("first", "v1")]
    with sqlite3.connect(store) as connection:
        orphans = connection.execute("SELECT COUNT(*) FROM figures WHERE run_id NOT IN (SELECT run_id FROM runs)")
        assert orphans.fetchone()[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not sqlite at all, just text\n", "not a readable brownout store"), (None, "no such store")],
)
def test_a_store_that_is_not_one_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    store = tmp_path / "s.db"
    if content is not None:
        store.write_bytes(content)
    assert brownout_main(["store", "list", str(store)]) == 2
    assert message in capsys.readouterr().err


def test_an_sqlite_file_of_something_else_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "other.db"
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE t (x)")
    assert store_add(store, synthetic_run(tmp_path / "run", 1), release="v1") == 2
    assert "not a brownout store" in capsys.readouterr().err
