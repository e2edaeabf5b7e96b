"""The one auth contract of brownout's endpoints: the stack's control API, the fault proxy's API and the
web UI's fault page all change the system under test, so all of them apply the same rules:

- the peer is a loopback address (IPv4 127/8, ::1, or IPv4-mapped 127/8);
- a token travels as `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235) and the
  token is compared in constant time; no header is 401, a wrong scheme or token 403;
- a page a browser can open also needs a loopback name in its Host header (a DNS-rebinding page sends
  its own name) and no cross-site `Origin` / `Sec-Fetch-Site`.

The checks raise `Refused` with the HTTP status and a message a user can act on; each server turns it into
its own error body.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})


class Refused(Exception):
    """A request an endpoint does not take: `status` is 401 (no credentials) or 403 (wrong ones)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback_address(address: str) -> bool:
    """True for an IP literal on the loopback interface; False for names and anything unparsable."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_loopback_host(host: str) -> bool:
    """A URL's or a Host header's host part that stays on this machine: `localhost` or a loopback address."""
    return host.lower().rstrip(".") in LOOPBACK_NAMES or is_loopback_address(host)


def same_secret(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str; bytes compare in constant time whatever was typed.
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None for no header or another scheme."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def require_loopback_peer(address: str | None, what: str) -> None:
    if not is_loopback_address(address or ""):
        raise Refused(403, f"{what} answers loopback clients only (refused {address})")


def require_bearer(header: str | None, tokens: Iterable[str | None], where: str) -> None:
    """Accept the header if it carries one of `tokens` (empty ones never match); `where` tells the user
    where the right token is ("the stack's stack.json", "--token / BROWNOUT_TOKEN")."""
    if not (header or "").strip():
        raise Refused(401, f"missing token: send 'Authorization: Bearer <token>' ({where})")
    given = bearer_token(header)
    if given is None or not any(token and same_secret(given, token) for token in tokens):
        raise Refused(403, f"wrong token in the Authorization header ({where})")


def require_same_site(host_header: str, scheme: str, origin: str | None, fetch_site: str | None) -> None:
    """The rules for a page a browser can reach: a loopback name in Host, and no request from another site."""
    host = urlsplit(f"//{host_header}").hostname or ""
    if not is_loopback_host(host):
        raise Refused(403, f"Host {host_header!r} is not a loopback name: open the page as 127.0.0.1 or localhost")
    same = f"{scheme}://{host_header}"
    if fetch_site == "cross-site" or (origin is not None and origin != same):
        raise Refused(403, f"cross-site request refused (Origin {origin!r}); use the page at {same}")
