"""Per-thread event streams over WebSocket: replay from the store after `after`, then live, gap-free.

Live events reach subscribers through in-process queues right after their transaction commits. The store is
the source of truth: a subscriber that sees a gap (an event beyond the next seq, or a queue that overflowed)
reads the missing range back from the store, so every event goes out exactly once and in order, also across
a gateway restart (the client reconnects with `after=<last seq>`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from gevent.queue import Empty, Full, Queue
from simple_websocket import ConnectionClosed

from targets.sample.gateway import metrics
from targets.sample.gateway.store import Store
from targets.sample.gateway.threads import Event, events_after

log = logging.getLogger("gateway.streams")

_QUEUE_LIMIT = 1000
_POLL_S = 0.5
_PAGE = 500


class _Subscriber:
    def __init__(self) -> None:
        self.queue: Queue[Event] = Queue(maxsize=_QUEUE_LIMIT)
        self.overflowed = False


class StreamHub:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._subscribers: dict[str, set[_Subscriber]] = defaultdict(set)
        self._closing = False

    def publish(self, events: list[Event]) -> None:
        """Hand committed events to the live subscribers of their threads (never blocks)."""
        for event in events:
            for subscriber in self._subscribers.get(event.thread_id, ()):
                try:
                    subscriber.queue.put_nowait(event)
                except Full:
                    subscriber.overflowed = True  # it catches up from the store

    def close(self) -> None:
        """Ask every stream loop to end (the gateway is stopping)."""
        self._closing = True

    @contextmanager
    def _subscription(self, thread_id: str) -> Iterator[_Subscriber]:
        subscriber = _Subscriber()
        self._subscribers[thread_id].add(subscriber)
        metrics.STREAM_CLIENTS.inc()
        try:
            yield subscriber
        finally:
            metrics.STREAM_CLIENTS.dec()
            subscribers = self._subscribers.get(thread_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._subscribers[thread_id]

    def serve(self, ws: Any, thread_id: str, after: int) -> None:
        """Send every event after `after`, then live ones, until the client leaves or the gateway stops."""
        # Subscribe before the replay so nothing committed meanwhile is missed; duplicates are skipped by seq.
        with self._subscription(thread_id) as subscriber:
            last = self._catch_up(ws, thread_id, after)
            while ws.connected and not self._closing:
                if subscriber.overflowed:
                    subscriber.overflowed = False
                    last = self._catch_up(ws, thread_id, last)
                try:
                    event = subscriber.queue.get(timeout=_POLL_S)
                except Empty:
                    continue
                if event.seq > last + 1:
                    last = self._catch_up(ws, thread_id, last)
                if event.seq == last + 1:
                    ws.send(event.as_frame())
                    last = event.seq
            if self._closing:
                _close_quietly(ws, 1001, "gateway stopping")

    def _catch_up(self, ws: Any, thread_id: str, last: int) -> int:
        """Send everything in the store after `last`; answer the new last seq sent."""
        while True:
            page = events_after(self._store, thread_id, last, limit=_PAGE)
            for event in page:
                ws.send(event.as_frame())
                last = event.seq
            if len(page) < _PAGE:
                return last


def _close_quietly(ws: Any, code: int, reason: str) -> None:
    with suppress(ConnectionClosed, OSError):
        ws.close(reason=code, message=reason)
