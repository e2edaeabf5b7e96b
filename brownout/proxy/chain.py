"""The toxics of one connection, walked chunk by chunk: Toxiproxy's pipeline of toxics, as deadlines.

Toxics act in the order they were added (Toxiproxy's chain), and the toxics in force *now* apply: a
waiting chunk is re-timed when the toxics change (a removed latency releases it at once). Every wait is
a deadline computed from the chunk's own arrival, so a chunk that arrived while an earlier one was held is
not held again for the full latency; walking the chain one chunk at a time then gives the same times as
Toxiproxy's goroutine per toxic. Toxicity is rolled once per connection and toxic version.

Per toxic, following Toxiproxy's: latency holds a chunk until arrival + latency +/- jitter; bandwidth
paces at `rate` KB/s in slices of 100 ms; slicer cuts a chunk into pieces of about `average_size` +/-
`size_variation` bytes, `delay` us apart; timeout drops all data; reset_peer waits for data, then
`timeout` ms, then resets both sides; limit_data closes the connection once `bytes` bytes have passed;
slow_close delays passing on a close; noop does nothing.

brownout's own: latency may follow a distribution (distributions.py); stall holds a chunk, with
`probability` per chunk, `delay` ms from its arrival (what a lost segment's retransmission looks like to the
application: later data waits behind it, nothing is lost or reordered); the first http toxic in the chain
hands the chunk to the connection's HttpExchange (httptoxics.py), which applies all of them per request
and passes what goes on through the toxics after them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol

from brownout.proxy.distributions import latency_seconds
from brownout.proxy.httptoxics import HTTP_TYPES, ClientSide, HttpExchange
from brownout.proxy.toxics import UPSTREAM, ToxicSpec


class ToxicSource(Protocol):
    """What a connection's toxics need from its proxy."""

    def toxics_on(self, stream: str) -> tuple[ToxicSpec, ...]: ...

    def wait_for_change(self, seconds: float) -> bool:
        """Block up to `seconds`; True if the toxics changed meanwhile."""
        ...


class Output(Protocol):
    """Where a direction's chunks go once through the toxics."""

    stream: str

    def send_all(self, data: bytes) -> None: ...


class Chunk:
    """Data read from one side, and the time the toxics measure it from (moved on by each latency)."""

    __slots__ = ("data", "at")

    def __init__(self, data: bytes, at: float) -> None:
        self.data = data
        self.at = at


