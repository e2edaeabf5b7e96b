"""Proxies: a listener per proxy (listener.py), its open connections, its toxics; and the registry.

Everything runs in one gevent hub, so state changes need no locks: a change is one uninterrupted step.
Toxics are an immutable tuple that is replaced, never edited, so a pump reading it always sees a whole set.
"""

from __future__ import annotations

import dataclasses
import socket

from gevent.event import Event

from brownout.proxy.config import Address, ProxySpec, bind_host
from brownout.proxy.errors import ApiError
from brownout.proxy.link import Connection
from brownout.proxy.listener import Listener, UpstreamConnect
from brownout.proxy.toxics import DOWNSTREAM, UPSTREAM, ToxicSpec, parse_toxic, updated_toxic
from brownout.proxy.traffic import Traffic, metrics_text


class Proxy:
    def __init__(self, spec: ProxySpec, lenient: bool = False) -> None:
        self.spec = spec
        self.lenient = lenient
        self._toxics: tuple[ToxicSpec, ...] = ()
        self._by_stream: dict[str, tuple[ToxicSpec, ...]] = {UPSTREAM: (), DOWNSTREAM: ()}
        self._changed = Event()
        self._connections: set[Connection] = set()
        self._connecting: set[UpstreamConnect] = set()
        self._listener: Listener | None = None
        self.traffic = Traffic()  # kept across disable / enable: a `down` fault's evidence spans both
        self.traffic.start_clock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def enabled(self) -> bool:
        return self._listener is not None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": str(self.spec.listen),
            "upstream": str(self.spec.upstream),
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }

    def toxics_json(self) -> list[dict[str, object]]:
        """Upstream toxics first, then downstream, each in the order added: Toxiproxy's listing."""
        return [toxic.as_json() for stream in (UPSTREAM, DOWNSTREAM) for toxic in self._by_stream[stream]]

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._listener is not None:
            return
        listen = self.spec.listen
        try:
            self._listener = Listener(bind_host(listen.host), listen.port, self._accepted)
        except (OSError, ValueError, OverflowError) as exc:  # busy, not ours, or a name that does not resolve
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ApiError(f"proxy {self.name!r} cannot listen on {listen}: {reason}", 409) from None
        # Like Toxiproxy, a proxy asked for port 0 reports (and keeps, across disable/enable) the real port.
        self.spec = dataclasses.replace(self.spec, listen=Address(listen.host, self._listener.port))

    def stop(self) -> None:
        """Stop listening (new connections are refused) and drop every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for attempt in list(self._connecting):
            attempt.cancel()
        self._connecting.clear()
        for connection in list(self._connections):
            connection.close()

    def update(self, spec: ProxySpec) -> None:
        """Apply a new listen / upstream / enabled.

        A new listen or upstream address restarts the proxy, dropping its open connections, as Toxiproxy
        does (a connection to the old upstream would otherwise carry on as if nothing had changed).
        """
        moved = spec.listen != self.spec.listen or spec.upstream != self.spec.upstream
        if moved or not spec.enabled:
            self.stop()
        self.spec = spec
        if spec.enabled:
            self.start()

    # --- toxics ----------------------------------------------------------------------------------------

    def toxic(self, name: str) -> ToxicSpec:
        for toxic in self._toxics:
            if toxic.name == name:
                return toxic
        raise ApiError(f"toxic not found: {name!r} on proxy {self.name!r}", 404)

    def add_toxic(self, body: object) -> ToxicSpec:
        try:
            toxic = parse_toxic(body, self.lenient, taken=lambda name: any(t.name == name for t in self._toxics))
        except ApiError as exc:
            if exc.status == 409:
                raise ApiError(f"{exc.message} on proxy {self.name!r}", 409) from None
            raise
        self._set_toxics((*self._toxics, toxic))
        return toxic

    def update_toxic(self, name: str, body: object) -> ToxicSpec:
        new = updated_toxic(self.toxic(name), body, self.lenient)
        self._set_toxics(tuple(new if t.name == name else t for t in self._toxics))
        return new

    def remove_toxic(self, name: str) -> None:
        self.toxic(name)
        self._set_toxics(tuple(t for t in self._toxics if t.name != name))

    def remove_all_toxics(self) -> None:
        self._set_toxics(())

    def _set_toxics(self, toxics: tuple[ToxicSpec, ...]) -> None:
        before, self._toxics = self._toxics, toxics
        self._by_stream = {s: tuple(t for t in toxics if t.direction == s) for s in (UPSTREAM, DOWNSTREAM)}
        for connection in list(self._connections):
            connection.toxics_changed(before, toxics)
        changed, self._changed = self._changed, Event()
        changed.set()

    # --- what a Connection needs (link.ToxicSource) ----------------------------------------------------

    def toxics_on(self, stream: str) -> tuple[ToxicSpec, ...]:
        return self._by_stream[stream]

    def wait_for_change(self, seconds: float) -> bool:
        return bool(self._changed.wait(seconds))

    def connection_closed(self, connection: Connection) -> None:
        self._connections.discard(connection)

    # --- serving ---------------------------------------------------------------------------------------

    def _accepted(self, client: socket.socket) -> None:
        self.traffic.connections += 1
        attempt = UpstreamConnect(client, self.spec.upstream, self._connected, self._connect_failed)
        self._connecting.add(attempt)
        attempt.start()

    def _connect_failed(self, attempt: UpstreamConnect) -> None:
        self._connecting.discard(attempt)

    def _connected(self, attempt: UpstreamConnect, client: socket.socket, upstream: socket.socket) -> None:
        self._connecting.discard(attempt)
        try:
            for sock in (client, upstream):
                # Without NODELAY every small keep-alive response would wait ~40 ms for delayed ACKs.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client went away meanwhile
            client.close()
            upstream.close()
            return
        connection = Connection(client, upstream, self)
        self._connections.add(connection)
        connection.start()


class ProxyRegistry:
    """All proxies by name: the state behind the API."""

    def __init__(self, lenient: bool = False) -> None:
        self._proxies: dict[str, Proxy] = {}
        self.lenient = lenient

    def all(self) -> list[Proxy]:
        return list(self._proxies.values())

    def has(self, name: str) -> bool:
        return name in self._proxies

    def get(self, name: str) -> Proxy:
        proxy = self._proxies.get(name)
        if proxy is None:
            raise ApiError(f"proxy not found: {name!r}", 404)
        return proxy

    def create(self, spec: ProxySpec) -> Proxy:
        if spec.name in self._proxies:
            raise ApiError(f"proxy already exists: {spec.name!r}", 409)
        proxy = Proxy(spec, self.lenient)
        if spec.enabled:
            proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    def populate_one(self, spec: ProxySpec) -> Proxy:
        """Toxiproxy's /populate for one proxy: created, replaced if its addresses changed, else left alone.

        Left alone entirely, as Toxiproxy does: its toxics stay and its `enabled` is not touched (so a
        populate cannot take a proxy down that a fault had just enabled, or the reverse).
        """
        current = self._proxies.get(spec.name)
        if current is not None:
            if str(current.spec.listen) == str(spec.listen) and current.spec.upstream == spec.upstream:
                return current
            self.delete(spec.name)
        return self.create(spec)

    def delete(self, name: str) -> None:
        proxy = self.get(name)
        proxy.stop()
        proxy.traffic.stop_clock()
        del self._proxies[name]

    def metrics(self) -> str:
        """Toxiproxy's `-proxy-metrics` text for every proxy."""
        return metrics_text([(p.name, str(p.spec.listen), str(p.spec.upstream), p.traffic) for p in self.all()])

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's POST /reset)."""
        for proxy in self.all():
            proxy.remove_all_toxics()
            proxy.start()

    def close_all(self) -> None:
        for proxy in self.all():
            proxy.stop()
            proxy.traffic.stop_clock()
