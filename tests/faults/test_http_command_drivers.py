"""The http and command drivers against a real HTTP server and real commands; the DB lock on a real file."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from brownout.errors import FaultError
from brownout.faults.drivers import CommandDriver, DbLockDriver, HttpDriver
from brownout.faults.kinds import CommandParams, DbLockParams, HttpParams, HttpRequestSpec
from tests.faults.support import RecordingServer
from tests.helpers import free_port


def test_http_driver_sends_the_inject_and_heal_requests(server: RecordingServer) -> None:
    params = HttpParams(
        inject=HttpRequestSpec(
            "POST", f"{server.url}/drain", body='{"node": 1}', headers=(("Content-Type", "application/json"),)
        ),
        heal=HttpRequestSpec("DELETE", f"{server.url}/drain"),
    )
    driver = HttpDriver(params, "drain")
    # The answers are the evidence the fault reached something (faults.csv `evidence`, the report).
    assert driver.inject() == {"inject": {"status": 200, "body": '{"ok": true}'}}
    assert driver.heal() == {"heal": {"status": 200, "body": '{"ok": true}'}}
    assert server.paths() == [("POST", "/drain"), ("DELETE", "/drain")]
    assert server.requests[0].body == '{"node": 1}'


def test_http_driver_without_heal_request_heals_as_a_no_op(server: RecordingServer) -> None:
    driver = HttpDriver(HttpParams(inject=HttpRequestSpec("PUT", f"{server.url}/x")), "x")
    driver.heal()
    assert server.paths() == []


def test_http_driver_reports_an_error_status_with_the_servers_message(server: RecordingServer) -> None:
    driver = HttpDriver(HttpParams(inject=HttpRequestSpec("POST", f"{server.url}/drain?status=409")), "drain")
    with pytest.raises(FaultError, match=r"inject fault 'drain'.*answered 409: told to fail"):
        driver.inject()


def test_http_driver_reports_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}/drain"
    driver = HttpDriver(HttpParams(inject=HttpRequestSpec("POST", url), timeout_s=2), "drain")
    with pytest.raises(FaultError, match=r"nothing answers at http://127\.0\.0\.1:\d+/drain"):
        driver.inject()


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_command_driver_runs_the_inject_and_heal_argv(tmp_path: Path) -> None:
    marker = tmp_path / "broken"
    params = CommandParams(
        inject=_python(f"open({str(marker)!r}, 'w').write('x')"), heal=_python(f"import os; os.remove({str(marker)!r})")
    )
    driver = CommandDriver(params, "marker")
    assert driver.inject() == {"inject": {"exit": 0, "stdout": "", "stderr": ""}}
    assert marker.exists()
    assert driver.heal() == {"heal": {"exit": 0, "stdout": "", "stderr": ""}}
    assert not marker.exists()


def test_command_evidence_keeps_the_head_of_stdout_and_stderr() -> None:
    code = "import sys; print('drained node 1'); sys.stderr.write('x' * 500)"
    evidence = CommandDriver(CommandParams(inject=_python(code)), "c").inject()
    assert evidence == {"inject": {"exit": 0, "stdout": "drained node 1\n", "stderr": "x" * 200}}


def test_command_argv_is_not_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "args.txt"
    code = f"import sys; open({str(out)!r}, 'w').write(repr(sys.argv[1:]))"
    CommandDriver(CommandParams(inject=(*_python(code), "a b", "$HOME", ";", "rm -rf /")), "c").inject()
    assert out.read_text() == repr(["a b", "$HOME", ";", "rm -rf /"])


def test_command_driver_reports_exit_status_and_stderr() -> None:
    driver = CommandDriver(CommandParams(inject=_python("import sys; sys.exit('disk is full')")), "c")
    with pytest.raises(FaultError, match=r"exit status 1: disk is full"):
        driver.inject()


def test_command_driver_reports_a_missing_program() -> None:
    driver = CommandDriver(CommandParams(inject=("/nonexistent/brownout-tool", "x")), "c")
    with pytest.raises(FaultError, match="not found"):
        driver.inject()


def test_command_driver_kills_a_command_past_its_timeout() -> None:
    driver = CommandDriver(CommandParams(inject=_python("import time; time.sleep(30)"), timeout_s=0.3), "c")
    with pytest.raises(FaultError, match=r"still running after 0\.3s"):
        driver.inject()


def _write(db: Path) -> None:
    with sqlite3.connect(db, timeout=0.1) as connection:
        connection.execute("INSERT INTO t VALUES (1)")


def test_db_lock_blocks_writers_until_healed(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
    driver = DbLockDriver(db, DbLockParams(acquire_timeout_s=2), "db-locked")
    driver.inject()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _write(db)
    finally:
        driver.heal()
    _write(db)
    driver.heal()  # idempotent


def test_db_lock_on_a_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    driver = DbLockDriver(tmp_path / "nope.db", DbLockParams(), "db-locked")
    with pytest.raises(FaultError, match=r"no database at .*nope\.db"):
        driver.inject()