class ToxicChain:
    """One connection's toxic state (toxicity rolls, bytes passed, bandwidth debt) and the walk itself."""

    def __init__(self, source: ToxicSource, close: Callable[[bool], None]) -> None:
        self._source = source
        self._close = close  # close(reset): end the connection, with a TCP RST when reset
        self._rolls: dict[int, bool] = {}  # toxic uid -> does it apply to this connection
        self._passed: dict[int, int] = {}  # limit_data uid -> bytes passed through it
        self._clocks: dict[int, float] = {}  # slicer uid -> when it is free again
        self._carry: dict[int, float] = {}  # bandwidth uid -> time overslept, taken off the next wait
        self.client: ClientSide | None = None  # the client-bound side, for the http toxics' answers
        self.http: HttpExchange | None = None  # made when an http toxic first sees this connection

    def rolled_in(self, toxic: ToxicSpec) -> bool:
        """True if `toxic` was rolled and applies to this connection (without rolling it now)."""
        return self._rolls.get(toxic.uid, False)

    def deliver(self, chunk: Chunk, out: Output, done: frozenset[str] = frozenset()) -> bool:
        """Send `chunk` through the toxics not in `done`, in chain order; False once they ended the connection."""
        stream = out.stream
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
                return self._pace(chunk, toxic, out, done)
            elif toxic.type == "slicer":
                return self._slice(chunk, toxic, out, done)
            elif toxic.type == "limit_data":
                return self._limit(chunk, toxic, out, done)
            elif toxic.type == "stall":
                self._stall(chunk, toxic, stream)
            elif toxic.type in HTTP_TYPES:
                return self._through_http(chunk, out, done - {toxic.name})
        out.send_all(chunk.data)
        return True

    def hold_close(self, stream: str) -> None:
        """Wait as the slow_close toxics on `stream` say before a close is passed on."""
        ended_at = time.monotonic()
        self.hold(lambda: ended_at + sum(t.seconds("delay") for t in self._mine(stream, "slow_close")))

    def _next_toxic(self, stream: str, done: frozenset[str]) -> ToxicSpec | None:
        for toxic in self._source.toxics_on(stream):
            if toxic.name not in done and self.applies(toxic):
                return toxic
        return None

    def _current(self, stream: str, name: str, type_: str) -> ToxicSpec | None:
        """The toxic called `name` as it is now (updated, or None once removed)."""
        for toxic in self._source.toxics_on(stream):
            if toxic.name == name:
                return toxic if toxic.type == type_ and self.applies(toxic) else None
        return None

    def _hold_latency(self, chunk: Chunk, toxic: ToxicSpec, stream: str) -> None:
        delays: dict[int, float] = {}  # drawn once per toxic version (an update draws again)

        def release_at() -> float:
            now = self._current(stream, toxic.name, "latency")
            if now is None:
                return 0.0
            if now.uid not in delays:
                delays[now.uid] = latency_seconds(now)
            return chunk.at + delays[now.uid]

        self.hold(release_at)
        chunk.at = max(chunk.at, release_at())  # a later latency toxic counts from here, as in Toxiproxy

    def _stall(self, chunk: Chunk, toxic: ToxicSpec, stream: str) -> None:
        if random.random() >= toxic.value("probability"):
            return

        def release_at() -> float:
            now = self._current(stream, toxic.name, "stall")
            return chunk.at + now.seconds("delay") if now else 0.0

        self.hold(release_at)
        chunk.at = max(chunk.at, release_at())

    def _through_http(self, chunk: Chunk, out: Output, done: frozenset[str]) -> bool:
        """All http toxics at once, per request; the rest of the chain per piece passed on."""
        if self.client is None or out.stream != UPSTREAM:
            http = {t.name for t in self._source.toxics_on(out.stream) if t.type in HTTP_TYPES}
            return self.deliver(chunk, out, done | http)
        if self.http is None:
            self.http = HttpExchange(self.client, self.hold)
        toxics = tuple(t for t in self._source.toxics_on(UPSTREAM) if t.type in HTTP_TYPES and t.name not in done)
        after = done | {t.name for t in toxics}
        if self.http.pass_chunk(
            chunk.data, chunk.at, toxics, lambda data: self.deliver(Chunk(data, chunk.at), out, after)
        ):
            return True
        self._close(False)
        return False

    def end_http(self) -> bool:
        """The last http toxic went: stop watching requests; False if the connection must close (mid-request)."""
        if self.http is None:
            return True
        exchange, self.http = self.http, None
        exchange.detach()
        return not exchange.mid_request

    def _reset_after_wait(self, toxic: ToxicSpec, stream: str) -> bool:
        seen_at = time.monotonic()

        def reset_at() -> float:
            now = self._current(stream, toxic.name, "reset_peer")
            return seen_at + now.seconds("timeout") if now else 0.0

        self.hold(reset_at)
        if self._current(stream, toxic.name, "reset_peer") is None:
            return False
        self._close(True)
        return True

    def _pace(self, chunk: Chunk, toxic: ToxicSpec, out: Output, done: frozenset[str]) -> bool:
        def bytes_per_second() -> float:
            now = self._current(out.stream, toxic.name, "bandwidth")
            return now.value("rate") * 1000.0 if now else 0.0

        view = memoryview(chunk.data)
        while view:
            rate = bytes_per_second()
            if not rate:
                return self.deliver(Chunk(bytes(view), chunk.at), out, done)
            piece = view[: max(1, int(rate / 10))]  # 100 ms worth, as Toxiproxy slices
            # As Toxiproxy: time overslept on one piece is taken off the next (carried as a negative
            # wait), while an idle stream earns no credit.
            started, carried = time.monotonic(), self._carry.get(toxic.uid, 0.0)

            def send_at() -> float:
                return started + carried + len(piece) / (bytes_per_second() or float("inf"))  # noqa: B023

            self.hold(send_at)
            self._carry[toxic.uid] = min(0.0, send_at() - time.monotonic())
            if not self.deliver(Chunk(bytes(piece), chunk.at), out, done):
                return False
            view = view[len(piece) :]
        return True

    def _slice(self, chunk: Chunk, toxic: ToxicSpec, out: Output, done: frozenset[str]) -> bool:
        size = int(toxic.value("average_size"))
        if size < 1:  # only with --lenient: Toxiproxy would never deliver; brownout passes the data whole
            return self.deliver(chunk, out, done)
        bounds = slice_bounds(len(chunk.data), size, int(toxic.value("size_variation")))
        start = max(time.monotonic(), self._clocks.get(toxic.uid, 0.0))
        for index, (low, high) in enumerate(bounds):
            if self._current(out.stream, toxic.name, "slicer") is None:  # removed: the rest goes whole
                return self.deliver(Chunk(chunk.data[low:], chunk.at), out, done)
            if not self.deliver(Chunk(chunk.data[low:high], chunk.at), out, done):
                return False
            pause = toxic.value("delay") / 1e6
            self._clocks[toxic.uid] = start + (index + 1) * pause
            if pause:
                self.hold(lambda: self._clocks[toxic.uid])
        return True

    def _limit(self, chunk: Chunk, toxic: ToxicSpec, out: Output, done: frozenset[str]) -> bool:
        limit = int(toxic.value("bytes"))
        allowed = chunk.data[: max(0, limit - self._passed.get(toxic.uid, 0))]
        if allowed:
            if not self.deliver(Chunk(allowed, chunk.at), out, done):
                return False
            self._passed[toxic.uid] = self._passed.get(toxic.uid, 0) + len(allowed)
        if self._passed.get(toxic.uid, 0) >= limit:
            self._close(False)
            return False
        return True

    def _mine(self, stream: str, type_: str) -> list[ToxicSpec]:
        """The toxics of `type_` in force on `stream` that apply to this connection."""
        return [t for t in self._source.toxics_on(stream) if t.type == type_ and self.applies(t)]

    def applies(self, toxic: ToxicSpec) -> bool:
        hit = self._rolls.get(toxic.uid)
        if hit is None:
            # http toxics roll their toxicity per request (httptoxics.fires), not per connection.
            hit = self._rolls[toxic.uid] = toxic.type in HTTP_TYPES or random.random() < toxic.toxicity
        return hit

    def hold(self, deadline: Callable[[], float]) -> None:
        """Wait until `deadline()`, re-evaluating it whenever the toxics change."""
        while (left := deadline() - time.monotonic()) > 0:
            if not self._source.wait_for_change(left):
                return


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
