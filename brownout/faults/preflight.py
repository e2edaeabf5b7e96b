"""Pre-flight: before any load, everything the run needs answers. The host answers HTTP; every fault proxy,
stack component and admin API a fault needs exists where the scenario says. Otherwise InputError (exit 2)
naming the scenario field, e.g. `faults[2] "db-down": target 'database': the proxy at http://127.0.0.1:8474
has no such proxy (its proxies: db)`. Only reads (GET) are sent: nothing is injected here.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from brownout.errors import InputError
from brownout.faults.endpoints import Endpoints
from brownout.faults.kinds import (
    AppParams,
    CommandParams,
    ComponentParams,
    DbLockParams,
    NetworkParams,
    PartitionParams,
    ResourceParams,
)
from brownout.net.loopback import session_for
from brownout.scenario.schema import FaultSpec, Scenario
from brownout.stack.spec import load_stack_spec, placeholders_in

log = logging.getLogger("brownout.faults")
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any


class _Unreachable(Exception):
    pass


def _get(url: str, token: str | None) -> _Answer:
    try:
        with session_for(url, token) as session:
            response = session.get(url, timeout=_TIMEOUT_S)
    except requests.ConnectionError:
        raise _Unreachable(f"nothing answers at {url}") from None
    except requests.Timeout:
        raise _Unreachable(f"{url} did not answer within {_TIMEOUT_S:g} s") from None
    except requests.RequestException as exc:
        raise _Unreachable(f"{url}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    return _Answer(response.status_code, body)


def _status_problem(answer: _Answer, url: str) -> str | None:
    if answer.status in (401, 403):
        return f"{url} answered {answer.status}: check the token ([target.*] token or BROWNOUT_TOKEN)"
    if answer.status >= 400:
        return f"{url} answered {answer.status}"
    return None


class _Checker:
    """One pre-flight: answers are cached per URL, problems are collected, all reported together."""

    def __init__(self, scenario: Scenario, endpoints: Endpoints, from_target: bool) -> None:
        self.scenario = scenario
        self.endpoints = endpoints
        self.from_target = from_target
        self.env_token = os.environ.get("BROWNOUT_TOKEN")
        self.problems: list[str] = []
        self._answers: dict[str, _Answer | str] = {}

    def _fetch(self, url: str, token: str | None) -> _Answer | str:
        """The answer, or what is wrong (unreachable, refused) as a sentence."""
        if url not in self._answers:
            try:
                got = _get(url, token or self.env_token)
            except _Unreachable as exc:
                self._answers[url] = str(exc)
            else:
                self._answers[url] = _status_problem(got, url) or got
        return self._answers[url]

    def _where(self, endpoint: str) -> str:
        return f"[target.{endpoint}] url" if self.from_target else f"the stack's {endpoint}"

    def host(self, host: str, field: str) -> None:
        """Any HTTP answer will do (a 404 on / is still a service); no answer at all is the problem."""
        try:
            _get(host.rstrip("/") + "/", None)
        except _Unreachable as exc:
            self.problems.append(f"{field}: {exc} (is the service running?)")

    def fault(self, fault: FaultSpec) -> None:
        params = fault.params
        if isinstance(params, NetworkParams):
            self._network(fault, params)
        elif isinstance(params, PartitionParams):
            for edge in params.edges:  # each edge's proxy must be there, as for a network fault
                self._network(fault, NetworkParams(proxy=edge.proxy, down=True))
        elif isinstance(params, ComponentParams):
            self._component(fault)
        elif isinstance(params, AppParams):
            self._admin(fault)
        elif isinstance(params, DbLockParams):
            self._db(fault, params)
        elif isinstance(params, CommandParams):
            self._command(fault, params)
        elif isinstance(params, ResourceParams):
            self._resource(fault, params)

    def _names(self, fault: FaultSpec, endpoint: str, url: str, token: str | None, key: str) -> list[str] | None:
        answer = self._fetch(url, token)
        if isinstance(answer, str):
            self.problems.append(f"{fault.label}: {self._where(endpoint)}: {answer}")
            return None
        body = answer.body
        if key == "proxies" and isinstance(body, dict):
            return sorted(str(name) for name in body)
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return [str(item.get("name")) for item in body[key] if isinstance(item, dict)]
        self.problems.append(f"{fault.label}: {self._where(endpoint)}: {url} did not answer a list of {key}")
        return None

    def _network(self, fault: FaultSpec, params: NetworkParams) -> None:
        api = self.endpoints.proxy_api_url
        if not api:
            return  # build_drivers says which endpoint is missing
        names = self._names(fault, "proxy", f"{api}/proxies", self.endpoints.proxy_token, "proxies")
        if names is not None and params.proxy not in names:
            field = "target" if params.proxy == fault.target or fault.kind == "partition" else "proxy"
            self.problems.append(
                f"{fault.label}: {field} {params.proxy!r}: the proxy at {api} has no such proxy "
                f"(its proxies: {', '.join(names) or 'none'})"
            )

    def _component(self, fault: FaultSpec) -> None:
        api = self.endpoints.control_url
        if not api:
            return
        names = self._names(fault, "control", f"{api}/components", self.endpoints.token, "components")
        if names is not None and fault.target not in names:
            self.problems.append(
                f"{fault.label}: target {fault.target!r}: the control API at {api} has no such component "
                f"(its components: {', '.join(names) or 'none'})"
            )

    def _admin(self, fault: FaultSpec) -> None:
        admin = self.endpoints.admin_for(fault.target)
        if not admin:
            return
        answer = self._fetch(f"{admin}/admin/faults", self.endpoints.admin_token)
        if isinstance(answer, str):
            self.problems.append(f"{fault.label}: target {fault.target!r}: the admin API: {answer}")

    def _db(self, fault: FaultSpec, params: DbLockParams) -> None:
        path = Path(params.db_path) if params.db_path else self.endpoints.gateway_db(fault.target)
        if path is not None and not path.is_file():
            field = "db_path" if params.db_path else "target"
            self.problems.append(f"{fault.label}: {field}: no database file at {path}")

    def _resource(self, fault: FaultSpec, params: ResourceParams) -> None:
        """The component exists, and the machine can do this resource fault (else the reason and the fix)."""
        from brownout.faults.drivers.resource import refusal  # psutil and requests: only when one is needed

        self._component(fault)
        problem = refusal(params, self.endpoints.data_dir(fault.target))
        if problem:
            self.problems.append(f"{fault.label}: resource {params.resource!r}: {problem}")

    def _command(self, fault: FaultSpec, params: CommandParams) -> None:
        for field, argv in (("inject", params.inject), ("heal", params.heal)):
            if argv and shutil.which(argv[0]) is None:
                self.problems.append(f"{fault.label}: {field}: no such program {argv[0]!r} (not on PATH)")


def preflight(
    scenario: Scenario, faults: Sequence[FaultSpec], endpoints: Endpoints, *, host: str, host_field: str,
    from_target: bool,
) -> None:  # fmt: skip
    """Raise InputError listing every problem found, each naming its scenario field; return when all is there.

    `host_field` is how the user gave the host (`[target] host`, `--host`); `from_target` says whether the
    endpoints came from the scenario's [target] (so a problem names `[target.proxy] url`) or from a stack.
    """
    if not from_target:
        for warning in unused_proxy_warnings(scenario, faults):
            log.warning("brownout: %s", warning)
    checker = _Checker(scenario, endpoints, from_target)
    checker.host(host, host_field)
    for fault in faults:
        checker.fault(fault)
    if checker.problems:
        lines = "\n".join(f"  {scenario.path}: {problem}" for problem in checker.problems)
        raise InputError(f"pre-flight: {len(checker.problems)} problem(s) before any load:\n{lines}")


def unused_proxy_warnings(scenario: Scenario, faults: Sequence[FaultSpec]) -> list[str]:
    """One line per network fault whose proxy no component of the scenario's stack is told about.

    A service wired to the real port (`{ports.db}`) instead of the proxy's (`{proxies.db}`) never sees the
    fault; the `faults` check fails such a run afterwards, and this says so before any load. A warning,
    not a refusal: the service may read the address from a file brownout cannot see.
    """
    if scenario.stack is None:
        return []
    try:
        spec = load_stack_spec(scenario.stack.path)
    except InputError:
        return []  # starting the stack says what is wrong with it
    used = {name for c in spec.components for text in (*c.command, *(v for _, v in c.env))
            for name in placeholders_in(text)}  # fmt: skip
    routes = {proxy.name: proxy.upstream for proxy in spec.proxies}
    warnings = []
    for fault in faults:
        proxy = fault.params.proxy if isinstance(fault.params, NetworkParams) else None
        if proxy is not None and proxy in routes and f"proxies.{proxy}" not in used:
            warnings.append(
                f"{scenario.path}: {fault.label}: proxy {proxy!r} is used by no component's command or env in "
                f"{spec.source}: the fault will touch nothing unless the service connects through it; give the "
                f"service {{proxies.{proxy}}} (the proxy's port) instead of {{ports.{routes[proxy]}}}"
            )
    return warnings
