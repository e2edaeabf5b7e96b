"""A proxy's listening socket and its connects upstream, both driven by libev callbacks.

A new connection costs no greenlet, no gevent socket wrapper and no extra turn of the loop: accept,
a non-blocking connect, and once the upstream answers, the Connection's own callbacks take over. Only
an upstream given by name goes through a greenlet, for gevent's resolver (a name is resolved afresh for
each connection, as Toxiproxy does).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import gevent
from gevent import socket as gsocket

from brownout.proxy.config import Address, dial_host

CONNECT_TIMEOUT_S = 5.0
_ACCEPTS_PER_WAKE = 64  # a burst of connections is taken in one callback, a bounded one
_ACCEPT_PAUSE_S = 0.1  # out of descriptors: the listener stays readable, so wait instead of spinning

Accepted = Callable[[socket.socket], None]
Connected = Callable[["UpstreamConnect", socket.socket, socket.socket], None]
Failed = Callable[["UpstreamConnect"], None]


class Listener:
    """A bound, listening socket whose connections are handed to `on_accept` from a libev callback."""

    def __init__(self, host: str, port: int, on_accept: Accepted) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            # As large as the system allows (Go's listeners do the same): a burst of clients must not
            # overflow the queue, or their SYNs are dropped and each waits a second to retry.
            sock.listen(socket.SOMAXCONN)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._on_accept = on_accept
        loop = gevent.get_hub().loop
        self._watcher = loop.io(sock.fileno(), 1)
        self._pause = loop.timer(_ACCEPT_PAUSE_S)
        self._watcher.start(self._accept_waiting)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def close(self) -> None:
        for watcher in (self._watcher, self._pause):
            watcher.stop()
            watcher.close()
        self._sock.close()

    def _accept_waiting(self) -> None:
        for _ in range(_ACCEPTS_PER_WAKE):
            try:
                client, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # that client gave up while queued
            except OSError:  # EMFILE, ENFILE, ENOBUFS...: the clients wait in the queue until we can take them
                self._watcher.stop()
                self._pause.start(self._resume)
                return
            client.setblocking(False)
            self._on_accept(client)

    def _resume(self) -> None:
        self._watcher.start(self._accept_waiting)


class UpstreamConnect:
    """Connect to `address` for `client`: `on_connected(self, client, upstream)`, or `on_failed(self)`.

    Toxiproxy closes the client's connection when the upstream refuses or does not answer: so does this.
    """

    def __init__(self, client: socket.socket, address: Address, on_connected: Connected, on_failed: Failed) -> None:
        self._client = client
        self._on_connected = on_connected
        self._on_failed = on_failed
        self._address = address
        self._ended = False
        self._upstream: socket.socket | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._timer: Any = None  # libev watchers, once connecting to an IP address: the deadline,
        self._writable: Any = None  # and the connect's completion

    def start(self) -> None:
        address = Address(dial_host(self._address.host), self._address.port)
        family = _ip_family(address.host)
        if family is None:
            self._greenlet = gevent.spawn(self._connect_by_name, address)
            return
        try:
            self._upstream = upstream = socket.socket(family, socket.SOCK_STREAM)
        except OSError:  # out of descriptors: the client is turned away, as Toxiproxy does
            self._fail()
            return
        upstream.setblocking(False)
        code = upstream.connect_ex((address.host, address.port))
        if code not in (0, errno.EINPROGRESS):
            self._fail()
            return
        loop = gevent.get_hub().loop
        self._writable = loop.io(upstream.fileno(), 2)
        self._writable.start(self._connect_finished)
        self._timer = loop.timer(CONNECT_TIMEOUT_S)
        self._timer.start(self._fail)

    def cancel(self) -> None:
        """Give up without a word to anyone (the proxy is going down): close both sockets."""
        if self._end():
            for sock in (self._upstream, self._client):
                if sock is not None:
                    sock.close()

    def _fail(self) -> None:
        if not self._ended:
            _discard_unread(self._client)
            self.cancel()
            self._on_failed(self)

    def _connect_finished(self) -> None:
        assert self._upstream is not None
        if self._upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            self._fail()
        elif self._end():
            self._on_connected(self, self._client, self._upstream)

    def _connect_by_name(self, address: Address) -> None:
        try:
            upstream = gsocket.create_connection((address.host, address.port), timeout=CONNECT_TIMEOUT_S)
        except OSError:
            self._fail()
            return
        plain = socket.socket(upstream.family, upstream.type, upstream.proto, fileno=upstream.detach())
        plain.setblocking(False)
        self._upstream = plain
        self._greenlet = None
        if self._end():
            self._on_connected(self, self._client, plain)
        else:
            plain.close()

    def _end(self) -> bool:
        """Stop every watcher, once; False if this attempt had already ended."""
        if self._ended:
            return False
        self._ended = True
        for watcher in (self._timer, self._writable):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        if self._greenlet is not None and self._greenlet is not gevent.getcurrent():
            self._greenlet.kill(block=False)
        return True


def _discard_unread(client: socket.socket) -> None:
    """Read what the client already sent, so that closing sends a FIN, not a RST.

    Toxiproxy closes a client whose upstream refused before the client's first bytes arrive, so the client
    sees an orderly close; brownout takes longer to find out, and closing a socket with unread data resets it.
    """
    try:
        while client.recv(65536):
            pass
    except OSError:
        pass


def _ip_family(host: str) -> int | None:
    """AF_INET or AF_INET6 for an IP literal; None for a name."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None
