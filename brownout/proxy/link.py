"""One proxied TCP connection: two directions (client -> upstream, upstream -> client) through the toxics.

Each direction reads in a libev callback, not a greenlet: with no toxic on its stream a chunk is sent on
at once from the callback (no greenlet switch at all, which is what makes the proxy as fast as Toxiproxy).
With toxics, the callback stamps each chunk with its arrival time and queues it, and a writer greenlet
takes the chunks in order through the connection's ToxicChain (chain.py); reading goes on meanwhile, up
to a bounded queue like Toxiproxy's latency buffer, so every chunk is timed from its own arrival.

The connection also owns what is not per chunk: timeout toxics' timers (a timeout > 0 closes the
connection that long after the toxic took hold; removing a timeout toxic closes the connections it held,
since their data is lost), resets (TCP RST via SO_LINGER 0) and closes. Half-closes are passed on, so
request-then-shutdown clients work.
"""

from __future__ import annotations

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

from brownout.proxy.chain import Chunk, ToxicChain
from brownout.proxy.chain import ToxicSource as _ToxicSource
from brownout.proxy.httptoxics import HTTP_TYPES
from brownout.proxy.toxics import DOWNSTREAM, UPSTREAM, ToxicSpec
from brownout.proxy.traffic import Traffic

_CHUNK = 64 * 1024
# A queue as big as Toxiproxy's latency buffer (1024 chunks of 32 KiB): a large answer is read (and so
# timed) as it arrives, not when the toxics get round to it.
_QUEUE_LIMIT = 32 * 1024 * 1024
_RESET_LINGER = struct.pack("ii", 1, 0)
_CUT = Chunk(b"", 0.0)  # queued after the last bytes an http_drop lets through: close there


class ToxicSource(_ToxicSource, Protocol):
    """What a connection needs from its proxy: its toxics, its counters, and to hear when the connection closed."""

    traffic: Traffic

    def connection_closed(self, connection: Connection) -> None: ...


class Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, source: ToxicSource) -> None:
        self._client = _plain(client)
        self._upstream = _plain(upstream)
        self._source = source
        self.chain = ToxicChain(source, lambda reset: self.close(reset=reset))
        self._timers: dict[int, Greenlet] = {}  # timeout uid -> the greenlet that closes us
        self._directions = (
            _Direction(self, self._client, self._upstream, UPSTREAM),
            _Direction(self, self._upstream, self._client, DOWNSTREAM),
        )
        self.chain.client = self._directions[1]  # http toxics answer and cut on the client-bound side
        self._streams_ended = 0
        self.closed = False

    def start(self) -> None:
        """Pipe both ways until the connection ends (in callbacks and writer greenlets; returns at once)."""
        for toxic in self._source.toxics_on(UPSTREAM) + self._source.toxics_on(DOWNSTREAM):
            self._arm_timeout(toxic)
        for direction in self._directions:
            direction.start()

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
        self._source.connection_closed(self)

    def lost(self, exc: OSError) -> None:
        """A socket failed: a reset is passed on as a reset (the other side sees RST), anything else closes."""
        self.close(reset=isinstance(exc, ConnectionResetError))

    def toxics_changed(self, before: tuple[ToxicSpec, ...], after: tuple[ToxicSpec, ...]) -> None:
        """Called by the proxy after its toxics changed: start and stop timeout toxics' timers."""
        if self.closed:
            return
        if self.chain.http is not None and not any(t.type in HTTP_TYPES for t in after) and not self.chain.end_http():
            self.close()  # a swallowed request was half read: its rest must not reach the upstream
            return
        still_there = {toxic.name: toxic for toxic in after}
        for old in before:
            if old.type != "timeout" or still_there.get(old.name) is old:
                continue
            timer = self._timers.pop(old.uid, None)
            if timer is not None:
                timer.kill(block=False)
            if old.name not in still_there and self.chain.rolled_in(old):
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

    def _arm_timeout(self, toxic: ToxicSpec) -> None:
        # Rolled here even for timeout 0, so removing the toxic closes every connection it held, idle or not.
        if toxic.type == "timeout" and self.chain.applies(toxic) and toxic.value("timeout") > 0:
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
        self._tally = connection._source.traffic.streams[stream]  # noqa: SLF001 (one add per chunk)
        self._readable = loop.io(source.fileno(), 1)
        self._writable = loop.io(dest.fileno(), 2)
        self._unsent: memoryview | None = None  # the rest of a direct send the peer could not take yet
        self._queue: deque[Chunk | None] = deque()  # None: the source closed
        self._queued = 0
        self._wake = Event()
        self.writer: Greenlet | None = None
        # Set by an HttpExchange on the client-bound side: sees every chunk read, may cut the connection.
        self.tap: Callable[[bytes], tuple[bytes, bool | None]] | None = None
        self._cut_reset = False

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
        except OSError as exc:
            self.connection.lost(exc)
            return
        if self.tap is not None and data:
            self._through_tap(data)
            return
        if self.writer is None and not self._toxics_on(self.stream):
            if data:
                self._tally.direct += len(data)
                self._send_now(data)
            else:
                self._readable.stop()
                self.connection.stream_ended(self.dest)
            return
        self._enqueue(Chunk(data, time.monotonic()) if data else None)

    def _through_tap(self, data: bytes) -> None:
        """The upstream's bytes with an http toxic on the connection: counted as responses, maybe cut short."""
        assert self.tap is not None
        data, cut = self.tap(data)
        direct = self.writer is None and not self._toxics_on(self.stream)
        if data and direct:
            self._tally.direct += len(data)
            self._send_now(data)
        elif data:
            self._enqueue(Chunk(data, time.monotonic()))
        if cut is not None and direct:
            self.connection.close(reset=cut)
        elif cut is not None:
            self._cut_reset = cut
            self._enqueue(_CUT)

    def inject(self, data: bytes) -> None:
        """An answer an http toxic gives, queued behind what was read before (and through this side's toxics)."""
        if not self.connection.closed:
            self._enqueue(Chunk(data, time.monotonic()))

    def _send_now(self, data: bytes) -> None:
        try:
            sent = self.dest.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._tally.unsent += len(data)
            self.connection.lost(exc)
            return
        if sent < len(data):
            self._tally.unsent += len(data) - sent
            self._unsent = memoryview(data)[sent:]
            self._readable.stop()
            self._writable.start(self._on_writable)

    def _on_writable(self) -> None:
        assert self._unsent is not None
        try:
            sent = self.dest.send(self._unsent)
        except BlockingIOError:
            return
        except OSError as exc:
            self.connection.lost(exc)
            return
        self._tally.unsent -= sent
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
            self._tally.queued += len(chunk.data)
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
                if chunk is _CUT:
                    self.connection.close(reset=self._cut_reset)
                    return
                if chunk is None:
                    self.connection.chain.hold_close(self.stream)
                    self.connection.stream_ended(self.dest)
                    return
                self._queued -= len(chunk.data)
                if self._queued < _QUEUE_LIMIT // 2 and not self._readable.active and not self.connection.closed:
                    self._readable.start(self._on_readable)
                if not self.connection.chain.deliver(chunk, self):
                    return
        except OSError as exc:
            self.connection.lost(exc)
        finally:
            if self.writer is gevent.getcurrent():
                self.writer = None

    def send_all(self, data: bytes) -> None:
        """Send from the writer greenlet, waiting cooperatively while the peer's window is full."""
        if self._unsent is not None:  # a direct send still part-done (an injected answer came meanwhile): first
            rest, self._unsent = bytes(self._unsent), None
            self._writable.stop()
            self._tally.unsent -= len(rest)  # no longer a direct send: counted below as sent through the toxics
            self._tally.direct -= len(rest)
            data = rest + data
        view = memoryview(data)
        while view:
            try:
                sent = self.dest.send(view)
            except BlockingIOError:
                wait_write(self.dest.fileno())
                continue
            self._tally.through_toxics += sent
            view = view[sent:]


def _plain(sock: socket.socket) -> socket.socket:
    """The same connection as a plain non-blocking socket, for the libev callbacks."""
    if type(sock) is socket.socket:
        sock.setblocking(False)
        return sock
    plain = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    plain.setblocking(False)
    return plain
