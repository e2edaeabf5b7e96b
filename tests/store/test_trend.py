"""`brownout trend`: change points over releases on a synthetic store, the exit code, and trend.html in a
real browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from brownout.cli import main as brownout_main
from brownout.store.db import Point
from brownout.store.trend import build_trend
from tests.store.helpers import browser_page, needs_chromium, screenshots, store_add, synthetic_run


def _store(root: Path, slow_releases: set[int], releases: int = 5, runs: int = 3) -> Path:
    """`releases` releases of `runs` runs; those in slow_releases 2.5x slower with a 4 s longer recovery."""
    path = root / "runs.db"
    for release in range(releases):
        slow = release in slow_releases
        made = [
            synthetic_run(root / f"r{release}-{k}", 100 * release + k, slowdown=2.5 if slow else 1.0,
                          recovery_s=6.0 if slow else 2.0)
            for k in range(runs)
        ]  # fmt: skip
        assert store_add(path, *made, release=f"v{release + 1}") == 0
    return path


@pytest.fixture(scope="module")
def slow_then_restored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _store(tmp_path_factory.mktemp("trend"), slow_releases={2})


def test_change_points_name_the_releases_and_nothing_else(slow_then_restored: Path, tmp_path: Path) -> None:
    assert brownout_main(["trend", str(slow_then_restored), "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "trend.json").read_text())
    assert document["releases"] == ["v1", "v2", "v3", "v4", "v5"]
    found = {
        (row["scope"], row["metric"]): [(c["release"], c["worse"]) for c in row["change_points"]]
        for row in document["rows"]
        if row["change_points"]
    }
    assert found[("Aggregated", "p50")] == [("v3", True), ("v4", False)]
    assert found[("upstream-down", "recovery_s")] == [("v3", True), ("v4", False)]
    assert {release for changes in found.values() for release, _ in changes} == {"v3", "v4"}
    assert "| Aggregated | p50 |" in (tmp_path / "trend.md").read_text()


def test_the_newest_release_starting_a_worse_regime_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, slow_releases={3}, releases=4, runs=2)
    assert brownout_main(["trend", str(store), "--out", str(tmp_path / "out")]) == 1
    assert "newest release v4 starts a worse regime" in capsys.readouterr().out
    assert "Aggregated:p50" in " ".join(json.loads((tmp_path / "out" / "trend.json").read_text())["newest_worse"])


def test_an_empty_or_missing_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert brownout_main(["trend", str(tmp_path / "none.db")]) == 2
    assert "no such store" in capsys.readouterr().err


@needs_chromium
def test_trend_html_in_a_browser(slow_then_restored: Path, tmp_path: Path) -> None:
    assert brownout_main(["trend", str(slow_then_restored), "--out", str(tmp_path)]) == 0
    with browser_page() as page:
        page.goto((tmp_path / "trend.html").as_uri())
        rows = page.locator("tr", has=page.locator("svg"))
        assert rows.count() == 20  # 4 operations x 4 metrics, 1 fault x 4 metrics
        recovery = page.locator("tr", has_text="recovery_s")
        assert recovery.locator("svg circle").count() == 15  # every run a dot
        assert recovery.locator("svg polyline").count() == 1  # the medians
        marks = recovery.locator("svg line")
        assert marks.count() == 2 and "v3: 2.00 s -> 6.00 s" in (marks.first.locator("title").text_content() or "")
        assert page.locator("text=v5").count() >= 1  # release labels under the charts
        page.screenshot(path=str(screenshots(tmp_path) / "trend.png"), full_page=True)


def test_a_tolerance_file_sets_what_counts_as_a_change(slow_then_restored: Path, tmp_path: Path) -> None:
    (tmp_path / "loose.toml").write_text("[default]\np50 = 5.0\np95 = 5.0\nerror_ratio = 1.0\nrecovery_s = 5.0\n")
    args = ["trend", str(slow_then_restored), "--out", str(tmp_path), "--tolerance", str(tmp_path / "loose.toml")]
    assert brownout_main(args) == 0
    document = json.loads((tmp_path / "trend.json").read_text())
    assert [row for row in document["rows"] if row["change_points"]] == []


def test_a_percentile_of_a_few_requests_is_left_out() -> None:
    def points(value_of: Callable[[int], float], requests: int) -> list[Point]:
        return [Point(n, f"run{n}", f"v{n // 2}", value_of(n), None, requests) for n in range(6)]

    series = {
        ("operation", "WS reconnect", "p50"): points(lambda n: 900.0 if n < 4 else 19.0, requests=3),
        ("operation", "GET /x", "p50"): points(lambda n: 20.0, requests=100),
    }
    trend = build_trend(["v0", "v1", "v2"], series)
    assert [(row.scope, row.medians) for row in trend.rows] == [("GET /x", ((0, 20.0), (1, 20.0), (2, 20.0)))]
