"""A tiny HTTP/1.1 backend for the http toxic tests: `python http_backend.py --port P`.

Each answer's body is the sha256 of the request's bytes exactly as they arrived (head and body, chunked
framing included), so a client can tell that nothing was altered on the way. Parsed independently of the
proxy's own parser (line by line from a buffered file), so a framing bug there cannot hide here.
`?delay=S` answers after S seconds; `?size=N` answers N bytes of "x" instead (with the hash in a header);
`?chunked=1` sends the body chunked (uneven chunks and a trailer) instead of with a Content-Length.
Keep-alive and pipelining work: requests are read and answered one after another on each connection.
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import threading
import time
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit


def read_request(stream: BinaryIO) -> tuple[str, str, bytes] | None:
    """(method, target, raw bytes) of the next request, or None at the end of the connection."""
    raw = stream.readline()
    if not raw:
        return None
    method, target, _version = raw.decode("latin-1").split(" ", 2)
    length, chunked = 0, False
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        raw += line
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    raw += line
    if not chunked:
        return method, target, raw + stream.read(length)
    while True:
        size_line = stream.readline()
        raw += size_line
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        raw += stream.read(size + 2)
    while (trailer := stream.readline()) not in (b"\r\n", b"\n", b""):
        raw += trailer
    return method, target, raw + trailer


def answer(method: str, target: str, raw: bytes) -> bytes:
    query = parse_qs(urlsplit(target).query)
    time.sleep(float(query.get("delay", ["0"])[0]))
    digest = hashlib.sha256(raw).hexdigest()
    body = b"x" * int(query["size"][0]) if "size" in query else digest.encode()
    if "chunked" in query:
        head = f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Sha256: {digest}\r\n\r\n".encode()
        return head if method == "HEAD" else head + _chunked(body)
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nX-Request-Sha256: {digest}\r\n\r\n".encode()
    return head if method == "HEAD" else head + body


def _chunked(body: bytes) -> bytes:
    """`body` in chunks of 1, 7, 100, then the rest (a chunk extension on one), the last chunk and a trailer."""
    cuts = [0, *(c for c in (1, 8, 108) if c < len(body)), len(body)]
    chunks = [body[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(c), b";ext=1" if i == 1 else b"", c) for i, c in enumerate(chunks))
    return framed + b"0\r\nX-Trailer: done\r\n\r\n"


def _serve(client: socket.socket) -> None:
    with client, client.makefile("rb") as stream:
        try:
            while (request := read_request(stream)) is not None:
                client.sendall(answer(*request))
        except (OSError, ValueError):
            pass  # the proxy cut or reset the connection (http_drop), or sent garbage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    while True:
        client, _ = listener.accept()
        # Without NODELAY an answer behind an unacknowledged one waits ~40 ms for the proxy's delayed ACK,
        # which a proxy holding a pipelined injected answer until that answer arrives runs into every time.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()


def build_request(method: str, path: str, body: bytes = b"", chunked: bool = False, headers: str = "") -> bytes:
    """A request as a client would send it (chunked: the body in two chunks, with a trailer)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: backend\r\n{headers}"
    if chunked:
        half = len(body) // 2
        parts = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]) if p)
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + parts + b"0\r\nX-Trailer: 1\r\n\r\n"
    length = f"Content-Length: {len(body)}\r\n" if body or method in ("POST", "PUT") else ""
    return (head + length + "\r\n").encode() + body


class Readable(Protocol):
    def readline(self) -> bytes: ...

    def read(self, size: int) -> bytes: ...


def read_response(stream: Readable, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of the next response (Content-Length or chunked)."""
    status_line = stream.readline()
    if not status_line:
        raise ConnectionError("the connection closed before a response")
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if method != "HEAD" and "chunked" in headers.get("transfer-encoding", ""):
        return int(status_line.split()[1]), headers, _read_chunked(stream)
    length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
    return int(status_line.split()[1]), headers, stream.read(length)


def _read_chunked(stream: Readable) -> bytes:
    body = b""
    while (size := int(stream.readline().split(b";")[0], 16)) > 0:
        body += stream.read(size)
        stream.readline()
    while stream.readline() not in (b"\r\n", b""):
        pass  # trailers
    return body


class Recording:
    """A response stream that keeps the raw bytes read from it: `take()` answers those since the last take."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._seen = bytearray()

    def readline(self) -> bytes:
        line = self._stream.readline()
        self._seen += line
        return line

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        self._seen += data
        return data

    def take(self) -> bytes:
        data, self._seen = bytes(self._seen), bytearray()
        return data
