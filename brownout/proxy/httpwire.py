"""HTTP/1.1 message framing, read incrementally from a byte stream (for the HTTP toxics; no copies of bodies).

Only what the toxics need: where each request's head ends (method, path, headers) and where its body ends
(Content-Length, chunked, or none), and where each response ends (also 1xx interim answers, HEAD, 204/304,
or read until the connection closes). Bytes are never rewritten here: the stream is only cut at message
boundaries. Anything that does not parse as HTTP/1.1 raises HttpParseError, and the toxics then pass the
rest of that connection through untouched.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

HEAD_LIMIT = 64 * 1024  # a longer head is not a request we understand: the connection is passed through
_LINE_LIMIT = 4096  # a chunk-size or trailer line


class HttpParseError(ValueError):
    pass


@dataclass(frozen=True)
class RequestHead:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, values stripped, in order
    size: int  # bytes of the head, blank line included

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    @property
    def upgrades(self) -> bool:
        """After this request the connection may stop being HTTP (WebSocket, CONNECT tunnels)."""
        return self.method == "CONNECT" or self.header("upgrade") is not None


def _head_lines(raw: bytes) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpParseError(f"bad header line {line[:80]!r}")
        headers.append((name.lower(), value.strip()))
    return lines[0].split(" "), tuple(headers)


def parse_request_head(raw: bytes) -> RequestHead:
    first, headers = _head_lines(raw)
    if len(first) != 3 or not first[2].startswith("HTTP/1.") or not first[0].isalpha():
        raise HttpParseError(f"not an HTTP/1.x request line: {' '.join(first)[:80]!r}")
    return RequestHead(first[0], first[1], headers, len(raw))


class Body:
    """How much of one message body is still to come: a length, chunked framing, or until the close."""

    __slots__ = ("left", "chunked", "until_close", "state", "line", "done")

    def __init__(self, length: int = 0, chunked: bool = False, until_close: bool = False) -> None:
        self.left = 0 if chunked else length
        self.chunked = chunked
        self.until_close = until_close
        self.state = "size"  # chunked: size line, then data, then its CRLF ("crlf"), ... then "trailer"
        self.line = b""
        self.done = not chunked and not until_close and length == 0

    def feed(self, data: bytes, pos: int) -> int:
        """Consume body bytes of `data` from `pos`; the position after the body, or len(data) if it goes on."""
        end = len(data)
        while pos < end and not self.done:
            if self.left:
                taken = min(self.left, end - pos)
                self.left -= taken
                pos += taken
                if not self.left:
                    self.done = not self.chunked
                    self.state = "crlf"
                continue
            if self.until_close:
                return end
            newline = data.find(b"\n", pos)
            if newline < 0:
                self._keep(data[pos:])
                return end
            line, self.line = (self.line + data[pos:newline]).strip(), b""
            pos = newline + 1
            self._chunk_line(line)
        return pos

    def _keep(self, part: bytes) -> None:
        self.line += part
        if len(self.line) > _LINE_LIMIT:
            raise HttpParseError("a chunked-body line longer than 4 KiB")

    def _chunk_line(self, line: bytes) -> None:
        if self.state == "crlf":  # the CRLF after a chunk's data
            if line:
                raise HttpParseError("chunk data longer than its size")
            self.state = "size"
        elif self.state == "size":
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise HttpParseError(f"bad chunk size {line[:40]!r}") from None
            self.left, self.state = size, ("trailer" if size == 0 else "data")
        elif not line:  # the blank line ending the trailers
            self.done = True


def request_body(head: RequestHead) -> Body:
    if "chunked" in (head.header("transfer-encoding") or "").lower():
        return Body(chunked=True)
    return Body(length=_content_length(head.header("content-length")))


def _content_length(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdigit():
        raise HttpParseError(f"bad Content-Length {value[:40]!r}")
    return int(value)


@dataclass(frozen=True)
class Segment:
    """A run of one request's bytes: `head` set on the segment that starts it, `ends` on the one ending it."""

    data: bytes
    head: RequestHead | None
    ends: bool


