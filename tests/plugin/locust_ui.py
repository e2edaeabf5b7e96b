"""A real Locust with brownout's plugin and its web UI on 127.0.0.1, running a scenario on the sample stack."""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import free_port, start_process, stop_process, wait_until

UI_WAIT_S = 15.0  # for the page to show what a test did: a few of Locust's 1 s stats ticks

LOCUST = str(Path(sys.executable).with_name("locust"))
NOT_FAULTS = re.compile(r"^(more|load now|test \d+ report)$")  # the tab's pointer rows


@dataclass
class LocustUI:
    url: str
    out: Path  # --brownout-out: the first test's results directory; later ones are <out>-2, <out>-3, ...
    token: str  # BROWNOUT_TOKEN in Locust's environment: good as a Bearer token
    initial_rows: dict[str, dict[str, str]] = field(default_factory=dict)  # the tab before any start

    def rows(self) -> dict[str, dict[str, str]]:
        """The Faults tab's fault rows by name (without the pointer rows)."""
        return {name: row for name, row in self.tab().items() if not NOT_FAULTS.match(name)}

    def tab(self) -> dict[str, dict[str, str]]:
        body = requests.get(f"{self.url}/stats/requests", timeout=5).json()
        tables = {entry["key"]: entry["data"] for entry in body.get("extended_stats", [])}
        return {row["fault"]: row for row in tables["faults"]}

    def state(self) -> str:
        return str(requests.get(f"{self.url}/stats/requests", timeout=5).json()["state"])

    def page_state(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(f"{self.url}/brownout/faults/state.json", timeout=5).json()
        return answer

    def form_token(self) -> str:
        page = requests.get(f"{self.url}/brownout/faults", timeout=5)
        assert page.status_code == 200, page.text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, "the page carries no form token"
        return match.group(1)

    def start_run(self, no_faults: bool = False, faults: str = "") -> Path:
        """Start a test as the start form does; its results directory."""
        self.stop_run()
        form = {"brownout_no_faults": "true" if no_faults else "false", "brownout_faults": faults}
        answer = requests.post(f"{self.url}/swarm", data=form, timeout=60).json()
        assert answer["success"], answer
        assert wait_until(lambda: self.state() in ("spawning", "running"), UI_WAIT_S), "waiting for the test to start"
        return Path(self.page_state()["test"]["out"])

    def stop_run(self) -> None:
        if self.state() in ("spawning", "running"):
            requests.post(f"{self.url}/stop", timeout=30)
            assert wait_until(lambda: self.state() == "stopped", UI_WAIT_S), "waiting for the test to stop"

    def wait_written_up(self, number: int, timeout: float = 60.0) -> dict[str, Any]:
        """The tests list entry of test `number` once its results and report are written."""

        def done() -> dict[str, Any] | None:
            return next((t for t in self.page_state()["tests"] if t["number"] == number and t["state"] == "done"),
                        None)  # fmt: skip

        assert wait_until(lambda: done() is not None, timeout), f"waiting for test {number} to be written up"
        entry = done()
        assert entry is not None
        return entry


@contextmanager
def locust_ui(tmp: Path, scenario: str = "scenarios/smoke.toml", extra: tuple[str, ...] = ()) -> Iterator[LocustUI]:
    port = free_port()
    argv = [
        LOCUST, "-f", "locustfiles/recovery.py", "--brownout-scenario", scenario,
        "--brownout-out", str(tmp / "run"), "--web-host", "127.0.0.1", "--web-port", str(port), *extra,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    token = secrets.token_urlsafe(16)
    with pytest.MonkeyPatch.context() as env:  # only for the child: Popen copies the environment
        env.setenv("BROWNOUT_TOKEN", token)
        process = start_process(argv, f"{url}/", tmp / "locust.log", timeout=60)
    try:
        ui = LocustUI(url, tmp / "run", token)
        ui.initial_rows = ui.rows()
        yield ui
    finally:
        stop_process(process, timeout=30)
