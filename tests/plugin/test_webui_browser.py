"""The web UI as a new user meets it: Debian's Chromium driven by Playwright against a real Locust running the
smoke scenario. Two tests in one session, an unknown fault name, the fault windows on the chart, the report
one click away, an http_error toxic and a CPU hog injected and healed from the page's form. Screenshots go to
$BROWNOUT_SCREENSHOTS (default: the test's tmp dir), printed at the end.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brownout.history import load_history
from tests.helpers import wait_until
from tests.plugin.locust_ui import UI_WAIT_S, LocustUI, locust_ui

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium"),
    pytest.mark.timeout(300),  # a Locust with its stack, two tests, two write-ups
]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocustUI]:
    with locust_ui(tmp_path_factory.mktemp("browser")) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = Path(os.environ.get("BROWNOUT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nscreenshots: {folder}")


def _locust_total(run_dir: Path) -> int:
    with (run_dir / "locust_stats.csv").open() as handle:
        return next(int(row["Request Count"]) for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


def _open_start_form(page: Any) -> None:
    if page.get_by_role("button", name="New").count():
        page.get_by_role("button", name="New").click()
    page.get_by_text("Custom parameters").click()


HTTP_ERROR, CPU = "manual-1-upstream-http_error", "manual-2-gateway-cpu"


def _inject_by_hand(faults: Any, kind: str, target: str, **fields: str) -> None:
    """The "Any fault" form: the kind first (it shows that kind's fields only), then the target and the fields."""
    form = faults.locator("#any-fault")
    form.locator("#kind").select_option(kind)
    form.locator("input[name=target]").fill(target)
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.get_by_role("button", name="inject now").click()
    faults.wait_for_load_state()


def _row(faults: Any, name: str, state: str) -> None:
    faults.locator("#faults tr", has=faults.locator("td", has_text=name)).filter(has_text=state).wait_for(
        timeout=15_000)


def _inject_and_heal_by_hand(faults: Any, ui: LocustUI, shots: Path) -> None:
    """An http_error toxic (503 + Retry-After for /v1/) on the upstream proxy and one CPU hog beside the gateway,
    from the form; both in the faults table with their kinds in words, then healed with their buttons."""
    faults.goto(f"{ui.url}/brownout/faults#inject")
    faults.select_option("#kind", "network-http_error")
    assert faults.locator("input[name=status]").is_visible() and faults.locator("input[name=headers]").is_visible()
    assert not faults.locator("input[name=cpus]").is_visible()
    assert not faults.locator("input[name=latency_ms]").is_visible()
    faults.locator("#any-fault").screenshot(path=shots / "8-form-http_error.png")
    _inject_by_hand(faults, "network-http_error", "upstream", status="503", headers="Retry-After: 1",
                    path_prefix="/v1/")
    _row(faults, HTTP_ERROR, "active")
    faults.select_option("#kind", "resource-cpu")
    assert faults.locator("input[name=cpus]").is_visible() and not faults.locator("input[name=status]").is_visible()
    faults.locator("#any-fault").screenshot(path=shots / "9-form-resource-cpu.png")
    _inject_by_hand(faults, "resource-cpu", "gateway", cpus="1")
    _row(faults, CPU, "active")
    rows = ui.rows()
    assert rows[HTTP_ERROR]["kind"] == "network http_error 503 Retry-After 1 for /v1/"
    assert rows[CPU]["kind"] == "resource cpu 1 hog"
    faults.wait_for_timeout(2500)  # a refresh: both bands on the chart
    faults.screenshot(path=shots / "10-faults-by-hand-active.png", full_page=True)
    for name in (HTTP_ERROR, CPU):
        row = faults.locator("#faults tr", has=faults.locator("td", has_text=name))
        row.get_by_role("button", name="heal now").click()
        faults.wait_for_load_state()
        _row(faults, name, "healed")
    faults.screenshot(path=shots / "11-faults-by-hand-healed.png", full_page=True)


def test_two_tests_in_one_session_are_two_complete_runs_with_faults_on_the_chart(
    ui: LocustUI, browser: Any, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{ui.url}/")
    _open_start_form(page)
    form = page.locator("form")
    assert form.get_by_text("3 users (+3/s) for 12s, then 5 users (+5/s) for 23s").count() == 1  # the load plan
    assert page.locator("input[name=brownoutFaultUpstreamSlow]").is_checked()
    assert page.locator("input[name=brownoutFaultUpstreamErrors]").is_checked()
    page.screenshot(path=shots / "1-start-form.png", full_page=True)

    _an_unknown_name_is_refused(page, ui, shots)
    faults = _test_one_with_the_scenarios_faults(page, browser, ui, shots)

    # Test 2 from Locust's "New" form, no faults ticked this time: two injected and healed by hand; stopped early.
    page.goto(f"{ui.url}/")
    _open_start_form(page)
    page.locator("input[name=brownoutFaultUpstreamSlow]").uncheck()
    page.locator("input[name=brownoutFaultUpstreamErrors]").uncheck()
    page.get_by_role("button", name="Start").click()
    assert wait_until(lambda: ui.state() in ("spawning", "running"), UI_WAIT_S), "waiting for test 2 to start"
    _inject_and_heal_by_hand(faults, ui, shots)
    page.get_by_role("button", name="Stop").click()
    assert wait_until(lambda: ui.state() == "stopped", UI_WAIT_S), "waiting for test 2 to stop"
    _test_two_written_up(page, faults, ui, shots)
    _both_runs_are_complete(ui)


def _an_unknown_name_is_refused(page: Any, ui: LocustUI, shots: Path) -> None:
    page.locator("input[name=brownoutFaults]").fill("upstream-slow, nosuch")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("no fault nosuch").wait_for(timeout=10_000)
    page.screenshot(path=shots / "2-unknown-fault-refused.png", full_page=True)
    assert ui.state() == "ready" and ui.page_state()["tests"] == []


def _test_one_with_the_scenarios_faults(page: Any, browser: Any, ui: LocustUI, shots: Path) -> Any:
    """Test 1, all faults: the faults page draws the window of upstream-slow (+3 s) over the series; its report
    is one click away once written up. The faults page, for what follows."""
    page.locator("input[name=brownoutFaults]").fill("")
    page.get_by_role("button", name="Start").click()
    assert wait_until(lambda: ui.state() in ("spawning", "running"), UI_WAIT_S), "waiting for test 1 to start"
    faults = browser.new_page(viewport={"width": 1280, "height": 1100})
    faults.goto(f"{ui.url}/brownout/faults")
    faults.locator("rect.fault-band[data-fault=upstream-slow]").first.wait_for(timeout=15_000)
    faults.locator("path.series-rps").wait_for(timeout=10_000)
    faults.wait_for_timeout(2500)  # one more refresh: the band grows, the series goes on
    faults.screenshot(path=shots / "3-faults-page-chart.png", full_page=True)
    faults.select_option("#kind", "network-latency")  # the hand-made form shows only that kind's fields
    assert faults.locator("input[name=latency_ms]").is_visible()
    assert not faults.locator("input[name=error_rate]").is_visible()
    faults.select_option("#kind", "app-errors")
    assert faults.locator("input[name=error_rate]").is_visible()
    assert not faults.locator("input[name=latency_ms]").is_visible()
    page.goto(f"{ui.url}/?tab=faults")
    page.get_by_text("upstream-slow").first.wait_for()
    page.screenshot(path=shots / "4-locust-faults-tab.png", full_page=True)
    page.get_by_role("button", name="Stop").click()
    assert wait_until(lambda: ui.state() == "stopped", UI_WAIT_S), "waiting for test 1 to stop"
    ui.wait_written_up(1)
    faults.locator("#test-list a", has_text="report.html").first.click()
    faults.get_by_text("brownout verdict").first.wait_for(timeout=10_000)
    faults.screenshot(path=shots / "5-report-of-test-1.png", full_page=True)
    return faults


def _test_two_written_up(page: Any, faults: Any, ui: LocustUI, shots: Path) -> None:
    """Its report names the faults injected by hand with their kinds; its folder; both tests listed."""
    second = ui.wait_written_up(2)
    report = (ui.out.with_name(f"{ui.out.name}-2") / "report.md").read_text()  # the faults by hand, in words
    assert "network http_error 503 Retry-After 1 for /v1/ on upstream" in report
    assert "resource cpu 1 hog on gateway" in report
    page.goto(f"{ui.url}/brownout/tests/2/report.html")
    page.screenshot(path=shots / "12-report-of-test-2.png", full_page=True)
    assert {f["name"] for f in second["files"]} >= {"report.html", "report.md", "junit.xml"}
    page.goto(f"{ui.url}/brownout/tests/latest/")
    page.screenshot(path=shots / "6-results-folder-of-test-2.png", full_page=True)
    assert page.get_by_text("locust_stats.csv").count() == 1
    faults.goto(f"{ui.url}/brownout/faults#tests")
    faults.locator("#test-list li").nth(1).wait_for()
    faults.screenshot(path=shots / "7-faults-page-after-two-tests.png", full_page=True)


def _both_runs_are_complete(ui: LocustUI) -> None:
    first, latest = ui.out, ui.out.with_name(f"{ui.out.name}-2")
    for run_dir in (first, latest):
        history = load_history(run_dir)
        assert _locust_total(run_dir) == history.timeline.window(0, 1e12).total > 0  # only its own requests
        assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()
    with (latest / "faults.csv").open() as handle:  # test 2 ran without the scenario's faults, with ours by hand
        journal = {row["name"]: row for row in csv.DictReader(handle)}
    assert {name: (row["kind"], row["outcome"]) for name, row in journal.items()} == {
        HTTP_ERROR: ("network", "healed"), CPU: ("resource", "healed")}
    assert json.loads(journal[HTTP_ERROR]["params"])["attributes"] == {
        "path_prefix": "/v1/", "status": 503, "headers": {"Retry-After": "1"}}
    assert json.loads(journal[CPU]["params"])["cpus"] == 1
    assert len(json.loads(journal[CPU]["evidence"])["hog_pids"]) == 1
    for run_dir in (first, latest):  # each ledger holds its own test's acknowledgements, not the sum so far
        integrity = json.loads((run_dir / "integrity.json").read_text())
        assert integrity["verified"] and integrity["kinds"]["messages"]["acknowledged"] > 0
        assert integrity["stream"]["users"] == 1  # one StreamUser per test (the sum was 1, 2, 3, ... before)
