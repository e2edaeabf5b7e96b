"""A scenario file (TOML) -> frozen dataclasses, fully validated before anything starts.

Sections: `[load]` (rising load in steps or a ramp, optional spike, user mix), `[[faults]]` (what breaks,
when, for how long), `[criteria]` (check thresholds), and either `[stack]` (a stack.toml to start) or
`[target]` (someone's own running service, with `[target.proxy]` / `[target.admin]` / `[target.control]`
endpoints for the drivers). Every error names the file, the place (`faults[2] "upstream-down"`) and the
field, and raises InputError (exit code 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from brownout.checks.criteria import Criteria
from brownout.checks.metric_names import MetricNames
from brownout.errors import InputError
from brownout.faults.kinds import (
    KINDS,
    SCHEMAS,
    DbLockParams,
    FaultParams,
    NetworkParams,
    PartitionParams,
    check_fields,
    partition_target,
    read_params,
    read_repetition,
    repetition_name,
)
from brownout.inputs import TomlTable, format_duration, loads_toml, parse_duration, read_text, suggest
from brownout.scenario import shipped
from brownout.scenario.audit import AuditSettings, read_audit_settings
from brownout.scenario.guard import Guard, read_guard
from brownout.scenario.load_plan import Load, LoadStep, Spike, read_load

__all__ = [
    "DEFAULT_STACK", "Endpoint", "FaultSpec", "Load", "LoadStep", "Scenario", "Spike", "StackNames",
    "StackRef", "TargetRef", "format_duration", "load_scenario", "parse_duration", "parse_scenario",
    "stack_names",
]  # fmt: skip

REPO_ROOT = shipped.ROOT  # the checkout, or the installed package's shipped files (same layout)
DEFAULT_STACK = shipped.SAMPLE_STACK
# The sample stack's components, used when its stack.toml cannot be read for names.
SAMPLE_TARGETS = ("gateway", "upstream", "notifier")
_TOP_LEVEL = ("name", "description", "load", "faults", "criteria", "metrics", "stack", "target", "audit", "guard")


# --- where the faults go ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StackRef:
    """The stack to start (and whose components are the fault targets)."""

    path: Path


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None = None
    token_env: str | None = None  # read the token from this environment variable when the run starts


@dataclass(frozen=True)
class TargetRef:
    """Someone's own running service; drivers reach it through the endpoints given here."""

    host: str
    proxy: Endpoint | None = None
    admin: Endpoint | None = None
    control: Endpoint | None = None


