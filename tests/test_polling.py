"""brownout.net.polling.wait_until: the one poll-until-deadline wait, driven here by an injected clock."""

from __future__ import annotations

import itertools

import pytest

from brownout.net.polling import wait_until


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_answers_the_first_answer_that_will_do() -> None:
    time = FakeTime()
    counter = itertools.count()
    answer = wait_until(lambda: next(counter), done=lambda n: n >= 3, within_s=10, every_s=1,
                        sleep=time.sleep, clock=time.clock)  # fmt: skip
    assert answer == 3
    assert time.slept == [1, 1, 1]


def test_gives_up_after_the_deadline_with_the_last_answer() -> None:
    time = FakeTime()
    answer = wait_until(lambda: "", within_s=1.0, every_s=0.25, sleep=time.sleep, clock=time.clock)
    assert answer == ""
    assert time.slept == [0.25] * 4  # asked at 0, .25, .5, .75 and 1.0: then time is up


def test_asks_at_least_once_and_does_not_retry_what_the_probe_raises() -> None:
    time = FakeTime()
    calls: list[int] = []

    def probe() -> bool:
        calls.append(1)
        raise LookupError("gone")

    with pytest.raises(LookupError):
        wait_until(probe, within_s=0, every_s=1, sleep=time.sleep, clock=time.clock)
    assert calls == [1] and time.slept == []
