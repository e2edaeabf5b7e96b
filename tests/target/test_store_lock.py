"""Another process holds the gateway's SQLite write lock: reads go on, writes retry then fail cleanly."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.target.sample_stack import SampleStack


def test_a_locked_database_fails_writes_cleanly_and_never_freezes_the_gateway(stack: SampleStack) -> None:
    thread_id = stack.new_thread()
    assert stack.post_message(thread_id, "before the lock").status_code == 201
    holder = sqlite3.connect(str(stack.data_dir / "gateway.db"), timeout=10, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            write = pool.submit(stack.post_message, thread_id, "while locked")
            # Reads are answered while the write waits for the lock: the gateway is not frozen. (SQLite's
            # busy wait inside C would block every greenlet of the process for its whole timeout.)
            for _ in range(5):
                assert requests.get(f"{stack.gateway}/healthz", timeout=4).status_code == 200
                read = requests.get(f"{stack.gateway}/threads/{thread_id}", timeout=4)
                assert read.status_code == 200 and read.json()["messages"]
            answer = write.result(timeout=30)
        assert answer.status_code == 503
        assert "locked" in answer.json()["error"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stack.post_message(thread_id, "after the lock").status_code == 201
