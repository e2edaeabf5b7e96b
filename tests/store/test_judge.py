"""The history judge: a pure function of the baseline runs' values, the candidate and the tolerance."""

from __future__ import annotations

import pytest

from brownout.compare.metrics import METRICS
from brownout.compare.tolerance import Allowance
from brownout.compare.verdict import IMPROVED, NOT_JUDGED, REGRESSED, SAME
from brownout.store.judge import Candidate, judge_against_runs, prediction_half_width

P50 = METRICS["p50"]
RPS = METRICS["rps"]
TEN_PERCENT = Allowance(relative=0.10, floor=2.0)


def test_half_width_is_t_times_the_sd_of_one_more_run() -> None:
    # n = 5, sd = 1 exactly (values 8..12 have sd sqrt(2.5): use a set with sd 1), t(4, 0.975) = 2.776
    values = [9.0, 10.0, 11.0, 9.0, 11.0]  # mean 10, sd 1
    assert prediction_half_width(values, None, 0.95) == pytest.approx(2.776 * (1.2**0.5), rel=1e-3)
    # the candidate's own spread adds in quadrature, with Welch-Satterthwaite's degrees of freedom:
    # (1.2 + 1)^2 * 4 / 1.2^2 = 13.44, t(13.44, 0.975) = 2.153
    assert prediction_half_width(values, 1.0, 0.95) == pytest.approx(2.153 * (2.2**0.5), rel=2e-3)
    # runs that agree exactly: only the candidate's own spread, at the normal quantile
    assert prediction_half_width([10.0, 10.0, 10.0], 1.0, 0.95) == pytest.approx(1.960, rel=1e-3)


def test_a_calm_baseline_still_sees_a_slower_candidate_through_its_own_spread() -> None:
    # three calm runs (sd 0.58 ms) and a candidate 2.5x slower whose own bootstrap sd is 6.6 ms: t(2) on the
    # whole sum (~22 at a 24-row table's per-row level) made the interval +-146 ms and the row "same"
    level = 1 - 0.05 / 24
    row = judge_against_runs(
        P50, ("operation", "GET /x"), [39.0, 39.0, 40.0], Candidate(99.0, spread=6.6), TEN_PERCENT, level, "v1"
    )
    assert row.verdict == REGRESSED and row.interval is not None and row.interval[0] > 35


def test_beyond_the_interval_and_the_tolerance_regresses() -> None:
    row = judge_against_runs(
        P50, ("operation", "GET /x"), [20.0, 21.0, 19.0, 20.0, 20.0], Candidate(60.0), TEN_PERCENT, 0.95, "v1"
    )
    assert (row.verdict, row.baseline, row.delta) == (REGRESSED, 20.0, 40.0)
    assert row.method == "prediction interval over 5 runs of v1"


def test_within_the_between_run_spread_is_the_same_even_beyond_tolerance() -> None:
    # runs spread 20..30: 28 is +20 % on the mean but an ordinary run of this build
    row = judge_against_runs(
        P50, ("operation", "GET /x"), [20.0, 30.0, 22.0, 28.0, 25.0], Candidate(30.0), TEN_PERCENT, 0.95, "v1"
    )
    assert row.verdict == SAME


def test_beyond_the_interval_but_within_tolerance_is_the_same() -> None:
    # a very steady service: 20.5 is far outside the interval, but 0.5 ms is below the 2 ms floor
    row = judge_against_runs(
        P50, ("operation", "GET /x"), [20.0, 20.0, 20.01, 20.0], Candidate(20.5), TEN_PERCENT, 0.95, "v1"
    )
    assert row.verdict == SAME


def test_higher_is_better_metrics_regress_downwards() -> None:
    values = [100.0, 101.0, 99.0, 100.0, 100.0]
    down = judge_against_runs(RPS, ("operation", "GET /x"), values, Candidate(50.0), Allowance(0.10), 0.95, "v1")
    up = judge_against_runs(RPS, ("operation", "GET /x"), values, Candidate(150.0), Allowance(0.10), 0.95, "v1")
    assert (down.verdict, up.verdict) == (REGRESSED, IMPROVED)


def test_fewer_than_three_runs_say_between_run_noise_is_unknown() -> None:
    row = judge_against_runs(P50, ("operation", "GET /x"), [20.0, 20.0], Candidate(60.0), TEN_PERCENT, 0.95, "v1")
    assert row.verdict == NOT_JUDGED
    assert row.method == "between-run noise unknown: 2 runs of v1 (needs 3)"
    assert row.interval is None


def test_a_thin_tail_is_not_judged_on_history_either() -> None:
    candidate = Candidate(60.0, thin="not judged: 50 requests, p99 needs >= 1000")
    row = judge_against_runs(P50, ("operation", "GET /x"), [20.0, 21.0, 19.0], candidate, TEN_PERCENT, 0.95, "v1")
    assert (row.verdict, row.method) == (SAME, candidate.thin)


def test_a_single_fault_window_also_needs_the_wide_floor() -> None:
    amplification = METRICS["amplification"]
    values = [1.19, 1.20, 1.16, 1.17, 1.16]  # five calm runs, one window each
    allowance = Allowance(relative=0.10, floor=0.1)
    busier = judge_against_runs(
        amplification, ("fault", "f"), values, Candidate(1.39, one_window=True), allowance, 0.95, "v1"
    )
    storm = judge_against_runs(
        amplification, ("fault", "f"), values, Candidate(3.5, one_window=True), allowance, 0.95, "v1"
    )
    repeated = judge_against_runs(amplification, ("fault", "f"), values, Candidate(1.39), allowance, 0.95, "v1")
    assert (busier.verdict, storm.verdict, repeated.verdict) == (SAME, REGRESSED, REGRESSED)
    assert busier.method.endswith("one window: beyond the wide floor only (x2 and +1.00x)")
