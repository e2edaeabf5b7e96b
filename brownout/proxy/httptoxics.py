"""HTTP-level toxics (brownout's own, beside Toxiproxy's eight): they act per HTTP/1.1 request, not per chunk.

On the upstream stream (client -> upstream) one HttpExchange per connection cuts the bytes into requests
(httpwire.RequestReader: keep-alive, Content-Length and chunked bodies, pipelining). At each request head,
the http toxics in force are asked in chain order whether they fire for it (they match on method, path
prefix and header; then `first` / `every` count matching requests across all connections of the proxy;
then `toxicity` is rolled per request, not per connection as for Toxiproxy's types):

- http_latency holds the request `latency` (+/- `jitter`) ms before passing it on, once per request;
- http_drop passes the request on and cuts the connection after the response head and `bytes` body
  bytes (always at least one byte short of the whole response), with a reset if `reset` is 1;
- http_error swallows the request (head and body) and answers `status` with `body` and `headers` itself.

Requests no toxic fires for are passed on byte for byte (only cut at request boundaries).

Answers go back in request order: an injected answer waits until every request passed on before it has
had its response read from the upstream (httpwire.ResponseReader on the downstream stream counts them),
and is then queued behind those bytes on the client's side. Requests after it wait behind it.
A connection whose bytes stop parsing as HTTP/1.1 (or upgrade to WebSocket) is passed through untouched
from there on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from http import HTTPStatus
from typing import Protocol

from gevent.event import Event

from brownout.proxy.httpwire import HttpParseError, RequestHead, RequestReader, ResponseReader
from brownout.proxy.toxics import ToxicSpec

HTTP_TYPES = frozenset({"http_error", "http_latency", "http_drop"})

# toxic uid -> matching requests seen so far on all connections (`first` and `every` count these).
_seen: dict[int, int] = {}


class ClientSide(Protocol):
    """The client-bound direction of a connection, as the exchange uses it."""

    tap: Callable[[bytes], tuple[bytes, bool | None]] | None

    def inject(self, data: bytes) -> None: ...


def matches(toxic: ToxicSpec, head: RequestHead) -> bool:
    methods = [m.strip().upper() for m in toxic.text("method").split(",") if m.strip()]
    if methods and head.method.upper() not in methods:
        return False
    if not head.path.startswith(toxic.text("path_prefix")):
        return False
    name, colon, wanted = toxic.text("header").partition(":")
    if not name.strip():
        return True
    value = head.header(name.strip())
    return value is not None and (not colon or value == wanted.strip())


def fires(toxic: ToxicSpec, head: RequestHead) -> bool:
    """Does `toxic` act on this request: it matches, `first` / `every` allow it, and the toxicity roll hits."""
    if not matches(toxic, head):
        return False
    seen = _seen[toxic.uid] = _seen.get(toxic.uid, 0) + 1
    first, every = int(toxic.value("first")), int(toxic.value("every"))
    if (first and seen > first) or (every > 1 and seen % every):
        return False
    return random.random() < toxic.toxicity


def answer_bytes(toxic: ToxicSpec) -> bytes:
    """The whole HTTP/1.1 answer an http_error toxic gives (with a Content-Length, so keep-alive goes on)."""
    status = int(toxic.value("status"))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Injected"
    body = toxic.text("body").encode()
    headers = {str(k): str(v) for k, v in toxic.table("headers").items()}
    if body and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "text/plain; charset=utf-8"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpExchange:
    """One connection's requests and responses as the http toxics see them."""

    def __init__(self, client: ClientSide, hold: Callable[[Callable[[], float]], None]) -> None:
        self.requests = RequestReader()
        self.responses = ResponseReader()
        self.forwarded = 0  # requests passed on to the upstream
        self.answered = 0  # of those, how many have had their whole response read back
        self._client = client
        self._hold = hold
        self._swallowing = False  # the current request is answered here, not passed on
        self._answer = b""
        self._drops: dict[int, tuple[int, bool]] = {}  # forwarded index -> (body bytes to pass, reset)
        self._cut: tuple[int, bool] | None = None  # stream offset to cut the responses at, reset
        self._responses_broken = False
        self._answered_event = Event()
        client.tap = self.on_response

    @property
    def mid_request(self) -> bool:
        """True while a swallowed request is half read (passing on its rest would corrupt the stream)."""
        return self._swallowing or (not self.requests.between_requests and not self.requests.broken)

    def detach(self) -> None:
        self._client.tap = None

    def pass_chunk(
        self, data: bytes, at: float, toxics: tuple[ToxicSpec, ...], forward: Callable[[bytes], bool]
    ) -> bool:
        """Take one chunk from the client through the http toxics; False once the connection must end."""
        swallowing_before = self._swallowing
        for segment in self.requests.feed(data):
            if segment.head is not None:
                self._decide(segment.head, at, toxics)
            elif self.requests.broken and swallowing_before:
                return False  # unparseable inside a swallowed request: nothing sane can be passed on
            if not self._swallowing:
                if segment.data and not forward(segment.data):
                    return False
            elif segment.ends:
                self._swallowing = False
                self._answer_in_order(self._answer)
        return True

    def _decide(self, head: RequestHead, at: float, toxics: tuple[ToxicSpec, ...]) -> None:
        delay, answer, drop = 0.0, None, None
        for toxic in toxics:
            if not fires(toxic, head):
                continue
            if toxic.type == "http_latency":
                jitter = toxic.seconds("jitter")
                delay += max(0.0, toxic.seconds("latency") + (random.uniform(-jitter, jitter) if jitter else 0.0))
            elif toxic.type == "http_drop":
                drop = (int(toxic.value("bytes")), bool(toxic.value("reset")))
            else:
                answer = answer_bytes(toxic)
                break  # the first answer wins; later toxics never see the request
        if delay:
            self._hold(lambda: at + delay)
        if answer is not None:
            self._swallowing, self._answer = True, answer
            return
        if drop is not None:
            self._drops[self.forwarded] = drop
        # Counted before its bytes go: the response cannot be read before its method is known.
        self.responses.methods.append(head.method)
        self.forwarded += 1

    def _answer_in_order(self, answer: bytes) -> None:
        while self.answered < self.forwarded and not self._responses_broken:
            self._answered_event.clear()
            self._answered_event.wait()
        self._client.inject(answer)

    def on_response(self, data: bytes) -> tuple[bytes, bool | None]:
        """The tap on the upstream's bytes: count responses; (the bytes to pass on, reset?) when cutting."""
        if self._responses_broken:
            return data, None
        try:
            events = self.responses.feed(data)
        except HttpParseError:
            self._responses_broken = True  # waiting answers go out now: order can no longer be known
            self._answered_event.set()
            return data, None
        for kind, offset in events:
            self._response_event(kind, offset)
        if self._cut is not None and self._cut[0] < self.responses.offset:
            return data[: max(0, self._cut[0] - (self.responses.offset - len(data)))], self._cut[1]
        return data, None

    def _response_event(self, kind: str, offset: int) -> None:
        if kind == "head":
            drop = self._drops.pop(self.answered, None)
            if drop is not None and self._cut is None:
                self._cut = (offset + drop[0], drop[1])
            return
        if self._cut is not None:
            self._cut = (min(self._cut[0], offset - 1), self._cut[1])  # always short of the whole response
        self.answered += 1
        self._answered_event.set()
