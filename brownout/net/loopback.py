"""The one HTTP session factory for brownout's own calls (fault drivers, telemetry scrapes, the audit, the
stack CLI): a call to this machine never goes through an HTTP proxy from the environment, so a token sent to
a control or admin API cannot leave the machine through `HTTP_PROXY` / `HTTPS_PROXY`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from brownout.net.auth import is_loopback_host


def loopback_session() -> requests.Session:
    """A session that ignores the proxy variables (and .netrc): for endpoints on 127.0.0.1 / localhost."""
    session = requests.Session()
    session.trust_env = False
    return session


def session_for(url: str) -> requests.Session:
    """`loopback_session()` for a URL on this machine; a plain session (proxy variables honoured, as the
    user's own network may need them) for a service elsewhere."""
    if is_loopback_host(urlsplit(url).hostname or ""):
        return loopback_session()
    return requests.Session()