class RequestReader:
    """Cuts the client's byte stream into requests, incrementally (any chunking, pipelined or not)."""

    def __init__(self) -> None:
        self._pending = b""  # the start of a head not yet complete
        self._body: Body | None = None  # the body being read, once its head was
        self.broken = False

    @property
    def between_requests(self) -> bool:
        return self._body is None and not self._pending

    def feed(self, data: bytes) -> list[Segment]:
        """`data` cut at request boundaries; once the stream stops being HTTP (unparseable, or upgraded to
        another protocol) the rest comes as segments with no head that never end."""
        if self.broken:
            return [Segment(data, None, False)]
        segments: list[Segment] = []
        pos = 0
        while pos < len(data):
            head, start, body_at = None, b"", pos
            try:
                if self._body is None:
                    head, start, body_at = self._read_head(data, pos)
                    if head is None:
                        break
                    self._body = request_body(head)
                end = self._body.feed(data, body_at)
            except HttpParseError:
                self.broken = True
                return [*segments, Segment(self._pending + data[pos:], None, False)]
            segments.append(Segment(start + data[body_at:end], head, self._body.done))
            self._body = None if self._body.done else self._body
            pos = end
            if head is not None and head.upgrades:
                self.broken = True  # what follows is another protocol's (WebSocket, a tunnel)
                return segments + ([Segment(data[pos:], None, False)] if pos < len(data) else [])
        return segments

    def _read_head(self, data: bytes, pos: int) -> tuple[RequestHead | None, bytes, int]:
        """The next head if it is complete (its bytes and the position after it in `data`), else keep it."""
        raw, pending, after = _split_head(self._pending, data, pos, "request")
        if raw is None:
            self._pending = pending
            return None, b"", after
        head = parse_request_head(raw)  # before the reset: a bad head is passed on whole
        self._pending = b""
        return head, raw, after


def _split_head(pending: bytes, data: bytes, pos: int, what: str) -> tuple[bytes | None, bytes, int]:
    """A head completed by `data[pos:]` after the `pending` bytes: (its bytes, b"", the position after it in
    `data`); else (None, every byte so far, to keep pending, len(data)). Too long a head is not HTTP we read."""
    buffered = pending + data[pos:]
    end = _head_end(buffered)
    if end < 0:
        if len(buffered) > HEAD_LIMIT:
            raise HttpParseError(f"a {what} head longer than 64 KiB")
        return None, buffered, len(data)
    return buffered[:end], b"", len(data) - (len(buffered) - end)


def _head_end(buffered: bytes) -> int:
    """The end of the blank line closing a head (CRLF or bare LF), or -1."""
    ends = [i + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (i := buffered.find(mark)) >= 0]
    return min(ends, default=-1)


class ResponseReader:
    """Finds where the upstream's responses end, given the methods of the requests they answer, in order.

    `feed` returns the stream offsets (counted from the first byte fed) at which a final response's head
    ended and at which the response ended, as ("head" | "end", offset) in order.
    """

    def __init__(self) -> None:
        self.methods: deque[str] = deque()  # the requests forwarded and not yet answered
        self.offset = 0
        self._pending = b""
        self._body: Body | None = None

    def feed(self, data: bytes) -> list[tuple[str, int]]:
        events: list[tuple[str, int]] = []
        pos = 0
        while pos < len(data):
            if self._body is None:
                body, pos = self._read_head(data, pos)
                if body is None:
                    break
                self._body = body
                events.append(("head", self.offset + pos))
            pos = self._body.feed(data, pos)
            if self._body.done:
                self._body = None
                self.methods.popleft()
                events.append(("end", self.offset + pos))
        self.offset += len(data)
        return events

    def _read_head(self, data: bytes, pos: int) -> tuple[Body | None, int]:
        """The body of the next final response once its head is complete (interim 1xx heads skipped)."""
        while True:
            raw, self._pending, pos = _split_head(self._pending, data, pos, "response")
            if raw is None:
                return None, pos
            body = self._response_body(raw)
            if body is not None:
                return body, pos

    def _response_body(self, raw: bytes) -> Body | None:
        first, headers = _head_lines(raw)
        if len(first) < 2 or not first[0].startswith("HTTP/1.") or not first[1].isdigit():
            raise HttpParseError(f"not an HTTP/1.x status line: {' '.join(first)[:80]!r}")
        if not self.methods:
            raise HttpParseError("a response to no request")
        status = int(first[1])
        if status == 101:
            raise HttpParseError("switched protocols")  # the rest is not HTTP: pass it through
        if 100 <= status < 200:
            return None  # an interim answer: the final one follows
        named = dict(headers)
        if self.methods[0] == "HEAD" or status in (204, 304):
            return Body()
        if "chunked" in named.get("transfer-encoding", "").lower():
            return Body(chunked=True)
        if "content-length" in named:
            return Body(length=_content_length(named["content-length"]))
        return Body(until_close=True)
