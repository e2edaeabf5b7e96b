from brownout.checks import AlertLevel, Criteria, Status
from brownout.checks.recovery import check_recovery
from tests.checks.checks_literals import OP_B, fault, history, rows

CRITERIA = Criteria()


def overall(result, index=0):
    return result.figures["faults"][index]["overall"]


def test_recovery_is_time_from_heal_to_first_sustained_in_band_bucket():
    h = history(rows(0, 10) + rows(10, 23, ok=0, failed=10) + rows(23, 40), [fault("f", 10.0, 20.0)])
    result = check_recovery(h, CRITERIA)
    assert result.status is Status.PASS
    assert overall(result)["status"] == "recovered"
    assert overall(result)["recovery_s"] == 3.0
    band = overall(result)["band"]
    assert band == {
        "source": "pre-fault",
        "baseline_error_ratio": 0.0,
        "baseline_p95_ms": 20.0,
        "error_ratio_max": 0.05,
        "p95_max_ms": 50.0,
        "baseline_degraded_share": 0.0,
        "degraded_share_max": 0.05,
    }
    assert [a.level for a in result.alerts] == [AlertLevel.INFO]
    assert result.figures["pairs_judged"] == 1 and result.figures["pairs_within_target"] == 1


def test_latency_alone_keeps_an_operation_out_of_its_band():
    h = history(rows(0, 10) + rows(10, 23, ms=500) + rows(23, 40), [fault("f", 10.0, 20.0)])
    assert overall(check_recovery(h, CRITERIA))["recovery_s"] == 3.0


def test_fallback_answers_after_the_heal_are_not_yet_recovered():
    # A breaker still open after the heal: every answer succeeds, degraded, until it closes 4 s later.
    h = history(rows(0, 10) + rows(10, 24, ok=0, degraded=10) + rows(24, 40), [fault("f", 10.0, 20.0)])
    result = check_recovery(h, CRITERIA)
    assert overall(result)["recovery_s"] == 4.0
    assert overall(result)["band"]["degraded_share_max"] == 0.05


def test_a_sparse_operation_is_judged_over_a_window_stretched_to_enough_requests():
    # One request a second: a 2 s sustain window holds 2 < 5 requests, so it stretches to 5 s.
    h = history(rows(0, 30, ok=1) + rows(30, 34, ok=0, failed=1) + rows(34, 60, ok=1), [fault("f", 30.0, 32.0)])
    result = check_recovery(h, Criteria(baseline_window_s=30, baseline_min_requests=20))
    assert overall(result)["status"] == "recovered"
    assert overall(result)["recovery_s"] == 2.0


def test_too_few_requests_after_the_heal_are_not_judged():
    h = history(rows(0, 10) + rows(10, 20, ok=0, failed=10) + rows(20, 23, ok=1), [fault("f", 10.0, 20.0)])
    figures = overall(check_recovery(h, CRITERIA))
    assert (figures["status"], figures["why"], figures["within_target"]) == (
        "no traffic", "only 3 request(s) after the heal", None,
    )


def test_a_recovery_the_run_ended_before_is_censored_not_failed():
    # healed at 20, the run ends at 40: 18 s observable (20 s minus the 2 s sustain window) of the 30 s allowed
    h = history(rows(0, 10) + rows(10, 40, ok=0, failed=10), [fault("f", 10.0, 20.0)])
    result = check_recovery(h, CRITERIA)
    assert result.status is Status.UNKNOWN
    assert (overall(result)["status"], overall(result)["recovery_s"], overall(result)["observed_s"]) == (
        "censored", None, 18.0,
    )
    assert result.reasons == (
        "f: recovery not seen (observed 18.0 s of the 30 s allowed: the run ended)",
        "no (fault, operation) pair could be judged after its heal",
    )
    assert [(a.level, a.message) for a in result.alerts] == [
        (AlertLevel.INFO, "recovery not observed: observed 18.0 s of the 30 s allowed: the run ended")
    ]


def test_a_recovery_not_seen_within_its_whole_target_fails():
    h = history(rows(0, 10) + rows(10, 40, ok=0, failed=10), [fault("f", 10.0, 20.0)])
    result = check_recovery(h, Criteria(recovery_max_s=10, recovery_targets_s={"GET /a": 10}))
    assert result.status is Status.FAIL
    assert overall(result)["status"] == "not recovered"
    assert "f: not recovered (not back in its band within 18.0 s)" in result.reasons
    assert result.alerts[0].level is AlertLevel.CRITICAL
    assert result.figures["pairs_judged"] == 1 and result.figures["pairs_within_target"] == 0


