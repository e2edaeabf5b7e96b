"""What a proxy carried: connections accepted, bytes each way, and when it last carried anything.

The evidence a network fault reached the service (the fault journal reads it at inject and at heal), so it
must cost the data plane next to nothing: a relayed chunk pays one integer add on its stream's tally, and
no clock is read per chunk. The time of the last activity comes from a libev timer that looks at the
totals every `_TICK_S` and stamps the time when they moved, so `idle_s` is exact to within one tick.

Bytes are counted as they arrive (Toxiproxy's `received`); `sent` is what left the proxy (a timeout toxic
swallows data, so it can be less), reckoned without a second add on the toxic-free path: there, a chunk
read is a chunk sent, except the rest of a short send, which is tallied on the (rare) path that handles it.
"""

from __future__ import annotations

import time
from typing import Any

import gevent

from brownout.proxy.toxics import DOWNSTREAM, UPSTREAM

_TICK_S = 0.25  # idle_s resolution; the 5 s "active before the fault" rule needs far less


class StreamTally:
    """One direction's byte counts over all of a proxy's connections, present and past."""

    __slots__ = ("direct", "queued", "unsent", "through_toxics")

    def __init__(self) -> None:
        self.direct = 0  # read and sent on at once (no toxic on the stream)
        self.queued = 0  # read and queued for the toxics
        self.unsent = 0  # of `direct`, not (yet) taken by the peer: short sends, lost connections
        self.through_toxics = 0  # sent out of the toxics

    @property
    def received(self) -> int:
        return self.direct + self.queued

    @property
    def sent(self) -> int:
        return self.direct - self.unsent + self.through_toxics


class Traffic:
    """One proxy's counters; `start_clock()` begins stamping the last activity, `stop_clock()` ends it."""

    def __init__(self) -> None:
        self.connections = 0
        self.streams = {UPSTREAM: StreamTally(), DOWNSTREAM: StreamTally()}
        self._last_active: float | None = None  # monotonic
        self._seen = (0, 0, 0)
        self._timer: Any = None

    def start_clock(self) -> None:
        if self._timer is None:
            self._timer = gevent.get_hub().loop.timer(_TICK_S, _TICK_S)
            self._timer.ref = False  # bookkeeping must not keep a process alive
            self._timer.start(self._tick)

    def stop_clock(self) -> None:
        self._tick()
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None

    def _tick(self) -> None:
        now = (self.connections, self.streams[UPSTREAM].received, self.streams[DOWNSTREAM].received)
        if now != self._seen:
            self._seen = now
            self._last_active = time.monotonic()

    def idle_s(self) -> float | None:
        """Seconds since the proxy last accepted a connection or carried a byte; None if it never did."""
        self._tick()
        return None if self._last_active is None else round(time.monotonic() - self._last_active, 3)

    def as_json(self) -> dict[str, object]:
        """The `GET /proxies/{name}/traffic` answer (a brownout addition to Toxiproxy's API)."""
        return {
            "connections": self.connections,
            "bytes_upstream": self.streams[UPSTREAM].received,
            "bytes_downstream": self.streams[DOWNSTREAM].received,
            "idle_s": self.idle_s(),
        }


def metrics_text(proxies: list[tuple[str, str, str, Traffic]]) -> str:
    """Toxiproxy 2.8's `-proxy-metrics` series, same names and labels, for (name, listen, upstream, traffic).

    Like Toxiproxy, a proxy shows up once it has carried a byte.
    """
    carried = sorted((p for p in proxies if p[3].streams[UPSTREAM].received + p[3].streams[DOWNSTREAM].received),
                     key=_name)  # fmt: skip
    lines: list[str] = []
    for metric in ("received", "sent") if carried else ():
        name = f"toxiproxy_proxy_{metric}_bytes_total"
        lines += [f"# HELP {name} ", f"# TYPE {name} counter"]
        for proxy, listen, upstream, traffic in carried:
            for direction in (DOWNSTREAM, UPSTREAM):
                value = getattr(traffic.streams[direction], metric)
                labels = f'direction="{direction}",listener="{listen}",proxy="{proxy}",upstream="{upstream}"'
                lines.append(f"{name}{{{labels}}} {value}")
    return "".join(line + "\n" for line in lines)


def _name(entry: tuple[str, str, str, Traffic]) -> str:
    return entry[0]
