"""The kill switch in the web UI, in a real browser: touching the file heals and stops the test in progress,
the faults page shows a banner saying why, the Faults tab and the test's report too, and the UI stays up
for the next test (which the file, untouched since, does not stop)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.plugin.locust_ui import UI_WAIT_S, LocustUI, locust_ui
from tests.plugin.test_webui_browser import CHROMIUM, browser  # noqa: F401  (a fixture)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium"),
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("switch") / "stop-now"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, switch: Path) -> Iterator[LocustUI]:
    with locust_ui(tmp_path_factory.mktemp("guard-ui"), extra=("--brownout-abort-on", str(switch))) as started:
        yield started


def test_the_kill_switch_stops_the_test_with_a_banner_and_the_ui_stays_up(
    ui: LocustUI, browser: Any, switch: Path  # noqa: F811
) -> None:
    shots = Path(os.environ.get("BROWNOUT_SCREENSHOTS") or ui.out.parent)
    shots.mkdir(parents=True, exist_ok=True)
    out = ui.start_run()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{ui.url}/brownout/faults")
    banner = page.locator("#abort")
    assert banner.is_hidden()
    page.wait_for_timeout(3000)  # the first fault (at 3 s) is in force
    switch.touch()
    banner.wait_for(state="visible", timeout=15_000)
    message = f"aborted by kill switch ({switch} touched)"
    assert message in banner.inner_text()
    page.screenshot(path=shots / "guard-banner.png", full_page=True)
    print(f"\nscreenshot: {shots / 'guard-banner.png'}")
    assert wait_until(lambda: ui.state() == "stopped", UI_WAIT_S), "the test did not stop"
    assert ui.tab()["✗ ABORTED"]["state"].startswith(message)
    done = ui.wait_written_up(1)
    assert done["verdict"] == "FAIL"
    assert message in (out / "report.md").read_text()
    assert "aborted by kill switch" in (out / "faults.csv").read_text()  # the journal says why too

    # The UI is still up; the next test runs, and the file (not touched again) does not stop it.
    ui.start_run(no_faults=True)
    page.reload()
    page.wait_for_timeout(3000)
    assert banner.is_hidden() and ui.state() in ("spawning", "running")
    ui.stop_run()
