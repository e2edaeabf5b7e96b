"""The supervisor inside a gevent-monkey-patched process, as in a Locust master: it must work the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.stack.stack_helpers import assert_all_gone, fake, write_stack

DRIVER = Path(__file__).parent / "gevent_driver.py"


def test_the_stack_and_its_control_api_work_under_gevent(tmp_path: Path) -> None:
    spec = write_stack(tmp_path / "stack.toml", [fake("a"), fake("b", "--ready-after", "0.2")])
    result = subprocess.run(
        [sys.executable, str(DRIVER), str(spec), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["up"] == [["a", True], ["b", True]]
    assert report["freeze"]["code"] == 200 and report["freeze"]["state"] == "frozen"
    assert report["answers_frozen"] is False
    assert report["thaw"]["state"] == "running" and report["answers_thawed"] is True
    assert report["kill"]["state"] == "stopped"
    assert report["start"]["ready"] is True and report["restart"]["ready"] is True
    assert report["unauthorized"] == 401
    assert report["after"] == ["stopped", "stopped"]
    assert_all_gone(report["pids"], [])
