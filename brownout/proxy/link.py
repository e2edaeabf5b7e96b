"""One proxied TCP connection: two directions (client -> upstream, upstream -> client) through the toxics.

Each direction reads in a libev callback, not a greenlet: with no toxic on its stream a chunk is sent on
at once from the callback (no greenlet switch at all, which is what makes the proxy as fast as Toxiproxy).
With toxics, the callback stamps each chunk with its arrival time and queues it, and a writer greenlet
takes the chunks in order through the toxics, Toxiproxy's pipeline: every wait is a deadline computed
from the chunk's own arrival, so a chunk that arrived while an earlier one was held is not held again for
the full latency. Reading goes on meanwhile (up to a bounded queue, as Toxiproxy's latency buffer).

Toxics act in the order they were added (Toxiproxy's chain), and the toxics in force *now* apply: a
waiting chunk is re-timed when the toxics change (a removed latency releases it at once). Toxicity is
rolled once per connection and toxic version. Per toxic, following Toxiproxy's: latency holds a chunk
until arrival + latency +/- jitter; bandwidth paces at `rate` KB/s in slices of 100 ms; slicer cuts a
chunk into pieces of about `average_size` +/- `size_variation` bytes, `delay` us apart; timeout drops all
data and, when > 0, closes the connection that long after the toxic took hold (removing it closes the
connections it held, since their data is lost); reset_peer waits for data, then `timeout` ms, then
resets both sides (TCP RST); limit_data closes the connection once `bytes` bytes have passed; slow_close
delays passing on a close. Half-closes are passed on, so request-then-shutdown clients work.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import gevent
from gevent import Greenlet
from gevent.event import Event
from gevent.socket import wait_write

from brownout.proxy.toxics import DOWNSTREAM, UPSTREAM, ToxicSpec

_CHUNK = 64 * 1024
# A queue as big as Toxiproxy's latency buffer (1024 chunks of 32 KiB): a large answer is read (and so
# timed) as it arrives, not when the toxics get round to it.
_QUEUE_LIMIT = 32 * 1024 * 1024
_RESET_LINGER = struct.pack("ii", 1, 0)


class ToxicSource(Protocol):
    """What a connection needs from its proxy."""

    def toxics_on(self, stream: str) -> tuple[ToxicSpec, ...]: ...

    def wait_for_change(self, seconds: float) -> bool:
        """Block up to `seconds`; True if the toxics changed meanwhile."""
        ...

    def connection_closed(self, connection: Connection) -> None: ...


class Chunk:
    """Data read from one side, and the time the toxics measure it from (moved on by each latency)."""

    __slots__ = ("data", "at")

    def __init__(self, data: bytes, at: float) -> None:
        self.data = data
        self.at = at


class Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, source: ToxicSource) -> None:
        self._client = _plain(client)
        self._upstream = _plain(upstream)
        self._source = source
        self._rolls: dict[int, bool] = {}  # toxic uid -> does it apply to this connection
        self._passed: dict[int, int] = {}  # limit_data uid -> bytes passed through it
        self._clocks: dict[int, float] = {}  # slicer uid -> when it is free again
        self._carry: dict[int, float] = {}  # bandwidth uid -> time overslept, taken off the next wait
        self._timers: dict[int, Greenlet] = {}  # timeout uid -> the greenlet that closes us
        self._directions = (
            _Direction(self, self._client, self._upstream, UPSTREAM),
            _Direction(self, self._upstream, self._client, DOWNSTREAM),
        )
        self._streams_ended = 0
        self._done = Event()
        self.closed = False

    def run(self) -> None:
        """Pipe both ways until the connection ends; blocks the calling (accepting) greenlet until then."""
        for toxic in self._source.toxics_on(UPSTREAM) + self._source.toxics_on(DOWNSTREAM):
            self._arm_timeout(toxic)
        for direction in self._directions:
            direction.start()
        self._done.wait()

    def close(self, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for direction in self._directions:
            direction.stop()
        for sock in (self._client, self._upstream):
            try:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_LINGER)
                sock.close()
            except OSError:
                pass
        current = gevent.getcurrent()
        for greenlet in [*self._timers.values(), *(d.writer for d in self._directions if d.writer)]:
            if greenlet is not current:
                greenlet.kill(block=False)
        self._done.set()
        self._source.connection_closed(self)

    def toxics_changed(self, before: tuple[ToxicSpec, ...], after: tuple[ToxicSpec, ...]) -> None:
        """Called by the proxy after its toxics changed: start and stop timeout toxics' timers."""
        if self.closed:
            return
        still_there = {toxic.name: toxic for toxic in after}
        for old in before:
            if old.type != "timeout" or still_there.get(old.name) is old:
                continue
            timer = self._timers.pop(old.uid, None)
            if timer is not None:
                timer.kill(block=False)
            if old.name not in still_there and self._rolls.get(old.uid):
                self.close()  # as Toxiproxy: the data it swallowed is lost, so the stream is unusable
                return
        known = {toxic.uid for toxic in before}
        for toxic in after:
            if toxic.uid not in known:
                self._arm_timeout(toxic)

    def stream_ended(self, dest: socket.socket) -> None:
        """One side closed its sending half: pass that on; the second close ends the connection."""
        self._streams_ended += 1
        if self._streams_ended == 2:
            self.close()
            return
        try:
            dest.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    # --- the toxics' chain, walked by a direction's writer greenlet ------------------------------------

    def deliver(self, chunk: Chunk, direction: _Direction, done: frozenset[str] = frozenset()) -> bool:
        """Send `chunk` through the toxics not in `done`, in chain order; False once they ended the connection."""
        stream = direction.stream
        while (toxic := self._next_toxic(stream, done)) is not None:
            done = done | {toxic.name}
            if toxic.type == "latency":
                self._hold_latency(chunk, toxic, stream)
            elif toxic.type == "timeout":
                return True  # a black hole: the data is dropped
            elif toxic.type == "reset_peer":
                # If the toxic went away while waiting, its data is dropped all the same, as in Toxiproxy.
                return not self._reset_after_wait(toxic, stream)
            elif toxic.type == "bandwidth":
                return self._pace(chunk, toxic, direction, done)
            elif toxic.type == "slicer":
                return self._slice(chunk, toxic, direction, done)
            elif toxic.type == "limit_data":
                return self._limit(chunk, toxic, direction, done)
        direction.send_all(chunk.data)
        return True

    def deliver_close(self, direction: _Direction) -> None:
        ended_at = time.monotonic()
        stream = direction.stream
        self._hold(lambda: ended_at + sum(t.seconds("delay") for t in self._mine(stream, "slow_close")))
        self.stream_ended(direction.dest)

    def _next_toxic(self, stream: str, done: frozenset[str]) -> ToxicSpec | None:
        for toxic in self._source.toxics_on(stream):
            if toxic.name not in done and self._applies(toxic):
                return toxic
        return None

    def _current(self, stream: str, name: str, type_: str) -> ToxicSpec | None:
        """The toxic called `name` as it is now (updated, or None once removed)."""
        for toxic in self._source.toxics_on(stream):
            if toxic.name == name:
                return toxic if toxic.type == type_ and self._applies(toxic) else None
        return None

    def _hold_latency(self, chunk: Chunk, toxic: ToxicSpec, stream: str) -> None:
        jitters: dict[int, float] = {}

        def release_at() -> float:
            now = self._current(stream, toxic.name, "latency")
            if now is None:
                return 0.0
            if now.uid not in jitters:
                jitter = now.seconds("jitter")
                jitters[now.uid] = random.uniform(-jitter, jitter) if jitter else 0.0
            return chunk.at + max(0.0, now.seconds("latency") + jitters[now.uid])

        self._hold(release_at)
        chunk.at = max(chunk.at, release_at())  # a later latency toxic counts from here, as in Toxiproxy

    def _reset_after_wait(self, toxic: ToxicSpec, stream: str) -> bool:
        seen_at = time.monotonic()

        def reset_at() -> float:
            now = self._current(stream, toxic.name, "reset_peer")
            return seen_at + now.seconds("timeout") if now else 0.0

        self._hold(reset_at)
        if self._current(stream, toxic.name, "reset_peer") is None:
            return False
        self.close(reset=True)
        return True

    def _pace(self, chunk: Chunk, toxic: ToxicSpec, direction: _Direction, done: frozenset[str]) -> bool:
        def bytes_per_second() -> float:
            now = self._current(direction.stream, toxic.name, "bandwidth")
            return now.value("rate") * 1000.0 if now else 0.0

        view = memoryview(chunk.data)
        while view:
            rate = bytes_per_second()
            if not rate:
                return self.deliver(Chunk(bytes(view), chunk.at), direction, done)
            piece = view[: max(1, int(rate / 10))]  # 100 ms worth, as Toxiproxy slices
            # As Toxiproxy: time overslept on one piece is taken off the next (carried as a negative
            # wait), while an idle stream earns no credit.
            started, carried = time.monotonic(), self._carry.get(toxic.uid, 0.0)

            def send_at() -> float:
                return started + carried + len(piece) / (bytes_per_second() or float("inf"))  # noqa: B023

            self._hold(send_at)
            self._carry[toxic.uid] = min(0.0, send_at() - time.monotonic())
            if not self.deliver(Chunk(bytes(piece), chunk.at), direction, done):
                return False
            view = view[len(piece) :]
        return True

    def _slice(self, chunk: Chunk, toxic: ToxicSpec, direction: _Direction, done: frozenset[str]) -> bool:
        size = int(toxic.value("average_size"))
        if size < 1:  # only with --lenient: Toxiproxy would never deliver; brownout passes the data whole
            return self.deliver(chunk, direction, done)
        bounds = slice_bounds(len(chunk.data), size, int(toxic.value("size_variation")))
        start = max(time.monotonic(), self._clocks.get(toxic.uid, 0.0))
        for index, (low, high) in enumerate(bounds):
            if self._current(direction.stream, toxic.name, "slicer") is None:  # removed: the rest goes whole
                return self.deliver(Chunk(chunk.data[low:], chunk.at), direction, done)
            if not self.deliver(Chunk(chunk.data[low:high], chunk.at), direction, done):
                return False
            pause = toxic.value("delay") / 1e6
            self._clocks[toxic.uid] = start + (index + 1) * pause
            if pause:
                self._hold(lambda: self._clocks[toxic.uid])
        return True

    def _limit(self, chunk: Chunk, toxic: ToxicSpec, direction: _Direction, done: frozenset[str]) -> bool:
        limit = int(toxic.value("bytes"))
        allowed = chunk.data[: max(0, limit - self._passed.get(toxic.uid, 0))]
        if allowed:
            if not self.deliver(Chunk(allowed, chunk.at), direction, done):
                return False
            self._passed[toxic.uid] = self._passed.get(toxic.uid, 0) + len(allowed)
        if self._passed.get(toxic.uid, 0) >= limit:
            self.close()
            return False
        return True

    # --- helpers ---------------------------------------------------------------------------------------

    def _mine(self, stream: str, type_: str) -> list[ToxicSpec]:
        """The toxics of `type_` in force on `stream` that apply to this connection."""
        return [t for t in self._source.toxics_on(stream) if t.type == type_ and self._applies(t)]

    def _applies(self, toxic: ToxicSpec) -> bool:
        hit = self._rolls.get(toxic.uid)
        if hit is None:
            hit = self._rolls[toxic.uid] = random.random() < toxic.toxicity
        return hit

    def _hold(self, deadline: Callable[[], float]) -> None:
        """Wait until `deadline()`, re-evaluating it whenever the toxics change."""
        while (left := deadline() - time.monotonic()) > 0:
            if not self._source.wait_for_change(left):
                return

    def _arm_timeout(self, toxic: ToxicSpec) -> None:
        # Rolled here even for timeout 0, so removing the toxic closes every connection it held, idle or not.
        if toxic.type == "timeout" and self._applies(toxic) and toxic.value("timeout") > 0:
            self._timers[toxic.uid] = gevent.spawn_later(toxic.seconds("timeout"), self._time_out, toxic.uid)

    def _time_out(self, uid: int) -> None:
        self._timers.pop(uid, None)
        self.close()