def test_recovery_window_must_end_before_the_next_fault_starts():
    timeline = rows(0, 10) + rows(10, 31, ok=0, failed=10) + rows(31, 40)
    h = history(timeline, [fault("a", 10.0, 20.0), fault("b", 30.0, 35.0)])
    result = check_recovery(h, CRITERIA)
    assert overall(result, 0)["status"] == "censored"
    assert overall(result, 0)["why"] == "observed 8.0 s of the 30 s allowed: b started"
    assert result.status is Status.UNKNOWN
    failed = check_recovery(h, Criteria(recovery_max_s=5, recovery_targets_s={"GET /a": 5}))
    assert overall(failed, 0)["status"] == "not recovered"
    assert failed.status is Status.FAIL


def test_a_recovery_first_seen_at_the_first_request_after_the_heal_is_an_upper_bound():
    # the operation is silent for 16 s after the heal, then its first request succeeds
    h = history(rows(0, 10) + rows(10, 20, ok=0, failed=10) + rows(36, 60), [fault("f", 10.0, 20.0)], end=60)
    result = check_recovery(h, CRITERIA)
    figures = overall(result)
    assert (figures["recovery_s"], figures["bound"], figures["shown"], figures["within_target"]) == (
        16.0, "upper", "≤ 16.0 s", True,
    )
    assert result.status is Status.PASS
    assert [a.level for a in result.alerts] == [AlertLevel.INFO]  # 16 s > 10 s is not a measured time
    tight = check_recovery(h, Criteria(recovery_max_s=5, recovery_targets_s={"GET /a": 5}))
    assert tight.status is Status.UNKNOWN
    assert overall(tight)["within_target"] is None
    assert "f: recovery ≤ 16.0 s, only an upper bound above 5 s" in tight.reasons


def test_setup_operations_are_left_out_of_recovery():
    sparse = rows(0, 10, op=OP_B, ok=1) + rows(36, 37, op=OP_B, ok=1)
    h = history(rows(0, 10) + rows(10, 20, ok=0, failed=10) + rows(22, 40) + sparse, [fault("f", 10.0, 20.0)])
    result = check_recovery(h, Criteria(setup_operations=("POST /b",)))
    assert list(result.figures["faults"][0]["operations"]) == ["GET /a"]
    assert overall(result)["recovery_s"] == 2.0


def test_fault_at_the_very_start_falls_back_to_the_run_tail_as_baseline():
    h = history(rows(0, 8, ok=0, failed=10) + rows(8, 40), [fault("early", 0.0, 5.0)])
    result = check_recovery(h, CRITERIA)
    assert overall(result)["band"]["source"] == "run tail"
    assert overall(result)["recovery_s"] == 3.0
    assert result.status is Status.PASS


def test_without_pre_fault_or_tail_baseline_the_criteria_targets_are_the_band():
    timeline = rows(0, 8, ok=0, failed=10) + rows(8, 35) + rows(35, 38, ok=0, failed=10) + rows(38, 40)
    h = history(timeline, [fault("early", 0.0, 5.0), fault("late", 35.0, 38.0)])
    result = check_recovery(h, CRITERIA)
    band = overall(result, 0)["band"]
    assert band["source"] == "criteria"
    assert (band["error_ratio_max"], band["p95_max_ms"]) == (0.05, 1000.0)
    assert overall(result, 0)["recovery_s"] == 3.0
    # the late fault has a pre-fault baseline and recovers at once when healed
    assert overall(result, 1)["band"]["source"] == "pre-fault"
    assert overall(result, 1)["recovery_s"] == 0.0


def test_overlapping_faults_are_one_episode_measured_from_the_last_heal():
    h = history(
        rows(0, 10) + rows(10, 27, ok=0, failed=10) + rows(27, 40),
        [fault("a", 10.0, 20.0), fault("b", 15.0, 25.0)],
    )
    result = check_recovery(h, CRITERIA)
    assert [f["episode"] for f in result.figures["faults"]] == [["a", "b"], ["a", "b"]]
    assert [overall(result, i)["recovery_s"] for i in (0, 1)] == [2.0, 2.0]
    assert overall(result, 0)["band"]["source"] == "pre-fault"
    assert overall(result, 0)["band"]["baseline_error_ratio"] == 0.0


