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
    ready = "/readyz"                # URL path or http:// URL (2xx); "tcp" or absent: TCP connect to the
                                     # port; or a command argv, ready when it exits 0:
                                     # ready = ["pg_isready", "-h", "127.0.0.1", "-p", "{port}"]
    restart = "on-failure"           # or "never" (default)
    critical = true                  # false: the stack still comes up when this one does not
    env = { KEY = "value" }          # optional, added to brownout's environment; placeholders allowed
    stop_signal = "SIGINT"           # what stop and restart send first (default "SIGTERM")
    stop_timeout = 10                # seconds to wait after it before SIGKILL (default: [stack] stop_grace_s)
    max_restarts = 5                 # consecutive on-failure restarts without becoming ready
    ready_timeout_s = 30

    [[proxies]]                      # served by proxy_component; listen ports are placeholders too
    name = "upstream"
    listen = 8201
    upstream = "upstream"            # a component name

Placeholders in command, env and ready (URL or command): {python} {name} {port} {data_dir} {run_dir} {token}
{proxy_config} {ports.<component>} {proxies.<proxy>}; write {{ and }} for literal braces.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.inputs import TomlTable, load_toml

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
    "stop_signal",
    "stop_timeout",
}
_PROXY_FIELDS = {"name", "listen", "upstream"}
_SINGULAR = {"components": "component", "proxies": "proxy"}


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    command: tuple[str, ...]
    port: int
    ready: str | tuple[str, ...] | None = None  # URL or path (HTTP), None (TCP), or a command argv
    restart: str = "never"
    critical: bool = True
    env: tuple[tuple[str, str], ...] = ()
    max_restarts: int = 5
    ready_timeout_s: float = 30.0
    stop_signal: str = "SIGTERM"
    stop_timeout: float | None = None  # None: the stack's stop_grace_s

    @property
    def ready_command(self) -> tuple[str, ...] | None:
        return self.ready if isinstance(self.ready, tuple) else None


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
    return parse_stack_spec(load_toml(source, "stack file"), source)


def parse_stack_spec(data: dict[str, Any], source: Path) -> StackSpec:
    top = TomlTable(data, file=source, where="")
    top.only("stack", "components", "proxies")
    stack = TomlTable(top.raw("stack", {}), file=source, where="[stack]")
    stack.only(*_STACK_FIELDS)
    default_ready_timeout = stack.number("ready_timeout_s", positive=True, default=30.0)
    assert default_ready_timeout is not None

    components = _components(top, source, default_ready_timeout)
    proxies = _proxies(top, source)
    names = [c.name for c in components]
    proxy_component = stack.string("proxy_component", default="faultproxy") or "faultproxy"
    _check_proxy_routes(proxies, names, proxy_component, stack, source)
    entry = stack.string("entry", default=names[-1]) or names[-1]
    if entry not in names:
        raise stack.error("entry", f"no component named {entry!r} (known: {names})")

    spec = StackSpec(
        source=source,
        cwd=(source.parent / (stack.string("cwd", default=".") or ".")).resolve(),
        components=components,
        proxies=proxies,
        control_port=_port(stack, "control_port", default=8470),
        stop_grace_s=stack.number("stop_grace_s", positive=True, default=5.0) or 5.0,
        proxy_component=proxy_component,
        entry=entry,
    )
    _check_placeholders(spec)
    _check_fixed_ports_distinct(spec)
    return spec


