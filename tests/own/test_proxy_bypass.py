"""The proxy-bypass mistake end to end (issue 19): a small service of our own whose "db" link should go
through the fault proxy, wired instead to the db's own port (`{ports.db}`, not `{proxies.db}`). A
"db-down" fault then cuts a link nobody uses; `brownout run` used to say PASS, exit 0. Now pre-flight warns
before any load and the `faults` check fails naming the proxy. Real processes: the stack (db, fault proxy,
service), Locust, the report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from brownout.history import read_faults
from tests.helpers import BROWNOUT

DB = '''
import socketserver, sys

class Pong(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"PONG\\n")

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Pong).serve_forever()
'''

SERVICE = '''
import http.server, socket, sys

DB_PORT = int(sys.argv[2])

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with socket.create_connection(("127.0.0.1", DB_PORT), timeout=1) as db:
                db.sendall(b"PING\\n")
                ok = db.recv(16) == b"PONG\\n"
        except OSError:
            ok = False
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''

USERS = """
from locust import HttpUser, constant, task

class Reader(HttpUser):
    wait_time = constant(0.1)

    @task
    def read(self):
        self.client.get("/")
"""

STACK = """
[stack]
entry = "svc"

[[components]]
name = "db"
command = ["{{python}}", "db.py", "{{port}}"]
port = 18101

[[components]]
name = "faultproxy"
command = ["{{python}}", "-m", "brownout", "proxy", "--port", "{{port}}", "--config", "{{proxy_config}}"]
port = 18474
ready = "/healthz"

[[components]]
name = "svc"
command = ["{{python}}", "service.py", "{{port}}", "{db}"]
port = 18080

[[proxies]]
name = "db"
listen = 18201
upstream = "db"
"""

SCENARIO = """
name = "bypass"
[stack]
path = "stack.toml"
[load]
locustfile = "users.py"
steps = [{ users = 2, spawn_rate = 2, duration = "7s" }]
[[faults]]
name = "db-down"
kind = "network"
target = "db"
down = true
at = "2s"
duration = "2s"
[criteria]
recovery_max_s = 1
recovery_sustain_s = 0.5
"""

TOUCHED_NOTHING = (
    "fault 'db-down' touched nothing: 0 connections through proxy 'db' — is the service using {proxies.db}?"
)


def _project(folder: Path, db: str) -> Path:
    folder.mkdir()
    for name, text in (("db.py", DB), ("service.py", SERVICE), ("users.py", USERS), ("scenario.toml", SCENARIO)):
        (folder / name).write_text(text)
    (folder / "stack.toml").write_text(STACK.format(db=db))
    return folder / "scenario.toml"


def _run(scenario: Path, out: Path) -> subprocess.CompletedProcess[str]:
    argv = [*BROWNOUT, "run", str(scenario), "--out", str(out)]
    return subprocess.run(argv, cwd=scenario.parent, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("wiring", ["{ports.db}", "{proxies.db}"])
def test_a_fault_on_a_proxy_the_service_bypasses_fails_the_run_naming_the_proxy(tmp_path: Path, wiring: str) -> None:
    done = _run(_project(tmp_path / "service", wiring), tmp_path / "results")
    output = done.stdout + done.stderr
    (results,) = [p for p in (tmp_path / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    checks = {c["name"]: c for c in json.loads((results / "verdict.json").read_text())["checks"]}
    (fault,) = read_faults(results)
    warning = "proxy 'db' is used by no component's command or env"
    if wiring == "{ports.db}":
        assert done.returncode == 1, output[-4000:]
        assert warning in output and "give the service {proxies.db} (the proxy's port) instead of {ports.db}" in output
        assert checks["faults"]["status"] == "fail" and TOUCHED_NOTHING in checks["faults"]["reasons"]
        assert TOUCHED_NOTHING in done.stdout  # the run's closing lines say it
        assert (fault.evidence["connections"], fault.evidence["idle_before_s"]) == (0, None)
    else:  # wired through the proxy: the fault reached the service, and its evidence says how
        assert warning not in output
        assert checks["faults"]["status"] == "pass", output[-4000:]
        assert fault.evidence["idle_before_s"] < 5 and fault.evidence["bytes_before"] > 0
        assert checks["availability"]["status"] == "fail"  # the service has no fallback: the fault hurt it
