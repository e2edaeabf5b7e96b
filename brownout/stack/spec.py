"""stack.toml -> frozen dataclasses, validated so that every mistake names the file, component and field.

Format (see targets/sample/stack.toml for a full example):

    [stack]                          # optional table
    cwd = "../.."                    # where commands run, relative to this file (default: its directory)
    control_port = 8470              # the supervisor's control API (fixed-ports mode)
    ready_timeout_s = 30             # default for every component
    stop_grace_s = 5                 # SIGTERM -> SIGKILL grace period
    proxy_component = "faultproxy"   # the component serving [[proxies]]

    [[components]]                   # started in file order, stopped in reverse
    name = "upstream"
    command = ["{python}", "-m", "targets.sample.upstream", "--port", "{port}"]
    port = 8101
    ready = "/readyz"                # URL path or full http URL; absent -> TCP connect to the port
    restart = "on-failure"           # or "never" (default)
    critical = true                  # false: the stack still comes up when this one does not
    env = { KEY = "value" }          # optional, placeholders allowed
    max_restarts = 5                 # consecutive on-failure restarts without becoming ready
    ready_timeout_s = 30

    [[proxies]]                      # served by proxy_component; listen ports are placeholders too
    name = "upstream"
    listen = 8201
    upstream = "upstream"            # a component name

Placeholders in command, env and ready: {python} {name} {port} {data_dir} {run_dir} {token}
{proxy_config} {ports.<component>} {proxies.<proxy>}; write {{ and }} for literal braces.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.errors import InputError

RESTART_POLICIES = ("never", "on-failure")
SIMPLE_PLACEHOLDERS = ("python", "name", "port", "data_dir", "run_dir", "token", "proxy_config")

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

_STACK_FIELDS = {"cwd", "control_port", "ready_timeout_s", "stop_grace_s", "proxy_component", "entry"}
_COMPONENT_FIELDS = {
    "name",
    "command",
    "port",
    "ready",
    "restart",
    "critical",
    "env",
    "max_restarts",
    "ready_timeout_s",
}
_PROXY_FIELDS = {"name", "listen", "upstream"}


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    command: tuple[str, ...]
    port: int
    ready: str | None = None
    restart: str = "never"
    critical: bool = True
    env: tuple[tuple[str, str], ...] = ()
    max_restarts: int = 5
    ready_timeout_s: float = 30.0


@dataclass(frozen=True)
class ProxySpec:
    name: str
    listen: int
    upstream: str


@dataclass(frozen=True)
class StackSpec:
    source: Path
    cwd: Path
    components: tuple[ComponentSpec, ...]
    proxies: tuple[ProxySpec, ...] = ()
    control_port: int = 8470
    stop_grace_s: float = 5.0
    proxy_component: str = "faultproxy"
    entry: str = ""  # the component the load is aimed at (its URL is the Locust host)

    def component(self, name: str) -> ComponentSpec:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(component.name for component in self.components)


def render(template: str, values: dict[str, str]) -> str:
    """Replace every {placeholder}; the caller validated the names beforehand."""

    def _one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in ("{{", "}}"):
            return text[0]
        return values[match.group(1)]

    return _PLACEHOLDER.sub(_one, template)


def placeholders_in(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1) is not None]


def load_stack_spec(path: str | Path) -> StackSpec:
    source = Path(path)
    try:
        with source.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{source}: no such stack file") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    return parse_stack_spec(data, source)


def parse_stack_spec(data: dict[str, Any], source: Path) -> StackSpec:
    where = _Where(source)
    _reject_unknown(data, {"stack", "components", "proxies"}, where.top())
    stack = data.get("stack", {})
    if not isinstance(stack, dict):
        raise where.top().error("stack", "must be a table: [stack]")
    _reject_unknown(stack, _STACK_FIELDS, where.table("stack"))
    stack_where = where.table("stack")
    default_ready_timeout = _positive_number(stack, "ready_timeout_s", 30.0, stack_where)

    raw_components = data.get("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise where.top().error("components", "needs at least one [[components]] entry")
    components = tuple(
        _component(raw, index, default_ready_timeout, where) for index, raw in enumerate(raw_components)
    )
    _reject_duplicates([c.name for c in components], "component", where)

    raw_proxies = data.get("proxies", [])
    if not isinstance(raw_proxies, list):
        raise where.top().error("proxies", "must be an array of tables: [[proxies]]")
    proxies = tuple(_proxy(raw, index, where) for index, raw in enumerate(raw_proxies))
    _reject_duplicates([p.name for p in proxies], "proxy", where)

    proxy_component = _string(stack, "proxy_component", "faultproxy", stack_where)
    names = [c.name for c in components]
    if proxies and proxy_component not in names:
        raise stack_where.error(
            "proxy_component", f"[[proxies]] need a component named {proxy_component!r} to serve them"
        )
    for proxy in proxies:
        proxy_where = where.entry("proxies", proxy.name)
        if proxy.upstream not in names:
            raise proxy_where.error("upstream", f"no component named {proxy.upstream!r} (known: {names})")
        if proxy.upstream == proxy_component:
            raise proxy_where.error("upstream", "a proxy cannot point at the proxy component itself")

    entry = _string(stack, "entry", names[-1], stack_where)
    if entry not in names:
        raise stack_where.error("entry", f"no component named {entry!r} (known: {names})")

    cwd_text = _string(stack, "cwd", ".", stack_where)
    spec = StackSpec(
        source=source,
        cwd=(source.parent / cwd_text).resolve(),
        components=components,
        proxies=proxies,
        control_port=_port(stack, "control_port", stack_where, default=8470),
        stop_grace_s=_positive_number(stack, "stop_grace_s", 5.0, stack_where),
        proxy_component=proxy_component,
        entry=entry,
    )
    _check_placeholders(spec, where)
    _check_fixed_ports_distinct(spec, where)
    return spec


class _Where:
    """Where in the file a value lives, so every error message can say so."""

    def __init__(self, source: Path, label: str = "") -> None:
        self.source = source
        self.label = label

    def top(self) -> _Where:
        return _Where(self.source)

    def table(self, name: str) -> _Where:
        return _Where(self.source, f"[{name}]")

    def entry(self, kind: str, name: str) -> _Where:
        singular = {"components": "component", "proxies": "proxy"}[kind]
        return _Where(self.source, f"{singular} {name!r}")

    def error(self, field: str, problem: str) -> InputError:
        place = f"{self.label}, " if self.label else ""
        return InputError(f"{self.source}: {place}field {field!r}: {problem}")


def _component(raw: object, index: int, default_ready_timeout: float, where: _Where) -> ComponentSpec:
    anonymous = _Where(where.source, f"[[components]] #{index + 1}")
    if not isinstance(raw, dict):
        raise anonymous.error("components", "each entry must be a table")
    name = _name(raw, anonymous)
    here = where.entry("components", name)
    _reject_unknown(raw, _COMPONENT_FIELDS, here)
    command = raw.get("command")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(part, str) and part for part in command)
    ):
        raise here.error("command", "must be a non-empty list of non-empty strings (argv, no shell)")
    restart = _string(raw, "restart", "never", here)
    if restart not in RESTART_POLICIES:
        raise here.error("restart", f"must be one of {list(RESTART_POLICIES)}, not {restart!r}")
    critical = raw.get("critical", True)
    if not isinstance(critical, bool):
        raise here.error("critical", "must be true or false")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise here.error("env", 'must be a table of strings, e.g. env = { KEY = "value" }')
    ready = raw.get("ready")
    if ready is not None and (not isinstance(ready, str) or not (ready.startswith(("/", "http://")))):
        raise here.error("ready", 'must be a URL path like "/readyz" or an http:// URL')
    max_restarts = raw.get("max_restarts", 5)
    if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
        raise here.error("max_restarts", "must be a whole number >= 0")
    return ComponentSpec(
        name=name,
        command=tuple(command),
        port=_port(raw, "port", here),
        ready=ready,
        restart=restart,
        critical=critical,
        env=tuple(sorted(env.items())),
        max_restarts=max_restarts,
        ready_timeout_s=_positive_number(raw, "ready_timeout_s", default_ready_timeout, here),
    )


def _proxy(raw: object, index: int, where: _Where) -> ProxySpec:
    anonymous = _Where(where.source, f"[[proxies]] #{index + 1}")
    if not isinstance(raw, dict):
        raise anonymous.error("proxies", "each entry must be a table")
    name = _name(raw, anonymous)
    here = where.entry("proxies", name)
    _reject_unknown(raw, _PROXY_FIELDS, here)
    upstream = raw.get("upstream")
    if not isinstance(upstream, str):
        raise here.error("upstream", "must name the component this proxy forwards to")
    return ProxySpec(name=name, listen=_port(raw, "listen", here), upstream=upstream)


def _name(raw: dict[str, Any], where: _Where) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.error(
            "name", f"must be lowercase letters, digits, '-' or '_', starting with a letter; got {name!r}"
        )
    return name


def _port(raw: dict[str, Any], field: str, where: _Where, default: int | None = None) -> int:
    value = raw.get(field, default)
    if value is None:
        raise where.error(field, "is required (a TCP port, 1-65535)")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise where.error(field, f"must be a TCP port 1-65535, got {value!r}")
    return value


def _positive_number(raw: dict[str, Any], field: str, default: float, where: _Where) -> float:
    value = raw.get(field, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise where.error(field, f"must be a number > 0, got {value!r}")
    return float(value)


def _string(raw: dict[str, Any], field: str, default: str, where: _Where) -> str:
    value = raw.get(field, default)
    if not isinstance(value, str):
        raise where.error(field, f"must be a string, got {value!r}")
    return value


def _reject_unknown(raw: dict[str, Any], known: set[str], where: _Where) -> None:
    for key in raw:
        if key not in known:
            raise where.error(key, f"unknown field (known: {', '.join(sorted(known))})")


def _reject_duplicates(names: list[str], kind: str, where: _Where) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise where.entry("components" if kind == "component" else "proxies", name).error(
                "name", f"two {kind}s are named {name!r}"
            )
        seen.add(name)


def _check_placeholders(spec: StackSpec, where: _Where) -> None:
    known = set(SIMPLE_PLACEHOLDERS)
    known |= {f"ports.{c.name}" for c in spec.components}
    known |= {f"proxies.{p.name}" for p in spec.proxies}
    for component in spec.components:
        here = where.entry("components", component.name)
        fields = [("command", part) for part in component.command]
        fields += [("env", value) for _, value in component.env]
        fields += [("ready", component.ready)] if component.ready else []
        for field, template in fields:
            for placeholder in placeholders_in(template):
                if placeholder not in known:
                    raise here.error(
                        field, f"unknown placeholder {{{placeholder}}} (known: {', '.join(sorted(known))})"
                    )


def _check_fixed_ports_distinct(spec: StackSpec, where: _Where) -> None:
    owners: dict[int, str] = {spec.control_port: "[stack] control_port"}
    claims = [
        (c.port, f"component {c.name!r}", where.entry("components", c.name), "port") for c in spec.components
    ]
    claims += [
        (p.listen, f"proxy {p.name!r}", where.entry("proxies", p.name), "listen") for p in spec.proxies
    ]
    for port, owner, here, field in claims:
        if port in owners:
            raise here.error(field, f"port {port} is also used by {owners[port]}")
        owners[port] = owner
