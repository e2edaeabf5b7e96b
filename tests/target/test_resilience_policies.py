"""The gateway's resilience policies on their own (in process, no network): what is retried, when the
breaker opens, when the bulkhead turns calls away, and that policies nest in the stated order."""

from __future__ import annotations

from types import SimpleNamespace

import gevent
import pytest
import tenacity

from targets.sample.gateway import resilience


class _Failing:
    """A dependency call that raises `error` the first `times` calls, then answers "ok"."""

    def __init__(self, error: Exception, times: int = 1_000) -> None:
        self.error, self.times, self.calls = error, times, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return "ok"


def _fast_retry(attempts: int = 3) -> resilience.RetryTransientErrors:
    return resilience.RetryTransientErrors(
        "unit", attempts=attempts, deadline_s=5, initial_wait_s=0.001, max_wait_s=0.002
    )


def test_retryable_errors_are_retried_until_the_attempt_cap() -> None:
    call = _Failing(resilience.RetryableError("503"))
    with pytest.raises(resilience.RetryableError):
        _fast_retry(attempts=3).execute(call)
    assert call.calls == 3
    recovering = _Failing(resilience.RetryableError("503"), times=2)
    assert _fast_retry(attempts=3).execute(recovering) == "ok"


def test_client_errors_are_never_retried() -> None:
    call = _Failing(resilience.RejectedByDependency("400"))
    with pytest.raises(resilience.RejectedByDependency):
        _fast_retry(attempts=5).execute(call)
    assert call.calls == 1


def test_retries_stop_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # tenacity times the deadline with time.monotonic(): a clock that each attempt moves on by 0.4 s makes
    # the count exact whatever the machine's speed (attempts end at 0.4, 0.8, 1.2 s; the deadline is 1 s).
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(tenacity, "time", SimpleNamespace(monotonic=lambda: clock.now))

    def slow_failure() -> str:
        clock.now += 0.4
        return call()

    retry = resilience.RetryTransientErrors(
        "unit", attempts=100, deadline_s=1.0, initial_wait_s=0.001, max_wait_s=0.001
    )
    call = _Failing(resilience.RetryableError("503"))
    with pytest.raises(resilience.RetryableError):
        retry.execute(slow_failure)
    assert call.calls == 3


def test_breaker_opens_after_fail_max_and_ignores_client_errors() -> None:
    breaker = resilience.OpenCircuitAfterFailures("unit-breaker", fail_max=3, reset_timeout_s=60)
    for _ in range(5):
        with pytest.raises(resilience.RejectedByDependency):
            breaker.execute(_Failing(resilience.RejectedByDependency("404")))
    assert breaker.state == "closed"
    for _ in range(3):
        with pytest.raises((resilience.RetryableError, resilience.CircuitOpen)):
            breaker.execute(_Failing(resilience.RetryableError("503")))
    assert breaker.state == "open"
    untouched = _Failing(resilience.RetryableError("503"))
    with pytest.raises(resilience.CircuitOpen):
        breaker.execute(untouched)
    assert untouched.calls == 0
    assert [t.to_state for t in breaker.transitions] == ["open"]


def test_half_open_breaker_lets_one_trial_through_and_closes_on_success() -> None:
    breaker = resilience.OpenCircuitAfterFailures("unit-trial", fail_max=1, reset_timeout_s=0.01)
    with pytest.raises((resilience.RetryableError, resilience.CircuitOpen)):
        breaker.execute(_Failing(resilience.RetryableError("503")))
    gevent.sleep(0.02)
    assert breaker.execute(lambda: "ok") == "ok"
    assert breaker.state == "closed"
    assert [t.to_state for t in breaker.transitions] == ["open", "half-open", "closed"]


def test_open_breaker_stops_the_retries() -> None:
    breaker = resilience.OpenCircuitAfterFailures("unit-stop", fail_max=2, reset_timeout_s=60)
    call = _Failing(resilience.RetryableError("503"))
    with pytest.raises(resilience.CircuitOpen):
        resilience.compose(_fast_retry(attempts=10), breaker).execute(call)
    assert call.calls == 2


def test_timeout_bounds_one_attempt() -> None:
    with pytest.raises(resilience.CallTimedOut):
        resilience.GiveUpAfter("unit", 0.01).execute(lambda: gevent.sleep(1))


def test_full_bulkhead_rejects_at_once() -> None:
    bulkhead = resilience.LimitConcurrency("unit-bulkhead", size=1, acquire_timeout_s=0.01)
    holder = gevent.spawn(bulkhead.execute, lambda: gevent.sleep(0.2))
    gevent.sleep(0)  # let the holder take the only slot
    try:
        with pytest.raises(resilience.BulkheadFull):
            bulkhead.execute(lambda: "never")
    finally:
        holder.kill()
    assert bulkhead.execute(lambda: "free again") == "free again"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), (" 120 ", 120.0), ("0", 0.0), (None, None), ("", None), ("-1", None), ("1.5", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("²", None)],
)  # fmt: skip
def test_retry_after_is_read_in_its_seconds_form_only(header: str | None, seconds: float | None) -> None:
    assert resilience.retry_after_seconds(header) == seconds


def _retry_recording_sleeps(sleeps: list[float], attempts: int = 3) -> resilience.RetryTransientErrors:
    return resilience.RetryTransientErrors(
        "unit-after", attempts=attempts, deadline_s=5, initial_wait_s=0.001, max_wait_s=0.002, sleep=sleeps.append
    )


def test_the_wait_is_the_retry_after_when_the_answer_has_one_else_the_backoff() -> None:
    sleeps: list[float] = []
    asked = _Failing(resilience.RetryableError("503", retry_after_s=2.0), times=1)
    assert _retry_recording_sleeps(sleeps).execute(asked) == "ok"
    assert sleeps == [2.0]  # not the 0.002 s backoff cap
    plain = _Failing(resilience.RetryableError("503"), times=2)
    assert _retry_recording_sleeps(sleeps).execute(plain) == "ok"
    assert len(sleeps) == 3 and all(0 < s <= 0.002 for s in sleeps[1:])


def test_a_retry_after_past_the_deadline_ends_the_retries_without_sleeping() -> None:
    sleeps: list[float] = []
    call = _Failing(resilience.RetryableError("503", retry_after_s=3600.0))
    with pytest.raises(resilience.RetryableError):
        _retry_recording_sleeps(sleeps, attempts=10).execute(call)
    assert call.calls == 1 and sleeps == []


def test_wait_retry_after_caps_the_asked_wait_and_composes_with_tenacity_waits() -> None:
    sleeps: list[float] = []
    wait = resilience.WaitRetryAfter(fallback=tenacity.wait_fixed(0.25), cap_s=1.5)
    retrying = tenacity.Retrying(
        wait=wait + tenacity.wait_fixed(0.5), stop=tenacity.stop_after_attempt(3), sleep=sleeps.append, reraise=True
    )
    errors = iter([resilience.RetryableError("429", retry_after_s=9.0), resilience.RetryableError("503")])

    def two_failures() -> str:
        error = next(errors, None)
        if error is not None:
            raise error
        return "ok"

    assert retrying(two_failures) == "ok"
    assert sleeps == [2.0, 0.75]  # capped 9 -> 1.5, then the fallback; each + the composed 0.5
