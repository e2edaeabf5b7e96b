"""Synthetic runs and stores for the store's tests (bench/synthetic.py writes the results directories), and a
real browser for the pages the store's commands write (trend.html, the report's release history)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import SyntheticFault, write_synthetic_run
from brownout.cli import main as brownout_main

FAULT = SyntheticFault("upstream-down", 8.0, 14.0, recovery_s=2.0)


def synthetic_run(path: Path, seed: int, slowdown: float = 1.0, recovery_s: float = 2.0) -> Path:
    """A short run; distinct start times make distinct runs (the manifest is part of a run's identity)."""
    fault = SyntheticFault(FAULT.name, FAULT.start_s, FAULT.end_s, recovery_s=recovery_s)
    return write_synthetic_run(
        path, seconds=30.0, seed=seed, slowdown=slowdown, started_at=1_700_000_000.0 + 1000 * seed, faults=(fault,)
    )


def store_add(store: Path, *runs: Path, release: str | None = None) -> int:
    return brownout_main(
        ["store", "add", str(store), *(str(r) for r in runs), *(["--release", release] if release else [])]
    )


def locust_set(prefix: Path, p50: int = 20, requests: int = 1000) -> Path:
    """A minimal plain Locust --csv set (stats only) from any project."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Requests/s,50%,95%"
    lines = [header, f"GET,/a,{requests},3,{p50},{p50},10.0,{p50},{p50 * 3}",
             f",Aggregated,{requests},3,{p50},{p50},10.0,{p50},{p50 * 3}"]  # fmt: skip
    Path(f"{prefix}_stats.csv").write_text("\n".join(lines) + "\n")
    return prefix


CHROMIUM = Path("/usr/lib/chromium/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium")


@contextmanager
def browser_page(width: int = 1100, height: int = 900) -> Iterator[Any]:
    """A page of Debian's Chromium driven by Playwright, closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"])
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def screenshots(tmp_path: Path) -> Path:
    """Where a test's screenshots go: $BROWNOUT_SCREENSHOTS, else the test's tmp dir."""
    folder = Path(os.environ.get("BROWNOUT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
