"""Idempotency-Key handling: a retried POST with the same key never writes twice and gets the same answer.

The key's row is written in the same transactions as the request's own writes: `save_partial` with the
first write (what a resumed request needs to carry on), `save_reply` with the last. So a key is either
unknown (nothing written), partial (a crash or a failure came between the writes; a retry resumes from the
partial state instead of writing again) or done (the stored answer is replayed). Concurrent requests with
one key inside this process wait for the first one instead of racing it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gevent.event import Event
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from targets.sample.gateway.store import Connection, Store

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """The right to run a keyed request; `partial` is what an earlier, unfinished run of it left."""

    key: str
    fingerprint: str
    partial: dict[str, Any] | None


def fingerprint_of(method: str, path: str, body: bytes) -> str:
    return f"{method} {path} {hashlib.sha256(body).hexdigest()}"


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"header Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def save_partial(conn: Connection, claim: Claim | None, partial: dict[str, Any]) -> None:
    if claim is None:
        return
    conn.execute(
        "INSERT INTO idempotency (key, fingerprint, state, partial, created_at)"
        " VALUES (?, ?, 'partial', ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET partial = excluded.partial",
        (claim.key, claim.fingerprint, json.dumps(partial), time.time()),
    )


def save_reply(conn: Connection, claim: Claim | None, reply: Reply) -> None:
    if claim is None:
        return
    conn.execute(
        "INSERT INTO idempotency (key, fingerprint, state, status, body, headers, created_at)"
        " VALUES (?, ?, 'done', ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = 'done',"
        " status = excluded.status, body = excluded.body, headers = excluded.headers",
        (
            claim.key,
            claim.fingerprint,
            reply.status,
            json.dumps(reply.body),
            json.dumps(reply.headers),
            time.time(),
        ),
    )


class IdempotencyKeys:
    def __init__(self, store: Store, wait_s: float = 30.0) -> None:
        self._store = store
        self._wait_s = wait_s
        self._in_flight: dict[str, Event] = {}

    def run(self, key: str | None, fingerprint: str, handler: Callable[[Claim | None], Reply]) -> Reply:
        """Answer the stored reply for a finished key, or run `handler` holding the key's claim."""
        if key is None:
            return handler(None)
        row = None
        for _ in range(3):
            row = self._store.query_one(
                "SELECT fingerprint, state, partial, status, body, headers FROM idempotency WHERE key = ?",
                (key,),
            )
            if row is not None and row["fingerprint"] != fingerprint:
                raise UnprocessableEntity("this Idempotency-Key was already used for a different request")
            if row is not None and row["state"] == "done":
                return Reply(row["status"], json.loads(row["body"]), json.loads(row["headers"] or "{}"))
            running = self._in_flight.get(key)
            if running is None:
                break
            running.wait(timeout=self._wait_s)
        else:
            return Reply(409, {"error": "a request with this Idempotency-Key is still running; retry later"})
        partial = json.loads(row["partial"]) if row is not None and row["partial"] else None
        done = Event()
        self._in_flight[key] = done
        try:
            return handler(Claim(key, fingerprint, partial))
        finally:
            del self._in_flight[key]
            done.set()
