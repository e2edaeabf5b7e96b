"""The sample notifier's event file stays readable when its disk fills: an append is a whole line or nothing.

A full disk is made without root by the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored), which fails a write
past it the way ENOSPC does: part of the bytes written, then an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_APPEND_UNTIL_FULL = """
import resource, signal, sys
from pathlib import Path
from targets.sample.notifier import EventLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
log = EventLog(Path(sys.argv[1]))
for number in range(100):
    try:
        log.add({"id": f"event-{number}", "type": "t", "data": "x" * 37})
    except OSError as exc:
        print("refused", number, exc.errno)
        break
"""


def test_an_append_the_disk_cannot_hold_leaves_no_half_line(tmp_path: Path) -> None:
    path = tmp_path / "notifier-events.jsonl"
    done = subprocess.run([sys.executable, "-c", _APPEND_UNTIL_FULL, str(path)], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.stdout.startswith("refused "), done.stderr
    refused_at = int(done.stdout.split()[1])
    text = path.read_text()
    assert text.endswith("\n") and len(text) <= 1000
    assert [json.loads(line)["id"] for line in text.splitlines()] == [f"event-{n}" for n in range(refused_at)]
