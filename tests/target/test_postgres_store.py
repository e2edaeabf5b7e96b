"""The sample gateway on PostgreSQL: the shipped stack (PostgreSQL started by the stack, reached through the
fault proxy), its writes read back from PostgreSQL itself, and its behaviour when the database freezes,
restarts or its link goes down. Needs Debian's `postgresql` package (.ci/run installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from brownout.stack import Stack
from targets.sample.postgres import LaunchError, find_bindir
from tests.target.sample_stack import eventually

REPO = Path(__file__).resolve().parents[2]
STACK_FILE = REPO / "targets" / "sample" / "stack-postgres.toml"


def _installed() -> bool:
    try:
        find_bindir()
    except LaunchError:
        return False
    return True


needs_postgres = pytest.mark.skipif(not _installed(), reason="PostgreSQL not installed (apt-get install -y postgresql)")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


class Client:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = _session()
        self.gateway = stack.url("gateway")
        self.admin = {"Authorization": f"Bearer {stack.token}"}

    def new_thread(self) -> str:
        response = self.http.post(f"{self.gateway}/threads", json={}, timeout=10)
        assert response.status_code == 201, response.text
        return str(response.json()["thread_id"])

    def post(self, thread_id: str, key: str | None = None, timeout: float = 20) -> requests.Response:
        key = key or uuid.uuid4().hex
        return self.http.post(
            f"{self.gateway}/threads/{thread_id}/messages", json={"text": f"text {key}"},
            headers={"Idempotency-Key": key}, timeout=timeout,
        )  # fmt: skip

    def audit(self, message_ids: list[str], workflow_ids: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        response = self.http.post(
            f"{self.gateway}/admin/audit", json={"message_ids": message_ids, "workflow_ids": list(workflow_ids)},
            headers=self.admin, timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return dict(response.json())

    def breaker(self) -> str:
        breakers = self.http.get(f"{self.gateway}/admin/breakers", headers=self.admin, timeout=10).json()
        return str(breakers["store"]["state"])

    def set_db_link(self, enabled: bool) -> None:
        proxy_api = self.stack.url("faultproxy")
        response = self.http.post(
            f"{proxy_api}/proxies/db", json={"enabled": enabled}, headers=self.admin, timeout=10
        )
        assert response.status_code == 200, response.text

    def wait_writable(self, thread_id: str, timeout_s: float = 30) -> str:
        """Post until one is acknowledged (the store is back); answer its message id."""
        acknowledged: list[str] = []

        def one_write() -> bool:
            response = self.post(thread_id, timeout=10)
            if response.status_code == 201:
                acknowledged.append(str(response.json()["message_id"]))
            return bool(acknowledged)

        eventually(one_write, timeout_s, interval=0.3)
        return acknowledged[0]


def _rows_in_postgres(stack: Stack, sql: str, *params: Any) -> list[list[Any]]:
    """Read PostgreSQL directly (its own port, not the proxy): the final read is the database's word."""
    import pg8000.native

    conn = pg8000.native.Connection(
        "gateway", host="127.0.0.1", port=stack.ports["postgres"], database="gateway", timeout=10
    )
    try:
        return list(conn.run(sql, **{f"p{i}": value for i, value in enumerate(params)}))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    stack = Stack.start(STACK_FILE, tmp_path_factory.mktemp("pg-stack"), ports="ephemeral")
    try:
        yield Client(stack)
    finally:
        stack.stop()


@needs_postgres
def test_acknowledged_writes_are_in_postgres_once(pg: Client) -> None:
    thread_id = pg.new_thread()
    key = uuid.uuid4().hex
    first, again = pg.post(thread_id, key), pg.post(thread_id, key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()  # the same answer, not a second write
    others = [pg.post(thread_id).json()["message_id"] for _ in range(3)]
    workflow = pg.http.post(f"{pg.gateway}/workflows", json={"thread_id": thread_id}, timeout=20).json()
    message_ids = [first.json()["message_id"], *others]

    audit = pg.audit(message_ids, [workflow["run_id"]])
    assert audit["store"] == "postgres"
    assert (audit["missing"], audit["duplicated"], audit["half_done_workflows"]) == ([], [], [])

    rows = _rows_in_postgres(pg.stack, "SELECT id, role FROM messages WHERE thread_id = :p0", thread_id)
    user_messages = sorted(row[0] for row in rows if row[1] == "user")
    assert user_messages == sorted(message_ids)  # each once: the repeated key did not write twice
    assert len(rows) == 2 * len(message_ids)  # and one answer each
    status = _rows_in_postgres(pg.stack, "SELECT status FROM workflow_runs WHERE id = :p0", workflow["run_id"])
    assert status == [["completed"]]


@needs_postgres
def test_a_frozen_database_fails_requests_fast_then_recovers(pg: Client) -> None:
    thread_id = pg.new_thread()
    before = pg.post(thread_id).json()["message_id"]
    pg.stack.freeze("postgres")
    try:
        # More requests than pooled connections: the pool runs dry, and nobody waits for the frozen server.
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: pg.post(thread_id, timeout=30).status_code, range(32)))
        assert set(answers) == {503}, answers
        assert pg.breaker() == "open"
    finally:
        pg.stack.thaw("postgres")
    after = pg.wait_writable(thread_id)
    audit = pg.audit([before, after])
    assert (audit["missing"], audit["duplicated"]) == ([], [])


@needs_postgres
def test_a_restarted_database_is_reconnected_with_its_data(pg: Client) -> None:
    thread_id = pg.new_thread()
    before = pg.post(thread_id).json()["message_id"]
    pg.stack.restart("postgres")  # SIGINT (fast shutdown), then the same cluster again
    after = pg.wait_writable(thread_id)
    rows = _rows_in_postgres(pg.stack, "SELECT count(*) FROM messages WHERE id IN (:p0, :p1)", before, after)
    assert rows == [[2]]


@needs_postgres
def test_the_database_link_down_answers_503_then_recovers(pg: Client) -> None:
    thread_id = pg.new_thread()
    pg.set_db_link(False)  # the proxy also cuts the pool's idle connections
    try:
        assert pg.post(thread_id).status_code == 503
    finally:
        pg.set_db_link(True)
    # Back within a breaker cycle or two: the stale idle connections went with the first network failure,
    # instead of failing one breaker trial each (16 of them, 2 s apart).
    pg.wait_writable(thread_id, timeout_s=12)


def test_without_postgresql_the_launcher_exits_2_naming_the_package(tmp_path: Path) -> None:
    env = {**os.environ, "BROWNOUT_PG_BINDIR": str(tmp_path / "no-postgres-here")}
    result = subprocess.run(
        [sys.executable, "-m", "targets.sample.postgres", "--port", "1", "--data-dir", str(tmp_path / "d")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "apt-get install -y postgresql" in result.stderr


def test_without_postgresql_brownout_run_exits_2_naming_the_package(tmp_path: Path) -> None:
    env = {**os.environ, "BROWNOUT_PG_BINDIR": str(tmp_path / "no-postgres-here")}
    result = subprocess.run(
        [sys.executable, "-m", "brownout", "run", str(REPO / "scenarios" / "postgres.toml"), "--out", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "apt-get install -y postgresql" in result.stdout + result.stderr
