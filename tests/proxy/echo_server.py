"""A tiny TCP echo backend for the proxy tests: `python echo_server.py --port P [--greeting TEXT]`.

It echoes every byte back and closes when the client closes its side. With --greeting it first sends that
text, so a test can tell the downstream stream (server -> client) from the upstream one.
"""

from __future__ import annotations

import argparse
import socket
import threading


def _serve_client(client: socket.socket, greeting: bytes) -> None:
    with client:
        try:
            if greeting:
                client.sendall(greeting)
            while data := client.recv(65536):
                client.sendall(data)
        except OSError:
            pass  # the proxy reset or dropped us; nothing to clean up beyond the socket


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--greeting", default="")
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    while True:
        client, _ = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_client, args=(client, args.greeting.encode()), daemon=True).start()


if __name__ == "__main__":
    main()