def _components(top: TomlTable, source: Path, default_ready_timeout: float) -> tuple[ComponentSpec, ...]:
    raw_components = top.raw("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise top.error("components", "needs at least one [[components]] entry")
    components = tuple(
        _component(_entry(raw, "components", index, source), default_ready_timeout)
        for index, raw in enumerate(raw_components)
    )
    _reject_duplicates([c.name for c in components], "component", source)
    return components


def _proxies(top: TomlTable, source: Path) -> tuple[ProxySpec, ...]:
    raw_proxies = top.raw("proxies", [])
    if not isinstance(raw_proxies, list):
        raise top.error("proxies", "must be an array of tables: [[proxies]]")
    proxies = tuple(_proxy(_entry(raw, "proxies", index, source)) for index, raw in enumerate(raw_proxies))
    _reject_duplicates([p.name for p in proxies], "proxy", source)
    return proxies


def _check_proxy_routes(
    proxies: tuple[ProxySpec, ...], names: list[str], proxy_component: str, stack: TomlTable, source: Path
) -> None:
    """Every proxy leads to a component other than the proxy component, which must exist when any does."""
    if proxies and proxy_component not in names:
        raise stack.error("proxy_component", f"[[proxies]] need a component named {proxy_component!r} to serve them")
    for proxy in proxies:
        if proxy.upstream not in names:
            raise _at(source, "proxy", proxy.name).error(
                "upstream", f"no component named {proxy.upstream!r} (known: {names})"
            )
        if proxy.upstream == proxy_component:
            raise _at(source, "proxy", proxy.name).error(
                "upstream", "a proxy cannot point at the proxy component itself"
            )


def _at(source: Path, kind: str, name: str) -> TomlTable:
    """Where a named component or proxy lives, for errors found after reading it."""
    return TomlTable({}, file=source, where=f"{kind} {name!r}")


def _entry(raw: object, plural: str, index: int, source: Path) -> TomlTable:
    """One [[components]] / [[proxies]] entry, named in errors by its `name` once that is known."""
    anonymous = TomlTable(raw, file=source, where=f"[[{plural}]] #{index + 1}")
    name = anonymous.required_string("name")
    if not _NAME.match(name):
        raise anonymous.error(
            "name", f"must be lowercase letters, digits, '-' or '_', starting with a letter; got {name!r}"
        )
    return TomlTable(raw, file=source, where=f"{_SINGULAR[plural]} {name!r}")


def _component(table: TomlTable, default_ready_timeout: float) -> ComponentSpec:
    table.only(*_COMPONENT_FIELDS)
    command = table.string_list("command", required=True)
    assert command is not None
    if not command[0]:
        raise table.error("command", "the program (its first item) must not be empty")
    ready = _readiness(table)
    env = table.mapping("env")
    if not all(isinstance(value, str) for value in env.values()):
        raise table.error("env", 'must be a table of strings, e.g. env = { KEY = "value" }')
    return ComponentSpec(
        name=table.required_string("name"),
        command=command,
        port=_port(table, "port"),
        ready=ready,
        restart=table.string("restart", default="never", choices=RESTART_POLICIES) or "never",
        critical=table.boolean("critical", default=True),
        env=tuple(sorted(env.items())),
        max_restarts=table.integer("max_restarts", minimum=0, default=5) or 0,
        ready_timeout_s=table.number("ready_timeout_s", positive=True, default=default_ready_timeout)
        or default_ready_timeout,
        stop_signal=_stop_signal(table),
        stop_timeout=table.number("stop_timeout", positive=True),
    )


def _readiness(table: TomlTable) -> str | tuple[str, ...] | None:
    """HTTP (a path or http:// URL), TCP ("tcp" or absent) or a command argv that exits 0 when ready."""
    raw = table.raw("ready")
    if isinstance(raw, list):
        command = table.string_list("ready")
        if not command or not command[0]:
            raise table.error("ready", "a readiness command must be a non-empty list whose first item is the program")
        return command
    ready = table.string("ready")
    if ready is None or ready == "tcp":
        return None
    if not ready.startswith(("/", "http://")):
        raise table.error(
            "ready",
            'must be a URL path like "/readyz", an http:// URL, "tcp", '
            'or a command like ["pg_isready", "-p", "{port}"]',
        )
    return ready


def _stop_signal(table: TomlTable) -> str:
    name = table.string("stop_signal", default="SIGTERM") or "SIGTERM"
    normalized = name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"
    if normalized not in signal.Signals.__members__ or normalized in _UNSTOPPABLE:
        raise table.error("stop_signal", f'must be a signal name like "SIGINT" or "SIGTERM", got {name!r}')
    return normalized


_UNSTOPPABLE = {"SIGSTOP", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCHLD", "SIGWINCH", "SIGURG"}


def _proxy(table: TomlTable) -> ProxySpec:
    table.only(*_PROXY_FIELDS)
    upstream = table.string("upstream", required=True)
    assert upstream is not None
    return ProxySpec(name=table.required_string("name"), listen=_port(table, "listen"), upstream=upstream)


def _port(table: TomlTable, field: str, default: int | None = None) -> int:
    value = table.integer(field, default=default)
    if value is None:
        raise table.missing(field, "required: a TCP port 1-65535")
    if not 1 <= value <= 65535:
        raise table.error(field, f"must be a TCP port 1-65535, got {value}")
    return value


def _reject_duplicates(names: list[str], kind: str, source: Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _at(source, kind, name).error("name", f"two {kind}s are named {name!r}")
        seen.add(name)


def _check_placeholders(spec: StackSpec) -> None:
    known = set(SIMPLE_PLACEHOLDERS)
    known |= {f"ports.{c.name}" for c in spec.components}
    known |= {f"proxies.{p.name}" for p in spec.proxies}
    for component in spec.components:
        fields = [("command", part) for part in component.command]
        fields += [("env", value) for _, value in component.env]
        if isinstance(component.ready, tuple):
            fields += [("ready", part) for part in component.ready]
        elif component.ready:
            fields += [("ready", component.ready)]
        for field, template in fields:
            for placeholder in placeholders_in(template):
                if placeholder not in known:
                    raise _at(spec.source, "component", component.name).error(
                        field, f"unknown placeholder {{{placeholder}}} (known: {', '.join(sorted(known))})"
                    )


def _check_fixed_ports_distinct(spec: StackSpec) -> None:
    owners: dict[int, str] = {spec.control_port: "[stack] control_port"}
    claims = [("component", c.name, c.port, "port") for c in spec.components]
    claims += [("proxy", p.name, p.listen, "listen") for p in spec.proxies]
    for kind, name, port, field in claims:
        if port in owners:
            raise _at(spec.source, kind, name).error(field, f"port {port} is also used by {owners[port]}")
        owners[port] = f"{kind} {name!r}"
