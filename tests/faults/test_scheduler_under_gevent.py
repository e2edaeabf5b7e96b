"""The scheduler inside a gevent-monkey-patched process (as in Locust): same threads-and-Events code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brownout.history import read_faults
from tests.faults.support import RecordingServer
from tests.helpers import REPO_ROOT

_CHILD = """
from gevent import monkey; monkey.patch_all()
import sys, gevent
from pathlib import Path
from brownout.faults.drivers import HttpDriver
from brownout.faults.journal import FaultJournal
from brownout.faults.kinds import HttpParams, HttpRequestSpec
from brownout.faults.scheduler import FaultScheduler
from brownout.scenario.schema import FaultSpec

url, out = sys.argv[1], Path(sys.argv[2])
faults, drivers = [], {}
for i, (at, users) in enumerate([(0.0, None), (None, 5), (0.05, None)]):
    name = f"f{i}"
    params = HttpParams(inject=HttpRequestSpec("POST", f"{url}/{name}/break"),
                        heal=HttpRequestSpec("POST", f"{url}/{name}/heal"))
    faults.append(FaultSpec(index=i, name=name, target=name, kind="http", params=params, duration_s=0.1,
                            at_s=at, when_users=users, planned_offset_s=at or 0.0))
    drivers[name] = HttpDriver(params, name)
scheduler = FaultScheduler(faults, drivers, journal=FaultJournal(out))
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(30)])  # the hub stays free
scheduler.start()
gevent.sleep(0.1)
scheduler.on_user_count(5)
ok = scheduler.wait(10)
scheduler.heal_all()
ticker.join()
print("done" if ok and len(ticks) == 30 else "timeout")
"""


def test_scheduler_runs_in_a_monkey_patched_process(tmp_path: Path, server: RecordingServer) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, server.url, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert {row.name: row.outcome for row in read_faults(tmp_path)} == {f"f{i}": "healed" for i in range(3)}
    paths = server.paths()
    for i in range(3):
        assert paths.index(("POST", f"/f{i}/heal")) > paths.index(("POST", f"/f{i}/break"))
