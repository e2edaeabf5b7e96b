"""Where a run's load goes and how its drivers and its audit reach the service: the scenario's stack, started
here, or someone's own service (`--host` / `[target]`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from brownout.errors import InputError
from brownout.faults.endpoints import NO_ENDPOINTS, Endpoints, endpoints_from_description, endpoints_from_target
from brownout.faults.kinds import ResourceParams
from brownout.plugin.integrity import AuditPlan, audit_plan
from brownout.scenario.schema import Scenario

if TYPE_CHECKING:  # the stack's supervisor is imported only when a stack is started
    from brownout.stack.stack import Stack


@dataclass(frozen=True)
class Target:
    """Where the load goes and how the drivers and the audit reach the target."""

    name: str  # how telemetry.csv names it: the stack's entry component, or "target"
    host: str
    endpoints: Endpoints
    audit: AuditPlan  # how acknowledged writes are read back after the heal
    proxies: tuple[str, ...] = ()  # the stack's proxies and components: what faults by hand may name;
    components: tuple[str, ...] = ()  # empty when brownout cannot know them ([target], --host)


def start_stack(scenario: Scenario, out: Path, ports: str) -> Stack:
    from brownout.stack.stack import Stack

    assert scenario.stack is not None
    return Stack.start(scenario.stack.path, out / "stack", ports=ports, small_disks=small_disks_for(scenario))


def small_disks_for(scenario: Scenario) -> dict[str, int]:
    """component -> MB: a data dir of its own size for each component a disk-full fault fills (the largest
    `limit_mb` when several do), so the fault fills that and no shared disk (brownout.stack.small_disk)."""
    sizes: dict[str, int] = {}
    for fault in scenario.faults:
        params = fault.params
        if isinstance(params, ResourceParams) and params.resource == "disk" and params.mode == "full":
            sizes[params.component] = max(sizes.get(params.component, 0), params.limit_mb or 0)
    return sizes


def stack_target(scenario: Scenario, stack: Stack) -> Target:
    """The stack's entry component, its fault endpoints, and its readiness for the audit."""
    description = stack.describe()
    endpoints = endpoints_from_description(description, source=f"the stack in {stack.run_dir}")
    host = stack.url(stack.spec.entry)
    entry_ready = getattr(stack.spec.component(stack.spec.entry), "ready", None)
    plan = audit_plan(scenario.audit, host, endpoints.admin_for(stack.spec.entry), endpoints.admin_token,
                      entry_ready if isinstance(entry_ready, str) else None)  # fmt: skip
    proxies = tuple(proxy.name for proxy in stack.spec.proxies)
    return Target(stack.spec.entry, host, endpoints, plan, proxies, tuple(stack.spec.names))


def own_target(scenario: Scenario, host: str) -> Target:
    """Someone's own service: `--host`, else `[target] host`; its endpoints from `[target]`."""
    host = (host or (scenario.target.host if scenario.target else "")).rstrip("/")
    if not host:
        raise InputError(f"{scenario.path}: no [stack] or [target] host, and no --host given: nothing to load")
    if scenario.target:
        endpoints = endpoints_from_target(scenario.target, scenario.path)
    elif scenario.stack is not None:  # a stack scenario run with --host
        endpoints = replace(NO_ENDPOINTS, source="--host was given, so the scenario's [stack] was not started")
    else:
        endpoints = NO_ENDPOINTS
    plan = audit_plan(scenario.audit, host, endpoints.admin_url, endpoints.admin_token)
    return Target("target", host, endpoints, plan)
