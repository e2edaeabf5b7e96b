"""One small driver per fault kind; `build_driver` picks and wires the right one."""

from __future__ import annotations

import os

from brownout.errors import InputError
from brownout.faults.drivers.app import AdminFaultDriver, DbLockDriver
from brownout.faults.drivers.base import Driver
from brownout.faults.drivers.command import CommandDriver
from brownout.faults.drivers.component import ComponentDriver
from brownout.faults.drivers.http import HttpDriver
from brownout.faults.drivers.partition import PartitionDriver
from brownout.faults.drivers.resource import ResourceDriver, ResourceTarget, hog_seconds
from brownout.faults.drivers.toxiproxy import ToxiproxyDriver
from brownout.faults.endpoints import Endpoints
from brownout.faults.kinds import (
    AppParams,
    CommandParams,
    ComponentParams,
    DbLockParams,
    HttpParams,
    NetworkParams,
    PartitionParams,
    ResourceParams,
)
from brownout.scenario.schema import FaultSpec

__all__ = [
    "AdminFaultDriver", "CommandDriver", "ComponentDriver", "DbLockDriver", "Driver", "HttpDriver",
    "PartitionDriver", "ResourceDriver", "ToxiproxyDriver", "build_driver", "build_drivers",
]  # fmt: skip


def _missing(fault: FaultSpec, what: str, endpoints: Endpoints) -> InputError:
    return InputError(
        f"{fault.label}: a {fault.kind!r} fault needs {what}; none is known ({endpoints.source}): "
        f"run it against a stack, or give the endpoint in the scenario's [target]"
    )


def build_driver(fault: FaultSpec, endpoints: Endpoints) -> Driver:
    """The driver for one fault; InputError when the endpoints it needs are not known."""
    params = fault.params
    env_token = os.environ.get("BROWNOUT_TOKEN")
    if isinstance(params, HttpParams):
        return HttpDriver(params, fault.name)
    if isinstance(params, CommandParams):
        return CommandDriver(params, fault.name)
    if isinstance(params, NetworkParams):
        if not endpoints.proxy_api_url:
            raise _missing(fault, "the fault proxy's API URL", endpoints)
        return ToxiproxyDriver(endpoints.proxy_api_url, params, fault.name, endpoints.proxy_token or env_token)
    if isinstance(params, PartitionParams):
        if not endpoints.proxy_api_url:
            raise _missing(fault, "the fault proxy's API URL", endpoints)
        return PartitionDriver(endpoints.proxy_api_url, params, fault.name, endpoints.proxy_token or env_token)
    if isinstance(params, ComponentParams):
        if not endpoints.control_url:
            raise _missing(fault, "the stack's control API", endpoints)
        return ComponentDriver(endpoints.control_url, endpoints.token or env_token, params, fault.name)
    if isinstance(params, AppParams):
        admin = endpoints.admin_for(fault.target)
        if not admin:
            raise _missing(fault, f"the admin API of {fault.target!r}", endpoints)
        return AdminFaultDriver(admin, endpoints.admin_token or env_token, params, fault.name)
    if isinstance(params, DbLockParams):
        db_path = params.db_path or endpoints.gateway_db(fault.target)
        if db_path is None:
            raise _missing(fault, "the database path (`db_path`)", endpoints)
        from pathlib import Path

        return DbLockDriver(Path(db_path), params, fault.name)
    if isinstance(params, ResourceParams):
        return _resource_driver(fault, params, endpoints, env_token)
    raise AssertionError(f"no driver for {type(params).__name__}")


def _resource_driver(fault: FaultSpec, params: ResourceParams, endpoints: Endpoints, token: str | None) -> Driver:
    if not endpoints.control_url:
        raise _missing(fault, "the stack's control API (the component's pid, its restart)", endpoints)
    target = ResourceTarget(
        control_url=endpoints.control_url,
        token=endpoints.token or token,
        data_dir=endpoints.data_dir(fault.target),
        url=endpoints.component_urls.get(fault.target),
        hog_seconds=hog_seconds(fault.duration_s),
    )
    return ResourceDriver(target, params, fault.name)


def build_drivers(faults: tuple[FaultSpec, ...] | list[FaultSpec], endpoints: Endpoints) -> dict[str, Driver]:
    """Drivers for every fault, by fault name; all endpoints are checked before anything runs."""
    return {fault.name: build_driver(fault, endpoints) for fault in faults}
