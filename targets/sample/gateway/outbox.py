"""The durable outbox: notifications are written with the data they describe and delivered in the background.

Delivery is at least once (a row is marked delivered only after the notifier answered); the notifier
de-duplicates by id, so it records each notification exactly once. A notifier outage only delays them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

import gevent
from gevent.event import Event as Wakeup

from targets.sample.gateway import metrics
from targets.sample.gateway.clients import DependencyClient
from targets.sample.gateway.resilience import DependencyError
from targets.sample.gateway.store import Connection, Store, StoreUnavailable

log = logging.getLogger("gateway.outbox")

_BATCH = 100


def enqueue(conn: Connection, notification_id: str, type_: str, data: dict[str, Any]) -> None:
    """Queue a notification inside the caller's transaction (so it exists exactly when the data does)."""
    conn.execute(
        "INSERT INTO outbox (id, type, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (notification_id, type_, json.dumps(data), time.time()),
    )


def depth(store: Store) -> int:
    row = store.query_one("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
    return int(row[0]) if row is not None else 0


class OutboxDelivery:
    """A greenlet that drains the outbox into the notifier, oldest first, pausing while deliveries fail."""

    def __init__(self, store: Store, notifier: DependencyClient, interval_s: float) -> None:
        self._store = store
        self._notifier = notifier
        self._interval_s = interval_s
        self._wakeup = Wakeup()
        self._greenlet: gevent.Greenlet | None = None
        self._stopping = False

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout=1.0)
            self._greenlet.kill(block=False)

    def is_alive(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def poke(self) -> None:
        """Something was queued: deliver now instead of at the next interval."""
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                self.deliver_pending()
            except Exception:  # keep the loop alive whatever happens; the next round retries
                log.exception("outbox delivery round failed")
            self._wakeup.wait(timeout=self._interval_s)

    def deliver_pending(self) -> int:
        """Deliver due notifications until the outbox is empty or a delivery fails; answer how many."""
        delivered = 0
        while not self._stopping:
            try:
                rows = self._store.query(
                    "SELECT id, type, data FROM outbox WHERE delivered_at IS NULL"
                    " ORDER BY created_at LIMIT ?",
                    (_BATCH,),
                )
            except StoreUnavailable:
                return delivered
            if not rows:
                break
            for row in rows:
                body = {"id": row["id"], "type": row["type"], "data": json.loads(row["data"])}
                try:
                    self._notifier.post_json("/events", body)
                except DependencyError as exc:
                    self._note_failure(row["id"], exc)
                    self._refresh_depth()
                    return delivered
                self._mark_delivered(str(row["id"]))
                delivered += 1
                metrics.OUTBOX_DELIVERED.inc()
        self._refresh_depth()
        return delivered

    def _mark_delivered(self, notification_id: str) -> None:
        self._store.write(
            lambda conn: conn.execute(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
                (time.time(), notification_id),
            )
        )

    def _note_failure(self, notification_id: str, exc: Exception) -> None:
        log.info("outbox: notifier unavailable, will retry: %s", exc)
        with contextlib.suppress(StoreUnavailable):
            self._store.write(
                lambda conn: conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (notification_id,))
            )

    def _refresh_depth(self) -> None:
        with contextlib.suppress(StoreUnavailable):
            metrics.OUTBOX_DEPTH.set(depth(self._store))
