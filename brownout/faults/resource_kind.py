"""The `resource` kind's parameters: one stack component starved of CPU, memory or disk, or its clock offset.

Read by brownout.faults.kinds (a `[[faults]]` table) and by the web UI's form (brownout.plugin.manual), both
through `read_resource`; done by brownout.faults.drivers.resource.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from brownout.inputs import TomlTable, parse_duration


@dataclass(frozen=True)
class ResourceParams:
    """One stack component starved of a resource (brownout.faults.drivers.resource; README "Resource faults").

    cpu: `cpus` hog processes pinned to the component's CPUs (None: one per CPU it may run on); memory:
    `limit_mb` allocated and touched; disk: `mode` full (a ballast file of at most `limit_mb` fills the
    data dir's filesystem) or slow (always refused: nothing honest can slow one directory here); clock: the
    component restarted under libfaketime, `offset_s` ahead (negative: behind).
    """

    component: str
    resource: str
    cpus: int | None = None
    limit_mb: int | None = None
    mode: str | None = None
    offset_s: float | None = None
    ready_timeout_s: float = 30.0



RESOURCES = ("cpu", "memory", "disk", "clock")
DISK_MODES = ("full", "slow")
DISK_FULL_DEFAULT_MB = 256  # the most a disk-full ballast writes unless `limit_mb` says otherwise
_RESOURCE_FIELDS = {"cpu": ("cpus",), "memory": ("limit_mb",), "disk": ("mode", "limit_mb"), "clock": ("offset",)}


def _signed_duration(table: TomlTable, key: str) -> float:
    """`offset = "30s"` (ahead) or `"-2m"` (behind): a clock offset may go either way, but not be 0."""
    raw = table.raw(key)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise table.missing(key, 'give the clock offset, e.g. `offset = "30s"` (ahead) or `offset = "-2m"` (behind)')
    text = str(raw).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    try:
        seconds = parse_duration(text.lstrip("+-")) if isinstance(raw, str) else abs(float(raw))
    except ValueError as exc:
        raise table.error(key, str(exc)) from None
    if seconds == 0:
        raise table.error(key, "an offset of 0 changes nothing: give one like \"30s\" or \"-2m\"")
    return sign * seconds


def read_resource(table: TomlTable, target: str) -> ResourceParams:
    resource = table.required_string("resource", choices=RESOURCES)
    own = _RESOURCE_FIELDS[resource]
    for field_name in ("cpus", "limit_mb", "mode", "offset"):
        if field_name not in own and table.has(field_name):
            raise table.error(field_name, f"does not apply to resource {resource!r} (it takes: {', '.join(own)})")
    ready = table.duration("ready_timeout") or 30.0
    params = ResourceParams(component=target, resource=resource, ready_timeout_s=ready)
    if resource == "cpu":
        return replace(params, cpus=table.integer("cpus", minimum=1, maximum=64))
    if resource == "memory":
        if not table.has("limit_mb"):
            raise table.missing("limit_mb", "say how much memory to hold, e.g. `limit_mb = 512`")
        return replace(params, limit_mb=table.integer("limit_mb", minimum=1))
    if resource == "disk":
        mode = table.required_string("mode", choices=DISK_MODES)
        limit = table.integer("limit_mb", minimum=1, default=DISK_FULL_DEFAULT_MB)
        return replace(params, mode=mode, limit_mb=limit)
    return replace(params, offset_s=_signed_duration(table, "offset"))
