"""The one auth contract (brownout.net.auth) on literal inputs."""

from __future__ import annotations

import pytest

from brownout.net.auth import (
    Refused,
    bearer_token,
    is_loopback_address,
    is_loopback_host,
    require_bearer,
    require_loopback_peer,
    require_same_site,
)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
     ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("localhost", False), ("", False), ("127.evil.com", False)],
)  # fmt: skip
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback_address(address) is loopback


def test_loopback_hosts_add_the_name_localhost() -> None:
    assert [is_loopback_host(h) for h in ("localhost", "LOCALHOST", "127.0.0.1", "example.com")] == [
        True, True, True, False,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"), ("Bearer ", ""), ("Basic abc", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_bearer_scheme_is_case_insensitive(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_require_bearer_says_401_for_nothing_and_403_for_wrong() -> None:
    require_bearer("bearer right", ["other", "right"], "here")
    statuses = []
    for header in (None, "", "Bearer wrong", "Basic right", "Bearer ", "Bearer rïght"):
        with pytest.raises(Refused) as refused:
            require_bearer(header, ["right", None, ""], "see stack.json")
        statuses.append(refused.value.status)
        assert "see stack.json" in str(refused.value)
    assert statuses == [401, 401, 403, 403, 403, 403]


def test_an_empty_expected_token_never_matches() -> None:
    with pytest.raises(Refused):
        require_bearer("Bearer ", [""], "nowhere")


def test_peer_must_be_loopback() -> None:
    require_loopback_peer("127.0.0.1", "the API")
    with pytest.raises(Refused, match="the API answers loopback clients only") as refused:
        require_loopback_peer("192.168.1.5", "the API")
    assert refused.value.status == 403
    with pytest.raises(Refused):
        require_loopback_peer(None, "the API")


def test_same_site_rules() -> None:
    require_same_site("127.0.0.1:8089", "http", None, None)
    require_same_site("localhost:8089", "http", "http://localhost:8089", "same-origin")
    require_same_site("[::1]:8089", "http", None, None)
    refusals = [
        ("evil.example:8089", "http", None, None, "loopback name"),
        ("127.0.0.1:8089", "http", "http://evil.example", None, "cross-site"),
        ("127.0.0.1:8089", "http", None, "cross-site", "cross-site"),
    ]
    for host, scheme, origin, site, says in refusals:
        with pytest.raises(Refused, match=says):
            require_same_site(host, scheme, origin, site)