def _read_url(table: TomlTable, key: str) -> str:
    url = table.required_string(key)
    if not url.startswith(("http://", "https://")):
        raise table.error(key, f"must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def _read_target(table: TomlTable) -> TargetRef:
    table.only("host", "proxy", "admin", "control")
    host = _read_url(table, "host")
    endpoints: dict[str, Endpoint | None] = {}
    for key in ("proxy", "admin", "control"):
        sub = table.table(key)
        if sub is None:
            endpoints[key] = None
            continue
        sub.only("url", "token", "token_env")
        url = _read_url(sub, "url")
        token = sub.string("token")
        token_env = sub.string("token_env")
        if token is not None and token_env is not None:
            raise sub.error("token_env", "give either token or token_env, not both")
        sub.finish()
        endpoints[key] = Endpoint(url=url, token=token, token_env=token_env)
    table.finish()
    return TargetRef(host=host, **endpoints)


def _resolve(path_text: str, scenario_path: Path) -> Path:
    path = Path(path_text)
    if path.is_absolute():
        return path
    for base in (scenario_path.parent, Path.cwd(), REPO_ROOT):
        if (base / path).exists():
            return (base / path).resolve()
    return (scenario_path.parent / path).resolve()


def _read_stack(table: TomlTable, scenario_path: Path) -> StackRef:
    table.only("path")
    text = table.string("path")
    table.finish()
    if text is None:
        return StackRef(path=DEFAULT_STACK)
    path = _resolve(text, scenario_path)
    if not path.is_file():
        raise table.error("path", f"no such file: {path}")
    return StackRef(path=path)


@dataclass(frozen=True)
class StackNames:
    components: tuple[str, ...]
    proxies: tuple[str, ...]


SAMPLE_NAMES = StackNames(components=SAMPLE_TARGETS + ("faultproxy",), proxies=("upstream", "notifier"))


def stack_names(stack: StackRef) -> StackNames:
    """The components and proxies of a stack: what its faults may target."""
    if not stack.path.is_file() and stack.path == DEFAULT_STACK:
        return SAMPLE_NAMES  # the sample stack file is not there yet: assume its usual shape
    from brownout.stack.spec import load_stack_spec

    spec = load_stack_spec(stack.path)
    return StackNames(components=spec.names, proxies=tuple(proxy.name for proxy in spec.proxies))


# --- faults ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultSpec:
    index: int
    name: str
    target: str
    kind: str
    params: FaultParams
    duration_s: float
    at_s: float | None = None
    when_users: int | None = None
    description: str = ""
    planned_offset_s: float = 0.0  # `at`, or when the load shape reaches `when_users`
    repeat: int = 1  # how many windows; `windows()` gives one spec per window
    every_s: float = 0.0  # from one window's start to the next
    lag_s: float = 0.0  # a repetition's delay after its trigger (`at` already includes it)

    @property
    def label(self) -> str:
        return f'faults[{self.index}] "{self.name}"'

    def windows(self) -> tuple[FaultSpec, ...]:
        """One spec per repetition, each injected, healed and journalled on its own (`name`, `name#2`, ...)."""
        if self.repeat <= 1:
            return (self,)
        return tuple(
            replace(
                self,
                name=repetition_name(self.name, number),
                at_s=None if self.at_s is None else self.at_s + lag,
                planned_offset_s=self.planned_offset_s + lag,
                repeat=1,
                every_s=0.0,
                lag_s=lag,
            )
            for number, lag in ((n, (n - 1) * self.every_s) for n in range(1, self.repeat + 1))
        )

    @property
    def planned_end_offset_s(self) -> float:
        return self.planned_offset_s + self.duration_s

    def with_start_at(self, offset_s: float) -> FaultSpec:
        """The same fault, fired at a fixed offset (for runs where no user count is reported)."""
        return replace(self, at_s=offset_s, when_users=None, planned_offset_s=offset_s)


def _read_fault(raw: object, index: int, file: Path, load: Load) -> FaultSpec:
    name_hint = raw.get("name") if isinstance(raw, Mapping) else None
    where = f'faults[{index}] "{name_hint}"' if isinstance(name_hint, str) else f"faults[{index}]"
    table = TomlTable(raw, file=file, where=where)
    kind = table.required_string("kind", choices=KINDS)
    check_fields(kind, table)
    # A partition's components are its `between` / `isolate`, so its target is made from them.
    early = _read_partition(table) if kind == "partition" else None
    target = partition_target(early) if early else table.required_string("target")
    name = table.string("name", default=f"{kind}-{target}-{index}") or ""
    description = table.string("description", default="") or ""
    duration = table.duration("duration", required=True)
    assert duration is not None
    at, when_users, planned = _read_start(table, load)
    repetition = read_repetition(table, name, duration)
    params = early or read_params(kind, table, target)
    spec = FaultSpec(
        index=index,
        name=name,
        target=target,
        kind=kind,
        params=params,
        duration_s=duration,
        at_s=at,
        when_users=when_users,
        description=description,
        planned_offset_s=planned,
        repeat=repetition.count,
        every_s=repetition.every_s,
    )
    _check_ends_in_time(spec, table, load)
    return spec


def _read_partition(table: TomlTable) -> PartitionParams:
    if table.has("target"):
        raise table.error("target", "a partition names its components in `between` or `isolate`, not in `target`")
    params = read_params("partition", table, "")
    assert isinstance(params, PartitionParams)
    return params


def _read_start(table: TomlTable, load: Load) -> tuple[float | None, int | None, float]:
    """`at` or `when_users` (exactly one), and the offset from the test start where the fault is planned."""
    has_at, has_users = table.has("at"), table.has("when_users")
    if has_at and has_users:
        raise table.error("when_users", "give either `at` or `when_users`, not both")
    if not has_at and not has_users:
        raise table.missing(
            "at",
            'say when the fault starts with `at = "45s"` (offset from the test start) or `when_users = 50`',
        )
    at = table.duration("at", allow_zero=True)
    when_users = table.integer("when_users", minimum=1)
    if when_users is None:
        assert at is not None
        return at, None, at
    reached = load.time_to_reach(when_users)
    if reached is None:
        raise table.error("when_users", f"the load never reaches {when_users} users (its peak is {load.max_users})")
    return at, when_users, reached


def _check_ends_in_time(spec: FaultSpec, table: TomlTable, load: Load) -> None:
    last = spec.windows()[-1]
    end = last.planned_end_offset_s
    if end > load.duration_s + 1e-9:
        what = "the fault ends" if spec.repeat == 1 else f"its repetition {last.name!r} ends"
        raise table.error(
            "duration" if spec.repeat == 1 else "repeat",
            f"{what} at {format_duration(end)}, after the load ends at "
            f"{format_duration(load.duration_s)}: shorten it or start it earlier"
            + ("" if spec.repeat == 1 else ", or repeat it less often"),
        )


def _check_targets(faults: tuple[FaultSpec, ...], file: Path, stack: StackRef | None, target: TargetRef | None) -> None:
    names = stack_names(stack) if stack and any(SCHEMAS[f.kind].needs_stack_target for f in faults) else None
    endpoint_for = {"network": "proxy", "app": "admin", "component": "control", "resource": "control"}
    for fault in faults:
        where = f"{file}: {fault.label}"
        params = fault.params
        if isinstance(params, PartitionParams):
            continue  # checked with its edges: _with_partition_edges
        if names is not None:
            if isinstance(params, NetworkParams):
                if params.proxy not in names.proxies:
                    field_name = "proxy" if params.proxy != fault.target else "target"
                    raise InputError(
                        f"{where}: field {field_name!r}: the stack has no proxy "
                        f"{params.proxy!r} (its proxies: {', '.join(names.proxies) or 'none'})"
                    )
            elif SCHEMAS[fault.kind].needs_stack_target and fault.target not in names.components:
                raise InputError(
                    f"{where}: field 'target': unknown target {fault.target!r}; the stack has "
                    f"{', '.join(names.components)}"
                )
        if target is None:
            continue
        needed = endpoint_for.get(fault.kind)
        if isinstance(params, DbLockParams):
            if params.db_path is None:
                raise InputError(
                    f"{where}: field 'db_path': required with [target] (no stack to read the gateway's data dir from)"
                )
        elif needed and getattr(target, needed) is None:
            raise InputError(
                f"{where}: field 'kind': a {fault.kind!r} fault against [target] needs a "
                f"[target.{needed}] table with its url"
            )


def _check_overlaps(faults: tuple[FaultSpec, ...], file: Path) -> None:
    windows = [window for fault in faults for window in fault.windows()]
    ordered = sorted(windows, key=lambda f: (f.target, f.planned_offset_s))
    names: dict[str, FaultSpec] = {}
    for fault in faults:
        if fault.name in names:
            raise InputError(
                f"{file}: {fault.label}: field 'name': {fault.name!r} is already used by {names[fault.name].label}"
            )
        names[fault.name] = fault
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.target == later.target and later.planned_offset_s < earlier.planned_end_offset_s:
            # A repetition running into another fault is the repeated fault's doing, whichever starts first.
            blamed, other = (earlier, later) if earlier.lag_s and not later.lag_s else (later, earlier)
            field_name = "repeat" if blamed.lag_s else "at"
            raise InputError(
                f"{file}: {blamed.label}: field {field_name!r}: overlaps {other.label} on target {later.target!r} "
                f"({format_duration(later.planned_offset_s)} is before that fault ends at "
                f"{format_duration(earlier.planned_end_offset_s)}); one target takes one fault at a time"
            )


def _with_partition_edges(
    faults: tuple[FaultSpec, ...], file: Path, stack: StackRef | None
) -> tuple[FaultSpec, ...]:
    """Each partition with the edges it cuts, read from the stack (refused when one is missing)."""
    partitions = [fault for fault in faults if isinstance(fault.params, PartitionParams)]
    if not partitions:
        return faults
    if stack is None:
        raise InputError(
            f"{file}: {partitions[0].label}: field 'kind': a partition needs a [stack] whose [[proxies]] give its "
            f"edges; against [target], cut each link with a `network` fault (`down = true`) on its proxy"
        )
    from brownout.faults.edges import partition_edges
    from brownout.stack.spec import load_stack_spec

    spec = load_stack_spec(stack.path)
    resolved = []
    for fault in faults:
        params = fault.params
        if isinstance(params, PartitionParams):
            try:
                params = replace(params, edges=partition_edges(params, spec))
            except InputError as exc:
                raise InputError(f"{file}: {fault.label}: {exc}") from None
        resolved.append(replace(fault, params=params))
    _check_shared_proxies(tuple(resolved), file)
    return tuple(resolved)


def _proxies_touched(fault: FaultSpec) -> set[str]:
    params = fault.params
    if isinstance(params, PartitionParams):
        return {edge.proxy for edge in params.edges}
    return {params.proxy} if isinstance(params, NetworkParams) else set()


def _check_shared_proxies(faults: tuple[FaultSpec, ...], file: Path) -> None:
    """A partition's heal re-enables and clears its proxies, so nothing else may act on them meanwhile."""
    windows = [window for fault in faults for window in fault.windows() if _proxies_touched(window)]
    for i, one in enumerate(windows):
        for other in windows[i + 1 :]:
            shared = _proxies_touched(one) & _proxies_touched(other)
            overlap = max(one.planned_offset_s, other.planned_offset_s) < min(
                one.planned_end_offset_s, other.planned_end_offset_s
            )
            if shared and overlap and "partition" in (one.kind, other.kind):
                raise InputError(
                    f"{file}: {other.label}: field 'at': overlaps {one.label} on proxy {sorted(shared)[0]!r} "
                    f"({format_duration(other.planned_offset_s)}..{format_duration(other.planned_end_offset_s)}); "
                    f"a partition's proxies take no other fault while it lasts"
                )


# --- the scenario ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    load: Load
    faults: tuple[FaultSpec, ...]
    criteria: Criteria = field(default_factory=Criteria)
    metrics: MetricNames = field(default_factory=MetricNames)  # the target's metric names ([metrics])
    stack: StackRef | None = None
    target: TargetRef | None = None
    description: str = ""
    text: str = ""
    audit: AuditSettings = AuditSettings()  # [audit]: when and how acknowledged writes are read back
    guard: Guard = Guard()  # [guard]: live limits whose breach heals everything and stops the run


def _read_criteria(table: TomlTable | None) -> Criteria:
    return Criteria() if table is None else table.read_into(Criteria, noun="criterion")


def _check_fault_names(criteria: Criteria, faults: tuple[FaultSpec, ...], file: Path) -> None:
    """A limit keyed by a fault the scenario does not have would silently leave the default in force."""
    windows = [window.name for fault in faults for window in fault.windows()]
    # A window's own availability target (`name#2`) is looked up; a recovery target only by the fault's name.
    known = {"availability_targets": windows, "fault_recovery_targets_s": [fault.name for fault in faults]}
    for field_name, names in known.items():
        for key in getattr(criteria, field_name):
            if key not in names:
                hint = suggest(key, names)
                raise InputError(
                    f"{file}: criteria.{field_name}: field {key!r}: names no fault of the scenario"
                    + (f" ({hint})" if hint else "") + f"; its faults: {', '.join(names) or 'none'}"
                )


def _read_metrics(table: TomlTable | None) -> MetricNames:
    return MetricNames() if table is None else table.read_into(MetricNames)


def _read_load_table(top: TomlTable, file: Path) -> Load:
    load_table = top.table("load")
    if load_table is None:
        raise InputError(
            f"{file}: [load] is missing: say how many users to run, e.g. "
            f'`[load]` with `steps = [{{users = 10, spawn_rate = 5, duration = "30s"}}]`'
        )
    return read_load(load_table)


def _read_where(top: TomlTable, file: Path) -> tuple[StackRef | None, TargetRef | None]:
    """Where the faults go: [stack] (the sample's when neither is given) or [target], never both."""
    if top.has("stack") and top.has("target"):
        raise InputError(f"{file}: give either [stack] (start a stack) or [target] (your own service), not both")
    target_table, stack_table = top.table("target"), top.table("stack")
    if target_table is not None:
        return None, _read_target(target_table)
    return (_read_stack(stack_table, file) if stack_table is not None else StackRef(path=DEFAULT_STACK)), None


def _read_faults(top: TomlTable, file: Path, load: Load) -> tuple[FaultSpec, ...]:
    raw_faults = top.raw("faults", [])
    if not isinstance(raw_faults, list):
        raise InputError(f"{file}: `faults` must be an array of tables: write each fault as [[faults]]")
    return tuple(_read_fault(raw, i, file, load) for i, raw in enumerate(raw_faults))


def parse_scenario(text: str, path: Path | str = "<scenario>") -> Scenario:
    """Parse and validate scenario text; raises InputError naming file, place and field."""
    file = Path(path)
    document = loads_toml(text, file)
    top = TomlTable(document, file=file, where="")
    top.only(*_TOP_LEVEL)
    for key in ("load", "stack", "target", "criteria", "metrics", "audit", "guard"):
        if top.has(key) and not isinstance(document[key], Mapping):
            raise InputError(f"{file}: [{key}] must be a table")
    load = _read_load_table(top, file)
    stack, target = _read_where(top, file)
    faults = _read_faults(top, file, load)
    _check_overlaps(faults, file)
    _check_targets(faults, file, stack, target)
    faults = _with_partition_edges(faults, file, stack)
    criteria = _read_criteria(top.table("criteria"))
    _check_fault_names(criteria, faults, file)
    metrics = _read_metrics(top.table("metrics"))
    audit = read_audit_settings(top.table("audit"))
    guard = read_guard(top.table("guard"))
    name = top.string("name", default=file.stem) or file.stem
    description = top.string("description", default="") or ""
    top.finish(extra_known=_TOP_LEVEL)
    return Scenario(
        path=file, name=name, load=load, faults=faults, criteria=criteria, metrics=metrics, stack=stack,
        target=target, description=description, text=text, audit=audit, guard=guard,
    )  # fmt: skip


def load_scenario(path: Path | str) -> Scenario:
    file = Path(path)
    return parse_scenario(read_text(file, "scenario file"), file)
