"""The one HTTP session factory for brownout's own calls (fault drivers, pre-flight, telemetry scrapes, the
audit, the stack CLI), and the one place a token becomes an `Authorization: Bearer` header.

A call to this machine never goes through an HTTP proxy from the environment, so a token sent to a control
or admin API cannot leave the machine through `HTTP_PROXY` / `HTTPS_PROXY`. A service elsewhere (the user's
own) keeps the environment's proxy, as the user's network may need it.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit

import requests

from brownout.net.auth import is_loopback_host

S = TypeVar("S", bound=requests.Session)


def loopback_session(token: str | None = None) -> requests.Session:
    """A session that ignores the proxy variables (and .netrc): for endpoints on 127.0.0.1 / localhost;
    with a token, every request carries it."""
    return _with_token(_trusting_env(requests.Session(), False), token)


def session_for(url: str, token: str | None = None) -> requests.Session:
    """`loopback_session(token)` for a URL on this machine; a plain session (proxy variables honoured) for a
    service elsewhere."""
    return prepare(requests.Session(), url, token)


def prepare(session: S, url: str, token: str | None = None) -> S:
    """Give any session (AuditClient is one the user's read-back gets) the loopback rule for `url` and the
    token: the same two settings `session_for` makes, for a session of another class."""
    return _with_token(_trusting_env(session, not is_loopback_host(urlsplit(url).hostname or "")), token)


def _trusting_env(session: S, trust: bool) -> S:
    session.trust_env = trust  # False: no HTTP_PROXY / HTTPS_PROXY (nor .netrc) for this session
    return session


def _with_token(session: S, token: str | None) -> S:
    if token:  # no token, no header: an open endpoint (a real Toxiproxy) needs none
        session.headers["Authorization"] = f"Bearer {token}"
    return session
