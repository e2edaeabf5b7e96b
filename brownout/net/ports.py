"""Choosing free TCP ports on 127.0.0.1 for processes that bind them a moment later (standard library only).

Ports are chosen at random *below* the kernel's ephemeral range: a port the OS hands out for `bind(0)`
comes from the range it also uses for outgoing connections, so between our choosing it and the process
binding it, any client on the machine (a load test!) may take it as its local port.
"""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
_POOL_SIZE = 20000


def free_ports(count: int, within: range | None = None) -> list[int]:
    """`count` distinct ports that were free a moment ago, all held open together while choosing.

    With `within`, only ports of that range: OSError when it has fewer than `count` free ones.
    """
    if within is not None:
        return _free_ports_within(count, within)
    low = _ephemeral_range_start()
    pool = range(max(1024, low - _POOL_SIZE), low)
    chooser = random.SystemRandom()
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for _ in range(count * 50):
            if len(ports) == count:
                break
            port = chooser.choice(pool)
            if port not in ports and _hold(held, port):
                ports.append(port)
        while len(ports) < count:  # a crowded machine: fall back to whatever the OS hands out
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def _free_ports_within(count: int, within: range) -> list[int]:
    candidates = list(within)
    random.SystemRandom().shuffle(candidates)
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for port in candidates:
            if len(ports) == count:
                break
            if _hold(held, port):
                ports.append(port)
        if len(ports) < count:
            raise OSError(f"only {len(ports)} of the {count} ports needed are free in {within.start}-{within.stop - 1}")
        return ports


def free_port() -> int:
    return free_ports(1)[0]


def _hold(held: contextlib.ExitStack, port: int) -> bool:
    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        sock.bind((HOST, port))
    except OSError:
        return False
    return True


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default