class _Direction:
    """One direction of a connection: reads in a libev callback, sends directly or via a writer greenlet."""

    def __init__(self, connection: Connection, source: socket.socket, dest: socket.socket, stream: str) -> None:
        loop = gevent.get_hub().loop
        self.connection = connection
        self.source = source
        self.dest = dest
        self.stream = stream
        self._toxics_on = connection._source.toxics_on  # noqa: SLF001 (hot path: one lookup per chunk)
        self._readable = loop.io(source.fileno(), 1)
        self._writable = loop.io(dest.fileno(), 2)
        self._unsent: memoryview | None = None  # the rest of a direct send the peer could not take yet
        self._queue: deque[Chunk | None] = deque()  # None: the source closed
        self._queued = 0
        self._wake = Event()
        self.writer: Greenlet | None = None

    def start(self) -> None:
        self._readable.start(self._on_readable)

    def stop(self) -> None:
        for watcher in (self._readable, self._writable):
            watcher.stop()
            watcher.close()

    def _on_readable(self) -> None:
        try:
            data = self.source.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            self.connection.close(reset=True)
            return
        except OSError:
            self.connection.close()
            return
        if self.writer is None and not self._toxics_on(self.stream):
            if data:
                self._send_now(data)
            else:
                self._readable.stop()
                self.connection.stream_ended(self.dest)
            return
        self._enqueue(Chunk(data, time.monotonic()) if data else None)

    def _send_now(self, data: bytes) -> None:
        try:
            sent = self.dest.send(data)
        except BlockingIOError:
            sent = 0
        except ConnectionResetError:
            self.connection.close(reset=True)
            return
        except OSError:
            self.connection.close()
            return
        if sent < len(data):
            self._unsent = memoryview(data)[sent:]
            self._readable.stop()
            self._writable.start(self._on_writable)

    def _on_writable(self) -> None:
        assert self._unsent is not None
        try:
            sent = self.dest.send(self._unsent)
        except BlockingIOError:
            return
        except OSError:
            self.connection.close()
            return
        self._unsent = self._unsent[sent:]
        if not self._unsent:
            self._unsent = None
            self._writable.stop()
            self._readable.start(self._on_readable)

    def _enqueue(self, chunk: Chunk | None) -> None:
        self._queue.append(chunk)
        if chunk is None:
            self._readable.stop()
        else:
            self._queued += len(chunk.data)
            if self._queued >= _QUEUE_LIMIT:
                self._readable.stop()  # back-pressure: resumed once the writer has caught up
        if self.writer is None:
            self.writer = gevent.spawn(self._write_through_toxics)
        else:
            self._wake.set()

    def _write_through_toxics(self) -> None:
        try:
            while not self.connection.closed:
                if not self._queue:
                    if not self._toxics_on(self.stream):
                        return  # back to direct sends
                    self._wake.clear()
                    self._wake.wait()
                    continue
                chunk = self._queue.popleft()
                if chunk is None:
                    self.connection.deliver_close(self)
                    return
                self._queued -= len(chunk.data)
                if self._queued < _QUEUE_LIMIT // 2 and not self._readable.active and not self.connection.closed:
                    self._readable.start(self._on_readable)
                if not self.connection.deliver(chunk, self):
                    return
        except ConnectionResetError:
            self.connection.close(reset=True)
        except OSError:
            self.connection.close()
        finally:
            if self.writer is gevent.getcurrent():
                self.writer = None

    def send_all(self, data: bytes) -> None:
        """Send from the writer greenlet, waiting cooperatively while the peer's window is full."""
        view = memoryview(data)
        while view:
            try:
                sent = self.dest.send(view)
            except BlockingIOError:
                wait_write(self.dest.fileno())
                continue
            view = view[sent:]


def slice_bounds(size: int, average: int, variation: int, rng: random.Random | None = None) -> list[tuple[int, int]]:
    """Toxiproxy's slicer: halve a chunk (the middle moved by up to +/- variation) until pieces are small."""
    choose = rng or random
    bounds: list[tuple[int, int]] = []
    pending = [(0, size)]
    while pending:
        low, high = pending.pop()
        if (high - low) - average <= variation or high - low < 2:
            bounds.append((low, high))
            continue
        middle = low + (high - low) // 2 + (choose.randrange(variation * 2) - variation if variation else 0)
        middle = min(max(middle, low + 1), high - 1)  # Toxiproxy trusts variation < average; we clamp
        pending += [(middle, high), (low, middle)]  # the left half is taken first: bounds stay in order
    return bounds


def _plain(sock: socket.socket) -> socket.socket:
    """The same connection as a plain non-blocking socket, for the libev callbacks."""
    plain = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    plain.setblocking(False)
    return plain
