"""`brownout report` on a run started with a run store: where the run sits against the store's last releases
(brownout.store.standing), and a missing store as one note, never a failure."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from brownout.cli import main as brownout_main
from brownout.history.readers import read_manifest
from brownout.plugin.options import store_option
from brownout.run.cli import locust_command
from brownout.scenario.schema import load_scenario
from brownout.scenario.shipped import DEFAULT_SCENARIO
from tests.store.helpers import browser_page, needs_chromium, screenshots, store_add, synthetic_run

TITLE = "## Against the release history"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six releases, oldest first: r1..r5 of one run each (r3 twice as slow), then base of five runs."""
    root = tmp_path_factory.mktemp("store")
    path = root / "runs.db"
    for i in range(1, 6):
        assert (
            store_add(path, synthetic_run(root / f"r{i}", 100 + i, slowdown=2.0 if i == 3 else 1.0), release=f"r{i}")
            == 0
        )
    assert store_add(path, *(synthetic_run(root / f"base-{i}", i) for i in range(5)), release="base") == 0
    return path


def _started_with(run: Path, store: Path | str) -> Path:
    """What `brownout run --store STORE` leaves in the manifest."""
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "store": str(store)}))
    return run


def _section(run: Path) -> list[str]:
    lines = (run / "report.md").read_text().splitlines()
    start = lines.index(TITLE)
    return lines[start + 2 : lines.index("", start + 2)]


