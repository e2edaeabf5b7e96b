"""Proxy definitions: from an API body or from a Toxiproxy `-config` file, validated into ProxySpec.

A config file is Toxiproxy's: a JSON list of `{"name", "listen", "upstream", "enabled"}` objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from brownout.auth import is_loopback_address
from brownout.errors import InputError
from brownout.proxy.errors import ApiError

DEFAULT_LISTEN = "127.0.0.1:0"


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


def parse_proxy(body: object, defaults: ProxySpec | None = None) -> ProxySpec:
    """A proxy from a `POST /proxies` body, or `defaults` updated by a `POST /proxies/{name}` body."""
    if not isinstance(body, dict):
        raise ApiError("bad request body: a proxy must be a JSON object")
    name = body.get("name", defaults.name if defaults else None)
    if not name or not isinstance(name, str):
        raise ApiError("missing required field: name (a non-empty string)")
    if defaults is None and not body.get("upstream"):
        raise ApiError("missing required field: upstream (host:port)")
    listen = parse_address(body["listen"], "listen") if body.get("listen") else None
    if listen is None:
        listen = defaults.listen if defaults else parse_address(DEFAULT_LISTEN, "listen")
    if not is_loopback_address(listen.host):
        raise ApiError(f"listen address {body.get('listen')!r} is not on loopback: use 127.0.0.1:PORT")
    upstream = parse_address(body["upstream"], "upstream") if body.get("upstream") else None
    if upstream is None:
        assert defaults is not None  # checked above: a new proxy has an upstream
        upstream = defaults.upstream
    enabled = body.get("enabled", defaults.enabled if defaults else True)
    if not isinstance(enabled, bool):
        raise ApiError(f"enabled must be true or false, got {enabled!r}")
    return ProxySpec(name=name, listen=listen, upstream=upstream, enabled=enabled)


def parse_address(text: object, field: str) -> Address:
    """`host:port` or `[v6]:port`; `localhost` means 127.0.0.1, so a listener never lands on ::1 by luck."""
    if not isinstance(text, str) or ":" not in text:
        raise ApiError(f"{field} must be a string host:port, got {text!r}")
    host, _, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host:
        raise ApiError(f"{field} {text!r} has no host: use 127.0.0.1:{port_text}")
    try:
        port = int(port_text)
    except ValueError:
        raise ApiError(f"{field} {text!r} has a port that is not a number") from None
    if not 0 <= port <= 65535:
        raise ApiError(f"{field} {text!r} has a port outside 0..65535")
    if port == 0 and field == "upstream":
        raise ApiError(f"upstream {text!r} needs a real port, not 0")
    return Address("127.0.0.1" if host == "localhost" else host, port)


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

