"""Resilience policies for the gateway's dependency calls: named objects that compose.

    policy = compose(limit_concurrency, retry_transient_errors, open_circuit_after_failures, give_up_after)
    answer = policy.execute(call_dependency_once)

Policies nest outermost first: the bulkhead bounds how many logical calls are in flight (a full bulkhead
answers at once, so the caller serves its fallback without queueing); the retry runs attempts with
exponential backoff and jitter, capped by attempts and by a deadline, and only for retryable errors (a
`Retry-After` on the failed answer sets the wait instead of the backoff, see `WaitRetryAfter`); the
breaker sees every attempt (so a dead dependency trips it quickly, and once open its rejection stops the
retries); the timeout bounds one attempt, injected latency included.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import gevent
import pybreaker
from gevent.lock import BoundedSemaphore
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from targets.sample.gateway import metrics

T = TypeVar("T")

# tenacity 9.1 renamed wait_exponential_jitter's `initial` to `multiplier` (the old name warns).
_FIRST_WAIT = "multiplier" if "multiplier" in inspect.signature(wait_exponential_jitter).parameters else "initial"
log = logging.getLogger("gateway.resilience")


class DependencyError(Exception):
    """A dependency call failed; the message says how."""


class RetryableError(DependencyError):
    """Worth another attempt: connect errors, timeouts, 5xx answers, injected faults. `retry_after_s` is the
    wait the dependency asked for (its `Retry-After`), if it asked."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CallTimedOut(RetryableError):
    pass


class RejectedByDependency(DependencyError):
    """A 4xx answer: our request is wrong, so retrying or tripping the breaker would not help."""


class BulkheadFull(DependencyError):
    pass


class CircuitOpen(DependencyError):
    pass


class Policy(Protocol):
    def execute(self, call: Callable[[], T]) -> T: ...


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header's wait in seconds, or None when absent or not in the seconds form (an
    HTTP-date is not read: the gateway then backs off as usual)."""
    text = (value or "").strip()
    return float(text) if text.isascii() and text.isdigit() else None


class WaitRetryAfter(wait_base):
    """A tenacity wait: what the failed attempt's `Retry-After` asked for (at most `cap_s`), else `fallback`.

    `wait=WaitRetryAfter(fallback=wait_exponential_jitter(...), cap_s=deadline)` reads as a sentence and is
    one strategy object like tenacity's own; `source(retry_state)` says which of the two chose the wait."""

    def __init__(self, fallback: wait_base, cap_s: float) -> None:
        self.fallback = fallback
        self.cap_s = cap_s

    @staticmethod
    def asked(retry_state: RetryCallState) -> float | None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        return error.retry_after_s if isinstance(error, RetryableError) else None

    def source(self, retry_state: RetryCallState) -> str:
        return "backoff" if self.asked(retry_state) is None else "retry_after"

    def __call__(self, retry_state: RetryCallState) -> float:
        asked = self.asked(retry_state)
        return self.fallback(retry_state) if asked is None else min(asked, self.cap_s)


@dataclass(frozen=True)
class RetryTransientErrors:
    """tenacity retries: exponential backoff with jitter (or the dependency's `Retry-After`), stop after N
    attempts or a deadline; retryable errors only. A wait that would end past the deadline stops the retries
    at once (the caller falls back now instead of sleeping to no use). Every wait taken is counted in
    `gateway_retry_wait_seconds{dependency, source}`; `sleep` is injectable for tests."""

    dependency: str
    attempts: int = 3
    deadline_s: float = 5.0
    initial_wait_s: float = 0.05
    max_wait_s: float = 1.0
    sleep: Callable[[float], None] = gevent.sleep

    def execute(self, call: Callable[[], T]) -> T:
        backoff = wait_exponential_jitter(
            **{_FIRST_WAIT: self.initial_wait_s}, max=self.max_wait_s, jitter=self.initial_wait_s
        )
        wait = WaitRetryAfter(fallback=backoff, cap_s=self.deadline_s)
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.deadline_s),
            wait=wait,
            before_sleep=lambda state: self._record_wait(wait, state),
            sleep=self.sleep,
            reraise=True,
        )
        attempts = metrics.RETRY_ATTEMPTS.labels(self.dependency)

        def _counted_attempt() -> T:
            attempts.inc()
            return call()

        return retrying(_counted_attempt)

    def _record_wait(self, wait: WaitRetryAfter, retry_state: RetryCallState) -> None:
        source, seconds = wait.source(retry_state), retry_state.upcoming_sleep
        metrics.RETRY_WAITS.labels(self.dependency, source).observe(seconds)
        if source == "retry_after":
            log.info(
                "%s: waiting %.3f s before attempt %d, as its Retry-After asked",
                self.dependency,
                seconds,
                retry_state.attempt_number + 1,
            )


