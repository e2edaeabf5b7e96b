"""A component whose worker leaves its process group, as PostgreSQL's backends do (each calls setsid()).

    python tests/stack/setsid_tree.py --port P --beats FILE

The parent listens on P (TCP readiness) and forks a worker that calls setsid() and appends a line to FILE
every 20 ms: while the worker is frozen the file stops growing.
"""

from __future__ import annotations

import argparse
import os
import socket
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--beats", required=True)
    args = parser.parse_args()
    if os.fork() == 0:
        os.setsid()
        while True:
            with open(args.beats, "a") as handle:
                handle.write(f"{os.getpid()}\n")
            time.sleep(0.02)
    server = socket.create_server(("127.0.0.1", args.port))
    while True:
        connection, _ = server.accept()
        connection.close()


if __name__ == "__main__":
    main()
