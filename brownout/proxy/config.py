"""Proxy definitions: from an API body or from a Toxiproxy `-config` file, validated into ProxySpec.

A config file is Toxiproxy's: a JSON list of `{"name", "listen", "upstream", "enabled"}` objects.
Addresses are kept as written (`localhost:6379` stays `localhost:6379`), so a client comparing what it
sent with what it reads back (toxiproxy-python's populate does) sees no change. A proxy may listen on any
address its client names (`0.0.0.0:0`, `[::]:0`); with none it listens on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from brownout.errors import InputError
from brownout.proxy.errors import ApiError
from brownout.proxy.jsonio import fields

DEFAULT_LISTEN = "127.0.0.1:0"
_PROXY_FIELDS = ("name", "listen", "upstream", "enabled")


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ProxySpec:
    name: str
    listen: Address
    upstream: Address
    enabled: bool = True


def parse_proxy(
    body: object, defaults: ProxySpec | None = None, taken: Callable[[str], bool] = lambda _name: False
) -> ProxySpec:
    """A proxy from a `POST /proxies` body, or `defaults` updated by a `POST /proxies/{name}` body.

    Read as Toxiproxy reads it (jsonio.fields): keys in any letter case, a null leaves a field as it was.
    An update keeps the proxy's name whatever the body says, as Toxiproxy does. A new proxy's name `taken`
    already is a 409, in Toxiproxy's order: once name and upstream are there, before addresses are read.
    """
    if not isinstance(body, dict):
        raise ApiError("bad request body: a proxy must be a JSON object")
    given = fields(body, _PROXY_FIELDS)
    name = given.get("name", "")
    if not isinstance(name, str):
        raise ApiError(f"name must be a string, got {name!r}")
    for field in ("listen", "upstream"):
        if not isinstance(given.get(field, ""), str):
            raise ApiError(f"{field} must be a string host:port, got {given[field]!r}")
    enabled = given.get("enabled", defaults.enabled if defaults else True)
    if not isinstance(enabled, bool):
        raise ApiError(f"enabled must be true or false, got {enabled!r}")
    if defaults is not None:
        name = defaults.name
    elif not name:
        raise ApiError("missing required field: name (a non-empty string)")
    if defaults is None and not given.get("upstream"):
        raise ApiError("missing required field: upstream (host:port)")
    if defaults is None and taken(name):
        raise ApiError(f"proxy already exists: {name!r}", 409)
    listen = parse_address(given["listen"], "listen") if given.get("listen") else None
    if listen is None:
        listen = defaults.listen if defaults else parse_address(DEFAULT_LISTEN, "listen")
    upstream = parse_address(given["upstream"], "upstream") if given.get("upstream") else None
    if upstream is None:
        assert defaults is not None  # checked above: a new proxy has an upstream
        upstream = defaults.upstream
    return ProxySpec(name=name, listen=listen, upstream=upstream, enabled=enabled)


def parse_address(text: object, field: str) -> Address:
    """`host:port` or `[v6]:port`, the host kept as written.

    As in Go, an empty host means this machine (`:8080`; a listener binds loopback, see bind_host) and a
    listen address's empty port means any free port (`127.0.0.1:`).
    """
    if not isinstance(text, str) or ":" not in text:
        raise ApiError(f"{field} must be a string host:port, got {text!r}")
    host, _, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not port_text and field == "listen":
        port_text = "0"
    try:
        port = int(port_text)
    except ValueError:
        raise ApiError(f"{field} {text!r} has a port that is not a number") from None
    if not 0 <= port <= 65535:
        raise ApiError(f"{field} {text!r} has a port outside 0..65535")
    if port == 0 and field == "upstream":
        raise ApiError(f"upstream {text!r} needs a real port, not 0")
    return Address(host, port)


def load_config_file(path: Path) -> list[ProxySpec]:
    """The proxies of a Toxiproxy config file; InputError names the file and the entry that is wrong."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read proxy config {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"proxy config {path} is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise InputError(f"proxy config {path} must be a JSON list of proxies, got {type(entries).__name__}")
    specs: list[ProxySpec] = []
    for index, entry in enumerate(entries):
        named = isinstance(entry, dict) and "name" in entry
        label = f"entry {index}" + (f" ({entry['name']!r})" if named else "")
        try:
            spec = parse_proxy(entry)
        except ApiError as exc:
            raise InputError(f"proxy config {path}, {label}: {exc.message}") from None
        if any(seen.name == spec.name for seen in specs):
            raise InputError(f"proxy config {path}, {label}: a proxy named {spec.name!r} is already defined")
        specs.append(spec)
    return specs


def bind_host(host: str) -> str:
    """Where a listener binds: `localhost` means 127.0.0.1, so it never lands on ::1 by luck, and no host
    means loopback too (Toxiproxy would take every interface: brownout's proxies stay local unless the
    client names an address)."""
    return "127.0.0.1" if host.lower() in ("localhost", "") else host


def dial_host(host: str) -> str:
    """Where an upstream is: no host (`:6379`) means this machine, as in Go."""
    return host or "127.0.0.1"
