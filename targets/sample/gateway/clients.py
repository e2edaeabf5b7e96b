"""HTTP clients for the gateway's dependencies, each behind its own composed resilience policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from targets.sample.gateway import metrics
from targets.sample.gateway.faults import AppFaults, InjectedFault
from targets.sample.gateway.resilience import (
    Composed,
    DependencyError,
    GiveUpAfter,
    LimitConcurrency,
    OpenCircuitAfterFailures,
    RejectedByDependency,
    RetryableError,
    RetryTransientErrors,
    compose,
    retry_after_seconds,
)


@dataclass(frozen=True)
class DependencySettings:
    name: str
    base_url: str
    timeout_s: float = 2.0
    retry_attempts: int = 3
    retry_deadline_s: float = 5.0
    retry_initial_wait_s: float = 0.05
    retry_max_wait_s: float = 1.0
    breaker_fail_max: int = 5
    breaker_reset_timeout_s: float = 5.0
    bulkhead_size: int = 0  # 0: no bulkhead
    bulkhead_timeout_s: float = 0.05


class DependencyClient:
    """POSTs JSON to one dependency through bulkhead -> retry -> breaker -> timeout (-> injected faults)."""

    def __init__(self, settings: DependencySettings, faults: AppFaults) -> None:
        self.settings = settings
        self._faults = faults
        self._session = requests.Session()
        pool = max(16, settings.bulkhead_size)
        self._session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0))
        name = settings.name
        self.breaker = OpenCircuitAfterFailures(
            name, settings.breaker_fail_max, settings.breaker_reset_timeout_s
        )
        bulkhead = (
            LimitConcurrency(name, settings.bulkhead_size, settings.bulkhead_timeout_s)
            if settings.bulkhead_size > 0
            else None
        )
        retry = RetryTransientErrors(
            name,
            attempts=settings.retry_attempts,
            deadline_s=settings.retry_deadline_s,
            initial_wait_s=settings.retry_initial_wait_s,
            max_wait_s=settings.retry_max_wait_s,
        )
        give_up = GiveUpAfter(name, settings.timeout_s)
        self.policy: Composed = compose(bulkhead, retry, self.breaker, give_up)
        # For calls whose caller cannot wait (non-critical steps): same breaker and bulkhead, one attempt.
        self.single_attempt_policy: Composed = compose(
            bulkhead, RetryTransientErrors(name, attempts=1), self.breaker, give_up
        )

    def post_json(self, path: str, body: dict[str, Any], *, single_attempt: bool = False) -> dict[str, Any]:
        """One logical call; raises DependencyError (counted as `error`) when every attempt failed."""
        policy = self.single_attempt_policy if single_attempt else self.policy
        try:
            answer = policy.execute(lambda: self._attempt(path, body))
        except DependencyError:
            metrics.DEPENDENCY_CALLS.labels(self.settings.name, "error").inc()
            raise
        metrics.DEPENDENCY_CALLS.labels(self.settings.name, "ok").inc()
        return answer

    def post_json_or_fallback(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Like post_json, but a failed call answers None (counted as `fallback`): the caller degrades."""
        try:
            answer = self.policy.execute(lambda: self._attempt(path, body))
        except DependencyError:
            metrics.DEPENDENCY_CALLS.labels(self.settings.name, "fallback").inc()
            metrics.FALLBACKS.labels(self.settings.name).inc()
            return None
        metrics.DEPENDENCY_CALLS.labels(self.settings.name, "ok").inc()
        return answer

    def _attempt(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        name = self.settings.name
        try:
            self._faults.apply(name)
        except InjectedFault as exc:
            raise RetryableError(str(exc)) from None
        url = self.settings.base_url.rstrip("/") + path
        try:
            response = self._session.post(url, json=body, timeout=self.settings.timeout_s)
        except requests.Timeout as exc:
            raise RetryableError(f"{name}: timed out: {exc}") from None
        except requests.RequestException as exc:  # connection refused/reset, broken pool connection
            raise RetryableError(f"{name}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise RetryableError(f"{name}: answered {response.status_code}", retry_after_s=wait)
        if response.status_code >= 400:
            raise RejectedByDependency(f"{name}: answered {response.status_code}: {response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            raise RetryableError(f"{name}: answered invalid JSON") from None
        if not isinstance(answer, dict):
            raise RetryableError(f"{name}: answered JSON that is not an object")
        return answer