@dataclass(frozen=True)
class GiveUpAfter:
    """A per-attempt deadline enforced by gevent, so injected latency and slow reads both count."""

    dependency: str
    seconds: float

    def execute(self, call: Callable[[], T]) -> T:
        timeout = gevent.Timeout(
            self.seconds, CallTimedOut(f"{self.dependency}: no answer within {self.seconds} s")
        )
        with timeout:
            return call()


class LimitConcurrency:
    """A bulkhead: at most `size` calls in flight; a call that cannot get a slot within `acquire_timeout_s`
    is rejected at once instead of queueing behind a slow dependency."""

    def __init__(self, dependency: str, size: int, acquire_timeout_s: float) -> None:
        self.dependency = dependency
        self.size = size
        self.acquire_timeout_s = acquire_timeout_s
        self._slots = BoundedSemaphore(size)

    def execute(self, call: Callable[[], T]) -> T:
        if not self._slots.acquire(timeout=self.acquire_timeout_s):
            metrics.BULKHEAD_REJECTIONS.labels(self.dependency).inc()
            raise BulkheadFull(f"{self.dependency}: {self.size} calls already in flight (bulkhead full)")
        try:
            return call()
        finally:
            self._slots.release()


_STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_OPEN: 1, pybreaker.STATE_HALF_OPEN: 2}


@dataclass(frozen=True)
class BreakerTransition:
    at: float
    dependency: str
    from_state: str
    to_state: str


class _RecordTransitions(pybreaker.CircuitBreakerListener):
    """Logs every state change with a timestamp, keeps the recent ones, and feeds the metrics."""

    def __init__(self, dependency: str, history: list[BreakerTransition]) -> None:
        self._dependency = dependency
        self._history = history

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        old_name = old_state.name if old_state is not None else "none"
        if old_name == new_state.name:
            return  # pybreaker re-announces "open" when an in-flight failure lands after the trip
        transition = BreakerTransition(time.time(), self._dependency, old_name, new_state.name)
        del self._history[:-49]
        self._history.append(transition)
        metrics.BREAKER_STATE.labels(self._dependency).set(_STATE_VALUES[new_state.name])
        metrics.BREAKER_TRANSITIONS.labels(self._dependency, new_state.name).inc()
        log.warning("breaker %s: %s -> %s at %.3f", self._dependency, old_name, new_state.name, transition.at)


class _CooperativeBreaker(pybreaker.CircuitBreaker):
    """pybreaker's `call` holds its lock for the whole guarded call, which under gevent serializes every call
    to the dependency. Here the lock guards only the state changes (as pybreaker does inside them), and a
    half-open breaker lets exactly one trial call through at a time."""

    _trial_in_flight = False

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.current_state != pybreaker.STATE_HALF_OPEN:
            return self.state.call(func, *args, **kwargs)
        if self._trial_in_flight:
            raise pybreaker.CircuitBreakerError("a trial call is in flight; the breaker is still half-open")
        self._trial_in_flight = True
        try:
            return self.state.call(func, *args, **kwargs)
        finally:
            self._trial_in_flight = False


class OpenCircuitAfterFailures:
    """A pybreaker circuit breaker per dependency: open after `fail_max` consecutive failed attempts, try one
    call again after `reset_timeout_s`. 4xx answers are not failures of the dependency."""

    def __init__(self, dependency: str, fail_max: int, reset_timeout_s: float) -> None:
        self.dependency = dependency
        self.transitions: list[BreakerTransition] = []
        self._breaker = _CooperativeBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout_s,
            exclude=[RejectedByDependency],
            listeners=[_RecordTransitions(dependency, self.transitions)],
            name=dependency,
        )
        metrics.BREAKER_STATE.labels(dependency).set(0)

    @property
    def state(self) -> str:
        return str(self._breaker.current_state)

    def execute(self, call: Callable[[], T]) -> T:
        try:
            return self._breaker.call(call)
        except pybreaker.CircuitBreakerError as exc:
            raise CircuitOpen(f"{self.dependency}: circuit breaker open ({exc})") from None


class Composed:
    """Policies nested outermost first: `Composed([a, b]).execute(f)` is `a.execute(lambda: b.execute(f))`."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = policies

    def execute(self, call: Callable[[], T]) -> T:
        wrapped = call
        for policy in reversed(self.policies):
            wrapped = _bind(policy, wrapped)
        return wrapped()


def _bind(policy: Policy, call: Callable[[], T]) -> Callable[[], T]:
    return lambda: policy.execute(call)


def compose(*policies: Policy | None) -> Composed:
    """Nest the given policies (outermost first), skipping `None` so optional ones read naturally."""
    return Composed([policy for policy in policies if policy is not None])
