"""Change points on small literal series: where they are, which way, and none on a flat noisy series."""

from __future__ import annotations

import pytest

from brownout.compare.metrics import METRICS
from brownout.compare.tolerance import Tolerances
from brownout.store.changes import change_points, noise

P50 = METRICS["p50"]
ALLOWANCE = Tolerances().allowance(P50, "operation", "GET /x")
RELEASES = [index for index in range(4) for _ in range(3)]
LABELS = ["v1", "v2", "v3", "v4"]


def test_noise_is_the_spread_within_releases() -> None:
    # each release's variance is 1 (10, 11, 9) and 4 (30, 32, 28): pooled over 2 + 2 degrees of freedom
    assert noise([10, 11, 9, 30, 32, 28], [0, 0, 0, 1, 1, 1]) == pytest.approx(2.5**0.5)


def test_noise_of_single_run_releases_comes_from_neighbours() -> None:
    assert noise([10, 12, 10, 12], [0, 1, 2, 3]) == pytest.approx(1.4826 * 2 / 2**0.5)


def test_a_step_at_the_newest_release_is_found_and_is_worse() -> None:
    values = [20, 21, 19, 20, 21, 20, 19, 20, 21, 60, 61, 59]
    [change] = change_points(values, RELEASES, LABELS, P50, ALLOWANCE)
    assert (change.release, change.index, change.before, change.after, change.worse) == ("v4", 3, 20, 60, True)
    assert change.relative == pytest.approx(2.0)


def test_a_release_that_is_slower_then_restored_gives_two_change_points() -> None:
    values = [20, 21, 19, 60, 61, 59, 20, 21, 19, 20, 20, 21]
    found = change_points(values, RELEASES, LABELS, P50, ALLOWANCE)
    assert [(c.release, c.worse) for c in found] == [("v2", True), ("v3", False)]


def test_a_flat_noisy_series_has_none() -> None:
    values = [20, 23, 18, 21, 19, 22, 20, 18, 23, 21, 22, 19]
    assert change_points(values, RELEASES, LABELS, P50, ALLOWANCE) == []


def test_a_real_but_negligible_shift_is_not_a_change_point() -> None:
    # 20 -> 21 ms is clear of the (zero) noise but within the 2 ms floor
    values = [20, 20, 20, 20, 20, 20, 21, 21, 21, 21, 21, 21]
    assert change_points(values, RELEASES, LABELS, P50, ALLOWANCE) == []


def test_a_change_halfway_through_a_release_is_not_a_release_change() -> None:
    # the machine got busier during v2's runs: v2's median moves, but no release starts a new level
    values = [20, 21, 19, 20, 21, 26, 26, 27, 26, 26, 27, 27]
    found = change_points(values, RELEASES, LABELS, P50, ALLOWANCE)
    assert all(c.release in ("v2", "v3") for c in found)