def test_a_slower_run_sits_against_the_last_five_releases(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _started_with(synthetic_run(tmp_path / "slow", 50, slowdown=2.0), store)
    assert brownout_main(["report", str(run)]) == 0  # the history is context: the run's verdict is its own
    said = capsys.readouterr().out
    assert f"release history ({store}, against release base): regressed: Aggregated p50, Aggregated p95" in said
    # r1 is left out (the last five releases only); the verdicts are compare --store's against base
    assert _section(run) == [
        "| row | this run | r2 median | r3 median | r4 median | r5 median | base median (baseline) | vs base |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        "| Aggregated p50 | 78 ms | 39 ms | 77 ms | 40 ms | 39 ms | 39 ms | regressed |",
        "| Aggregated p95 | 380 ms | 190 ms | 370 ms | 190 ms | 190 ms | 200 ms | regressed |",
        "| Aggregated error_ratio | 6.87 % | 7.52 % | 7.57 % | 7.18 % | 7.53 % | 6.96 % | same |",
        "| Aggregated rps | 201.9/s | 198.2/s | 197.8/s | 200.9/s | 203.6/s | 200.6/s | same |",
        "| upstream-down availability | 70.98 % | 68.55 % | 68.85 % | 71.33 % | 69.09 % | 70.55 % | same |",
        "| upstream-down recovery_s | 2.00 s | 2.00 s | 2.00 s | 2.00 s | 2.00 s | 2.00 s | same |",
    ]
    history = json.loads((run / "verdict.json").read_text())["release_history"]
    assert history["releases"] == ["r2", "r3", "r4", "r5", "base"] and history["baseline_release"] == "base"
    assert history["rows"][0]["medians"] == [39.0, 77.0, 40.0, 39.0, 39.0]
    assert "Against the release history" in (run / "report.html").read_text()


def test_the_same_verdicts_as_compare_store(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _started_with(synthetic_run(tmp_path / "slow", 50, slowdown=2.0), store)
    assert brownout_main(["report", str(run), "--format", "json"]) == 0
    shown = {
        (r["scope"], r["metric"]): r["verdict"]
        for r in json.loads((run / "verdict.json").read_text())["release_history"]["rows"]
    }
    assert (
        brownout_main(["compare", "--store", str(store), str(run), "--out", str(tmp_path / "c"), "--format", "json"])
        == 1
    )
    compared = {
        (r["scope"], r["metric"]): r["verdict"]
        for r in json.loads((tmp_path / "c" / "comparison.json").read_text())["rows"]
    }
    assert shown == {key: compared[key] for key in shown}


def test_a_missing_store_is_one_note_not_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _started_with(synthetic_run(tmp_path / "run", 1), tmp_path / "gone.db")
    assert brownout_main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    note = f"release history left out: {tmp_path / 'gone.db'}: no such store"
    assert f"note: {note}" in out
    verdict = json.loads((run / "verdict.json").read_text())
    assert [n for n in verdict["notes"] if n.startswith("release history")] == [
        f"{note} (`brownout store add {tmp_path / 'gone.db'} RUN...` creates it)"
    ]
    assert verdict["release_history"]["rows"] == []
    assert TITLE not in (run / "report.md").read_text()


def test_an_unreadable_store_is_one_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.db").write_text("not sqlite")
    run = synthetic_run(tmp_path / "run", 1)
    assert brownout_main(["report", str(run), "--store", str(tmp_path / "junk.db")]) == 0
    assert (
        f"note: release history left out: {tmp_path / 'junk.db'}: not a readable brownout store"
        in capsys.readouterr().out
    )


def test_a_store_of_only_the_runs_own_release_shows_medians_without_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.db"
    assert store_add(store, *(synthetic_run(tmp_path / f"s{i}", i) for i in range(3))) == 0  # label: git rev
    run = _started_with(synthetic_run(tmp_path / "run", 9), store)
    assert brownout_main(["report", str(run)]) == 0
    section = _section(run)
    assert section[0] == "| row | this run | synthetic median | verdict |"
    assert all(line.endswith("| - |") for line in section[2:])
    assert "No verdicts: " in (run / "report.md").read_text()


def test_a_run_without_a_store_has_no_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = synthetic_run(tmp_path / "run", 1)
    assert brownout_main(["report", str(run)]) == 0
    assert "release_history" not in json.loads((run / "verdict.json").read_text())
    assert TITLE not in (run / "report.md").read_text()


def test_brownout_run_store_reaches_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = locust_command(
        load_scenario(DEFAULT_SCENARIO), Path("/tmp/x"), locustfile=Path("l.py"), workers=0, ui=False, host=None,
        store="runs.db",
    )  # fmt: skip
    assert argv[argv.index("--brownout-store") + 1] == str(tmp_path / "runs.db")
    assert store_option(SimpleNamespace(brownout_store="rel/runs.db")) == str(tmp_path / "rel" / "runs.db")
    assert store_option(SimpleNamespace(brownout_store="")) == ""
    run = _started_with(synthetic_run(tmp_path / "run", 1), "/srv/runs.db")
    assert read_manifest(run).store == "/srv/runs.db"


@needs_chromium
def test_the_section_in_a_browser(store: Path, tmp_path: Path) -> None:
    """What a reader sees: the baseline's column named, the regressed row standing out in red as a failed check
    does, the figures lined up on the right, the note saying what the verdicts are."""
    run = _started_with(synthetic_run(tmp_path / "slow", 50, slowdown=2.0), store)
    assert brownout_main(["report", str(run)]) == 0
    with browser_page() as page:
        page.goto((run / "report.html").as_uri())
        heading = page.locator("h2", has_text="Against the release history")
        table, note = heading.locator("xpath=following-sibling::table[1]"), heading.locator("xpath=following::p[1]")
        assert table.locator("th").all_text_contents() == [
            "row", "this run", "r2 median", "r3 median", "r4 median", "r5 median", "base median (baseline)", "vs base",
        ]  # fmt: skip
        cells = table.locator("tr", has_text="Aggregated p50").locator("td")
        assert cells.all_text_contents() == ["Aggregated p50", "78 ms", "39 ms", "77 ms", "40 ms", "39 ms", "39 ms",
                                             "regressed"]  # fmt: skip
        style = "e => [getComputedStyle(e).color, getComputedStyle(e).textAlign]"
        assert cells.last.evaluate(style) == ["rgb(176, 0, 32)", "left"]  # the failed checks' red
        assert cells.nth(1).evaluate(style) == ["rgb(34, 34, 34)", "right"] == cells.nth(6).evaluate(style)
        assert table.locator("td", has_text="same").first.evaluate(style) == ["rgb(34, 34, 34)", "left"]
        text = note.text_content() or ""
        assert "brownout compare --store against release base" in text and "headline rows" in text
        top, bottom, box = heading.bounding_box(), note.bounding_box(), table.bounding_box()
        assert "`" not in text and box["x"] + box["width"] < 1100  # no sideways scrolling for it
        page.screenshot(path=str(screenshots(tmp_path) / "release-history.png"), full_page=True, clip={
            "x": 0, "y": top["y"] - 8, "width": 1100, "height": bottom["y"] + bottom["height"] - top["y"] + 16,
        })  # fmt: skip
