"""One proxied TCP connection: two pumps (client -> upstream, upstream -> client) through the toxics.

Each pump reads a chunk, looks at the toxics in force on its stream *now* and applies them, so toxics
added, changed or removed while a connection is open act on its next chunk; a pump waiting on a toxic
(latency, bandwidth, reset_peer, slow_close) wakes when the toxics change and re-reads them. With no
toxics a chunk goes straight through. Toxicity is rolled once per connection and toxic version.

Semantics follow Toxiproxy's toxics: latency delays each chunk by latency +/- jitter from when it was read;
timeout drops all data and, when > 0, closes the connection that long after the toxic took hold (removing
a timeout toxic closes the connections it held, since their data is lost); reset_peer waits for the first
data on its stream, then `timeout` ms, then resets both sides (SO_LINGER 0: TCP RST); bandwidth paces data
at `rate` KB/s in slices of 100 ms; slow_close delays passing on a close; limit_data closes the connection
once `bytes` bytes have passed. Half-closes are passed on, so request-then-shutdown clients work.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Callable
from typing import Protocol

import gevent
from gevent import Greenlet

from brownout.proxy.toxics import DOWNSTREAM, UPSTREAM, ToxicSpec

_CHUNK = 64 * 1024
_RESET_LINGER = struct.pack("ii", 1, 0)


class ToxicSource(Protocol):
    """What a connection needs from its proxy."""

    def toxics_on(self, stream: str) -> tuple[ToxicSpec, ...]: ...

    def wait_for_change(self, seconds: float) -> bool:
        """Block up to `seconds`; True if the toxics changed meanwhile."""
        ...

    def connection_closed(self, connection: Connection) -> None: ...


class Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, source: ToxicSource) -> None:
        self._client = client
        self._upstream = upstream
        self._source = source
        self._rolls: dict[int, bool] = {}  # toxic uid -> does it apply to this connection
        self._passed: dict[int, int] = {}  # limit_data uid -> bytes passed through it
        self._timers: dict[int, Greenlet] = {}  # timeout uid -> the greenlet that closes us
        self._pumps: list[Greenlet] = []
        self._streams_ended = 0
        self.closed = False

    def run(self) -> None:
        """Pipe both ways until the connection ends; runs in (and blocks) the accepting greenlet."""
        for toxic in self._source.toxics_on(UPSTREAM) + self._source.toxics_on(DOWNSTREAM):
            self._arm_timeout(toxic)
        downstream = gevent.spawn(self._pump, self._upstream, self._client, DOWNSTREAM)
        self._pumps = [gevent.getcurrent(), downstream]
        self._pump(self._client, self._upstream, UPSTREAM)
        downstream.join()

    def close(self, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for sock in (self._client, self._upstream):
            try:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_LINGER)
                sock.close()
            except OSError:
                pass
        current = gevent.getcurrent()
        for greenlet in [*self._timers.values(), *self._pumps]:
            if greenlet is not current:
                greenlet.kill(block=False)
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

    # --- the pumps -------------------------------------------------------------------------------------

    def _pump(self, source: socket.socket, dest: socket.socket, stream: str) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    self._pass_on_close(dest, stream)
                    return
                if not self._source.toxics_on(stream):
                    # One plain send usually takes it all and costs less than gevent's sendall machinery.
                    sent = dest.send(data)
                    if sent < len(data):
                        dest.sendall(memoryview(data)[sent:])
                elif not self._deliver(data, dest, stream, time.monotonic()):
                    return
        except ConnectionResetError:
            self.close(reset=True)
        except OSError:
            self.close()

    def _deliver(self, data: bytes, dest: socket.socket, stream: str, read_at: float) -> bool:
        """Send `data` through the toxics on `stream`; False when the toxics ended the connection."""
        jitters: dict[int, float] = {}
        self._hold(lambda: read_at + sum(self._latency(t, jitters) for t in self._mine(stream, "latency")))
        if self._mine(stream, "timeout"):
            return True  # a black hole: the data is dropped
        if self._mine(stream, "reset_peer"):
            seen_at = time.monotonic()

            def reset_at() -> float:
                resets = self._mine(stream, "reset_peer")
                return seen_at + min(t.seconds("timeout") for t in resets) if resets else seen_at

            self._hold(reset_at)
            if self._mine(stream, "reset_peer"):
                self.close(reset=True)
                return False
        limits = self._mine(stream, "limit_data")
        for toxic in limits:
            data = data[: max(0, int(toxic.value("bytes")) - self._passed.get(toxic.uid, 0))]
        self._send_paced(data, dest, stream)
        for toxic in limits:
            self._passed[toxic.uid] = self._passed.get(toxic.uid, 0) + len(data)
        if any(self._passed[t.uid] >= t.value("bytes") for t in limits):
            self.close()
            return False
        return True

    def _send_paced(self, data: bytes, dest: socket.socket, stream: str) -> None:
        def bytes_per_second() -> float:
            rates = [t.value("rate") for t in self._mine(stream, "bandwidth") if t.value("rate") > 0]
            return min(rates) * 1000.0 if rates else 0.0

        view = memoryview(data)
        while view:
            rate = bytes_per_second()
            if not rate:
                dest.sendall(view)
                return
            piece = view[: max(1, int(rate / 10))]  # 100 ms worth, as Toxiproxy slices
            started = time.monotonic()
            self._hold(lambda: started + len(piece) / (bytes_per_second() or float("inf")))  # noqa: B023
            dest.sendall(piece)
            view = view[len(piece) :]

    def _pass_on_close(self, dest: socket.socket, stream: str) -> None:
        ended_at = time.monotonic()
        self._hold(lambda: ended_at + sum(t.seconds("delay") for t in self._mine(stream, "slow_close")))
        self._streams_ended += 1
        if self._streams_ended == 2:
            self.close()
            return
        try:
            dest.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    # --- helpers ---------------------------------------------------------------------------------------

    def _mine(self, stream: str, type_: str) -> list[ToxicSpec]:
        """The toxics of `type_` in force on `stream` that apply to this connection."""
        return [t for t in self._source.toxics_on(stream) if t.type == type_ and self._applies(t)]

    def _applies(self, toxic: ToxicSpec) -> bool:
        hit = self._rolls.get(toxic.uid)
        if hit is None:
            hit = self._rolls[toxic.uid] = random.random() < toxic.toxicity
        return hit

    @staticmethod
    def _latency(toxic: ToxicSpec, jitters: dict[int, float]) -> float:
        if toxic.uid not in jitters:
            jitter = toxic.seconds("jitter")
            jitters[toxic.uid] = random.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, toxic.seconds("latency") + jitters[toxic.uid])

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
