"""The fault kinds a scenario may use and their kind-specific parameters (frozen, validated).

A `[[faults]]` entry has common fields (name, target, kind, at / when_users, duration, description)
read by brownout.scenario.schema; everything else belongs to its kind and is read here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brownout.faults.resource_kind import ResourceParams, read_resource
from brownout.inputs import TomlTable, format_duration

COMMON_FIELDS = ("name", "target", "kind", "at", "when_users", "duration", "description", "repeat", "every")

# Toxiproxy's toxic types and their attributes (all integers in Toxiproxy's API).
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "limit_data": ("bytes",),
    "slicer": ("average_size", "size_variation", "delay"),
}
# brownout proxy's own toxics and attributes (a real Toxiproxy refuses them); text attributes are strings,
# `headers` a table. The proxy checks the values; kept here so a typo fails before the run.
_HTTP_MATCH = ("method", "path_prefix", "header", "first", "every")
BROWNOUT_TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("distribution", "p50", "p99"),
    "http_error": (*_HTTP_MATCH, "status", "body", "headers"),
    "http_latency": (*_HTTP_MATCH, "latency", "jitter"),
    "http_drop": (*_HTTP_MATCH, "bytes", "reset"),
    "stall": ("probability", "delay"),
}
_TEXT_ATTRIBUTES = ("distribution", "method", "path_prefix", "header", "body")


@dataclass(frozen=True)
class NetworkParams:
    """A toxic on a Toxiproxy proxy, or the proxy disabled (`down = true`)."""

    proxy: str
    toxic: str | None = None
    attributes: tuple[tuple[str, Any], ...] = ()  # numbers; text and a headers table for brownout's toxics
    stream: str = "downstream"
    toxicity: float = 1.0
    down: bool = False


@dataclass(frozen=True)
class ComponentParams:
    """kill (heal: start), restart (heal: wait ready) or freeze (heal: thaw) through the control API."""

    component: str
    action: str
    ready_timeout_s: float = 30.0


@dataclass(frozen=True)
class AppParams:
    """An injected error rate and/or latency inside one dependency client of the gateway."""

    dependency: str
    error_rate: float = 0.0
    latency_ms: int = 0


@dataclass(frozen=True)
class DbLockParams:
    """`BEGIN EXCLUSIVE` held on the gateway's SQLite file for the fault's duration.

    `db_path` None means: the stack's `<data_dir>/gateway.db`.
    """

    db_path: str | None = None
    acquire_timeout_s: float = 10.0


@dataclass(frozen=True)
class Edge:
    """One proxied link: `client` reaches `server` through `proxy` (stack.toml: the proxy's upstream is
    `server`, and `client`'s command or env names `{proxies.<proxy>}`)."""

    proxy: str
    client: str
    server: str


PARTITION_DIRECTIONS = ("both", "upstream", "downstream")


@dataclass(frozen=True)
class PartitionParams:
    """Every proxied edge between two components (`between`), or between one and all others (`isolate`), cut
    at once. `direction`: "both" disables the proxies; "upstream" (client -> server) or "downstream" (the
    answers) drops that stream's data with a `timeout` toxic of 0 ms (held open, as a lost route does).
    `edges` is filled in from the stack once it is known (brownout.faults.edges); empty until then."""

    between: tuple[str, ...] = ()
    isolate: str | None = None
    direction: str = "both"
    edges: tuple[Edge, ...] = ()


@dataclass(frozen=True)
class HttpRequestSpec:
    method: str
    url: str
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HttpParams:
    inject: HttpRequestSpec
    heal: HttpRequestSpec | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class CommandParams:
    inject: tuple[str, ...]
    heal: tuple[str, ...] | None = None
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Repetition:
    """How often a fault happens: `count` windows, each starting `every_s` after the previous one."""

    count: int = 1
    every_s: float = 0.0


def repetition_name(name: str, number: int) -> str:
    """The journal name of a fault's `number`-th window: the first keeps the plain name (as a single fault
    does, and as brownout.checks.windows labels repeated names), the others get `#2`, `#3`, ..."""
    return name if number == 1 else f"{name}#{number}"


def base_fault_name(label: str) -> str:
    """A fault window's label without its repetition mark: `upstream-down#3` -> `upstream-down`."""
    base, mark, number = label.rpartition("#")
    return base if mark and base and number.isdigit() else label


def read_repetition(table: TomlTable, name: str, duration_s: float) -> Repetition:
    """`repeat = N` with `every = "40s"`: both or neither; each window must end before the next begins."""
    if base_fault_name(name) != name:
        raise table.error("name", f"{name!r} ends in #<number>, which marks a repetition: rename the fault")
    has_repeat, has_every = table.has("repeat"), table.has("every")
    if has_repeat and not has_every:
        raise table.missing("every", 'a repeated fault needs `every = "40s"`: how long from one start to the next')
    if has_every and not has_repeat:
        raise table.missing("repeat", "`every` needs `repeat = N`: how many times the fault happens")
    if not has_repeat:
        return Repetition()
    count = table.integer("repeat", minimum=1)
    every = table.duration("every")
    assert count is not None and every is not None
    if count > 1 and every <= duration_s:
        raise table.error(
            "every",
            f"each repetition lasts {format_duration(duration_s)}, so `every` must be longer than that "
            f"(got {format_duration(every)}): leave the target time to recover between repetitions",
        )
    return Repetition(count, every)


FaultParams = (
    NetworkParams | ComponentParams | AppParams | DbLockParams | HttpParams | CommandParams | PartitionParams
    | ResourceParams
)

KINDS = ("network", "component", "app", "http", "command", "partition", "resource")
COMPONENT_ACTIONS = ("kill", "restart", "freeze")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass(frozen=True)
class KindSchema:
    fields: tuple[str, ...]
    # True when the kind acts on the stack (or on [target.*] endpoints) rather than on free-form URLs.
    needs_stack_target: bool = True


def _network(table: TomlTable, target: str) -> NetworkParams:
    proxy = table.string("proxy", default=target) or target
    down = table.boolean("down")
    toxic = table.string("toxic", choices=(*TOXIC_ATTRIBUTES, *BROWNOUT_TOXIC_ATTRIBUTES))
    attributes_table = table.table("attributes")
    requests = toxic in ("http_error", "http_latency", "http_drop")  # they act on requests: upstream
    default_stream = "upstream" if requests else "downstream"
    stream = table.string("stream", default=default_stream, choices=("downstream", "upstream")) or default_stream
    toxicity = table.number("toxicity", minimum=0.0, maximum=1.0, default=1.0)
    if down and toxic:
        raise table.error("down", "use either `down = true` (proxy disabled) or `toxic = ...`, not both")
    if not down and not toxic:
        raise table.missing(
            "toxic",
            "give a toxic type (latency, timeout, reset_peer, bandwidth, "
            "slow_close, limit_data, slicer) or `down = true`",
        )
    attributes: list[tuple[str, Any]] = []
    if attributes_table is not None:
        if down:
            raise table.error("attributes", "only applies to a toxic, not to `down = true`")
        assert toxic is not None
        attributes = _toxic_attributes(attributes_table, toxic)
    return NetworkParams(
        proxy=proxy,
        toxic=toxic,
        attributes=tuple(attributes),
        stream=stream,
        toxicity=float(toxicity if toxicity is not None else 1.0),
        down=down,
    )


def _toxic_attributes(table: TomlTable, toxic: str) -> list[tuple[str, Any]]:
    """The attributes, each checked as the fault proxy would check it (brownout.proxy.toxics), so a bad
    status or distribution fails before the run (or in the web UI's form) rather than at the inject."""
    from brownout.proxy.toxics import DISTRIBUTIONS, HTTP_STATUSES, latency_fit_problem

    names = (*TOXIC_ATTRIBUTES.get(toxic, ()), *BROWNOUT_TOXIC_ATTRIBUTES.get(toxic, ()))
    table.only(*names)
    attributes: list[tuple[str, Any]] = []
    for name in names:
        if name in _TEXT_ATTRIBUTES:
            value: Any = table.string(name, choices=DISTRIBUTIONS[1:] if name == "distribution" else ())
        elif name == "headers":
            headers = table.table(name)
            keys = [] if headers is None else headers.keys()
            value = {key: str(headers.raw(key)) for key in keys} if headers is not None else None
        elif name == "probability":
            value = table.number(name, minimum=0.0, maximum=1.0)
        elif name == "status" and toxic == "http_error":
            value = table.integer(name, minimum=HTTP_STATUSES[0], maximum=HTTP_STATUSES[1])
        else:
            value = table.integer(name, minimum=0)
        if value is not None:
            attributes.append((name, value))
    problem = latency_fit_problem(dict(attributes)) if toxic == "latency" else None
    if problem:
        raise table.error("p99", problem)
    table.finish()
    return attributes


def _component(table: TomlTable, target: str) -> ComponentParams:
    action = table.required_string("action", choices=COMPONENT_ACTIONS)
    ready = table.duration("ready_timeout")
    return ComponentParams(component=target, action=action, ready_timeout_s=ready or 30.0)


def _app(table: TomlTable, target: str) -> AppParams | DbLockParams:
    if table.boolean("db_lock"):
        for other in ("dependency", "error_rate", "latency_ms"):
            if table.has(other):
                raise table.error(other, "does not apply to `db_lock = true` (a DB lock is its own fault)")
        path = table.string("db_path")
        acquire = table.duration("acquire_timeout")
        return DbLockParams(db_path=path, acquire_timeout_s=acquire or 10.0)
    if table.has("db_path") or table.has("acquire_timeout"):
        field_name = "db_path" if table.has("db_path") else "acquire_timeout"
        raise table.error(field_name, "only applies with `db_lock = true`")
    dependency = table.string("dependency")
    if dependency is None:
        raise table.missing(
            "dependency", 'name the gateway dependency to break (e.g. "upstream"), or set `db_lock = true`'
        )
    error_rate = table.number("error_rate", minimum=0.0, maximum=1.0)
    latency_ms = table.integer("latency_ms", minimum=0)
    if not error_rate and not latency_ms:
        raise table.error(
            "error_rate",
            "give `error_rate` (0..1) and/or `latency_ms` (> 0); with neither the fault does nothing",
        )
    return AppParams(dependency=dependency, error_rate=error_rate or 0.0, latency_ms=latency_ms or 0)


def _http_request(table: TomlTable, key: str, required: bool) -> HttpRequestSpec | None:
    request = table.table(key, required=required)
    if request is None:
        return None
    request.only("method", "url", "body", "headers")
    method = request.string("method", default="POST", choices=HTTP_METHODS) or "POST"
    url = request.required_string("url")
    if not url.startswith(("http://", "https://")):
        raise request.error("url", f"must start with http:// or https://, got {url!r}")
    raw_body = request.raw("body")
    body: str | None
    if raw_body is None or isinstance(raw_body, str):
        body = raw_body
    elif isinstance(raw_body, dict | list):
        body = json.dumps(raw_body)
    else:
        raise request.error("body", "must be a string or a table (sent as JSON)")
    headers = request.mapping("headers")
    for name, value in headers.items():
        if not isinstance(value, str):
            raise request.error("headers", f"header {name!r} must be a string")
    if body is not None and isinstance(raw_body, dict | list):
        headers.setdefault("Content-Type", "application/json")
    request.finish()
    return HttpRequestSpec(method=method, url=url, body=body, headers=tuple(sorted(headers.items())))


def _http(table: TomlTable, target: str) -> HttpParams:
    inject = _http_request(table, "inject", required=True)
    assert inject is not None
    heal = _http_request(table, "heal", required=False)
    timeout = table.duration("timeout")
    return HttpParams(inject=inject, heal=heal, timeout_s=timeout or 10.0)


def _command(table: TomlTable, target: str) -> CommandParams:
    inject = table.string_list("inject", required=True)
    assert inject is not None
    heal = table.string_list("heal")
    timeout = table.duration("timeout")
    return CommandParams(inject=inject, heal=heal, timeout_s=timeout or 30.0)


def _partition(table: TomlTable, target: str) -> PartitionParams:
    """`between = ["a", "b"]` or `isolate = "a"` (one of them); the edges are checked against the stack later."""
    has_between, has_isolate = table.has("between"), table.has("isolate")
    if has_between and has_isolate:
        raise table.error("isolate", "give either `between` or `isolate`, not both")
    if not has_between and not has_isolate:
        raise table.missing("between", 'say what to cut: `between = ["gateway", "notifier"]` or `isolate = "notifier"`')
    direction = table.string("direction", default="both", choices=PARTITION_DIRECTIONS) or "both"
    if has_isolate:
        return PartitionParams(isolate=table.required_string("isolate"), direction=direction)
    between = table.string_list("between", required=True) or ()
    if len(between) != 2 or between[0] == between[1]:
        raise table.error("between", f"must name two different components, got {list(between)}")
    return PartitionParams(between=tuple(between), direction=direction)


def partition_target(params: PartitionParams) -> str:
    """The journal's `target` of a partition: the isolated component, or `a/b`."""
    return params.isolate or "/".join(params.between)


SCHEMAS: dict[str, KindSchema] = {
    "network": KindSchema(("proxy", "toxic", "attributes", "stream", "toxicity", "down")),
    "component": KindSchema(("action", "ready_timeout")),
    "app": KindSchema(("dependency", "error_rate", "latency_ms", "db_lock", "db_path", "acquire_timeout")),
    "http": KindSchema(("inject", "heal", "timeout"), needs_stack_target=False),
    "command": KindSchema(("inject", "heal", "timeout"), needs_stack_target=False),
    "partition": KindSchema(("between", "isolate", "direction")),
    "resource": KindSchema(("resource", "cpus", "limit_mb", "mode", "offset", "ready_timeout")),
}

_READERS: dict[str, Callable[[TomlTable, str], FaultParams]] = {
    "network": _network,
    "component": _component,
    "app": _app,
    "http": _http,
    "command": _command,
    "partition": _partition,
    "resource": read_resource,
}


def check_fields(kind: str, table: TomlTable) -> None:
    """Before anything is read: every key must be a common field or one of this kind's."""
    own = SCHEMAS[kind].fields + COMMON_FIELDS
    for other_kind, schema in SCHEMAS.items():
        for key in schema.fields:
            if key not in own and table.has(key):
                raise table.error(
                    key,
                    f"does not apply to kind {kind!r} (it is a {other_kind!r} field); "
                    f"{kind!r} takes: {', '.join(SCHEMAS[kind].fields)}",
                )
    table.only(*own)


def read_params(kind: str, table: TomlTable, target: str) -> FaultParams:
    """Read and validate the kind-specific fields of a fault table (common fields already read)."""
    params: FaultParams = _READERS[kind](table, target)
    table.finish(extra_known=SCHEMAS[kind].fields + COMMON_FIELDS)
    return params


def params_as_dict(params: FaultParams) -> dict[str, Any]:
    """The journal's `params` cell: the kind-specific parameters as plain JSON-able values."""
    from dataclasses import asdict

    def _plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _plain(v) for k, v in value.items() if v not in (None, (), [])}
        if isinstance(value, tuple | list):
            if (
                value
                and all(isinstance(v, tuple | list) and len(v) == 2 for v in value)
                and all(isinstance(v[0], str) for v in value)
            ):
                return {k: _plain(v) for k, v in value}
            return [_plain(v) for v in value]
        return value

    plain: dict[str, Any] = _plain(asdict(params))
    return plain