def test_empty_buckets_are_not_evidence_of_recovery():
    # no rows at all during 20..25, then rows with zero counts during 25..28, then healthy traffic
    timeline = rows(0, 10) + rows(10, 20, ok=0, failed=10) + rows(25, 28, ok=0) + rows(28, 40)
    h = history(timeline, [fault("f", 10.0, 20.0)])
    assert overall(check_recovery(h, CRITERIA))["recovery_s"] == 8.0


def test_an_operation_without_traffic_after_the_heal_is_not_judged():
    timeline = rows(0, 10) + rows(0, 10, OP_B) + rows(10, 20, ok=0, failed=10) + rows(20, 40)
    result = check_recovery(history(timeline, [fault("f", 10.0, 20.0)]), CRITERIA)
    operations = result.figures["faults"][0]["operations"]
    assert operations["POST /b"]["status"] == "no traffic"
    assert operations["POST /b"]["within_target"] is None
    assert operations["GET /a"]["recovery_s"] == 0.0
    assert (result.figures["pairs_judged"], result.figures["pairs_within_target"]) == (1, 1)
    assert result.status is Status.PASS


def test_recovery_beyond_the_maximum_fails_and_raises_a_critical_alert():
    h = history(
        rows(0, 10) + rows(10, 55, ok=0, failed=10) + rows(55, 80), [fault("f", 10.0, 20.0)], end=80.0
    )
    result = check_recovery(h, CRITERIA)
    assert overall(result)["recovery_s"] == 35.0
    assert result.status is Status.FAIL
    assert "f: recovery 35.0 s > 30 s" in result.reasons
    assert result.alerts[0].level is AlertLevel.CRITICAL


def test_a_slow_but_allowed_recovery_passes_with_a_critical_alert():
    h = history(
        rows(0, 10) + rows(10, 32, ok=0, failed=10) + rows(32, 60), [fault("f", 10.0, 20.0)], end=60.0
    )
    result = check_recovery(h, CRITERIA)
    assert (result.status, overall(result)["recovery_s"]) == (Status.PASS, 12.0)
    assert result.alerts[0].level is AlertLevel.CRITICAL


def test_too_few_pairs_within_their_own_targets_fails():
    timeline = (
        rows(0, 10) + rows(0, 10, OP_B) + rows(10, 23, ok=0, failed=10) + rows(10, 23, OP_B, ok=0, failed=10)
    )
    timeline += rows(23, 40) + rows(23, 40, OP_B)
    criteria = Criteria(recovery_targets_s={"POST /b": 1.0})
    result = check_recovery(history(timeline, [fault("f", 10.0, 20.0)]), criteria)
    assert overall(result)["recovery_s"] == 3.0
    assert result.figures["faults"][0]["operations"]["POST /b"]["within_target"] is False
    assert (result.figures["pairs_judged"], result.figures["pairs_within_target"]) == (2, 1)
    assert result.status is Status.FAIL
    assert result.reasons == ("1/2 (fault, operation) pairs recovered within their targets (50% < 80%)",)


def test_a_fault_never_healed_fails():
    h = history(rows(0, 40), [fault("stuck", 10.0, None, outcome="heal-failed")])
    result = check_recovery(h, CRITERIA)
    assert overall(result)["status"] == "not healed"
    assert result.status is Status.FAIL


def test_a_run_without_faults_passes_with_nothing_to_judge():
    result = check_recovery(history(rows(0, 40)), CRITERIA)
    assert result.status is Status.PASS
    assert result.summary == "no faults were injected: nothing to recover from"


def test_compare_and_the_report_take_only_measured_recoveries():
    from brownout.compare.fault_values import window_values

    faults = [
        {"fault": "measured", "overall": {"status": "recovered", "recovery_s": 2.0, "bound": None}},
        {"fault": "censored", "overall": {"status": "censored", "recovery_s": None, "bound": None}},
        {"fault": "bounded", "overall": {"status": "recovered", "recovery_s": 16.0, "bound": "upper"}},
    ]
    figures = {"recovery": {"faults": faults}}
    values = window_values(lambda check: figures.get(check, {}), ["measured", "censored", "bounded"])
    assert values == {"measured": {"recovery_s": 2.0}, "censored": {}, "bounded": {}}
