"""Where the drivers reach things: the fault proxy API, the control API, admin APIs, the gateway's DB.

Built from a running stack's `stack.json` (`brownout stack up --run-dir D`), from a live `Stack` object,
or from a scenario's `[target]` endpoints (someone's own service).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from brownout.errors import InputError
from brownout.scenario.schema import Endpoint, TargetRef

GATEWAY_DB_NAME = "gateway.db"
DEFAULT_PROXY_COMPONENT = "faultproxy"


@dataclass(frozen=True)
class Endpoints:
    token: str | None = None
    control_url: str | None = None
    proxy_api_url: str | None = None
    proxy_token: str | None = None
    admin_url: str | None = None  # one admin API for every app fault ([target.admin]); else per component
    admin_token: str | None = None
    component_urls: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    run_dir: Path | None = None
    source: str = "no stack"  # how errors say where these came from

    def admin_for(self, component: str) -> str | None:
        return self.admin_url or self.component_urls.get(component)

    def data_dir(self, component: str) -> Path | None:
        # The stack gives each component <run_dir>/data/<name> as its {data_dir}.
        return self.run_dir / "data" / component if self.run_dir else None

    def gateway_db(self, component: str) -> Path | None:
        data_dir = self.data_dir(component)
        return data_dir / GATEWAY_DB_NAME if data_dir else None


NO_ENDPOINTS = Endpoints()


def _proxy_component(description: Mapping[str, Any]) -> str:
    stack_file = description.get("stack_file")
    if stack_file:
        try:
            from brownout.stack.spec import load_stack_spec

            return load_stack_spec(stack_file).proxy_component
        except (ImportError, InputError):
            pass
    return DEFAULT_PROXY_COMPONENT


def endpoints_from_description(description: Mapping[str, Any], source: str) -> Endpoints:
    """From what `Stack.describe()` returns (the content of stack.json)."""
    components = description.get("components") or {}
    urls = {
        name: str(info["url"]).rstrip("/")
        for name, info in components.items()
        if isinstance(info, Mapping) and info.get("url")
    }
    run_dir = description.get("run_dir")
    return Endpoints(
        token=description.get("token"),
        control_url=(description.get("control_url") or None),
        proxy_api_url=urls.get(_proxy_component(description)),
        proxy_token=description.get("token"),
        admin_token=description.get("token"),
        component_urls=MappingProxyType(urls),
        run_dir=Path(run_dir) if run_dir else None,
        source=source,
    )


def endpoints_from_stack_json(run_dir: Path | str) -> Endpoints:
    path = Path(run_dir) / "stack.json"
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such file; start a stack with `brownout stack up --run-dir {run_dir}` or pass --no-stack"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the stack description: {exc}") from None
    if not isinstance(description, dict):
        raise InputError(f"{path}: expected a JSON object")
    return endpoints_from_description(description, source=str(path))


def endpoints_from_target(target: TargetRef, file: Path | str = "the scenario") -> Endpoints:
    return Endpoints(
        token=_token(target.control, "control", file),
        control_url=target.control.url if target.control else None,
        proxy_api_url=target.proxy.url if target.proxy else None,
        proxy_token=_token(target.proxy, "proxy", file),
        admin_url=target.admin.url if target.admin else None,
        admin_token=_token(target.admin, "admin", file),
        source="the scenario's [target]",
    )


def _token(endpoint: Endpoint | None, key: str, file: Path | str) -> str | None:
    """The endpoint's token, or its token_env variable's value; InputError when that variable is unset."""
    if endpoint is None or endpoint.token_env is None:
        return endpoint.token if endpoint else None
    value = os.environ.get(endpoint.token_env)
    if not value:
        raise InputError(
            f"{file}: [target.{key}] token_env: the environment variable {endpoint.token_env} is not set "
            f"(export it, or give the token as [target.{key}] token)"
        )
    return value
