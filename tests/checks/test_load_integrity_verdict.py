"""Load steps, integrity, criteria validation and the composed verdict on literal histories."""

import pytest

from brownout.checks import Criteria, Status, judge
from brownout.checks.integrity import check_integrity
from brownout.checks.load import check_load
from brownout.checks.result import CheckResult
from brownout.errors import InputError
from brownout.history import Integrity, KindIntegrity, StreamIntegrity, UsersRow, integrity_from_json
from tests.checks.checks_literals import fault, history, rows

STEPS = [UsersRow(float(t), users, step) for step, (start, users) in enumerate([(0, 10), (10, 20), (20, 40)])
         for t in range(start, start + 10)]  # fmt: skip


def test_load_steps_figures_and_knee_where_throughput_stops_growing():
    timeline = rows(0, 10, ok=10, ms=20) + rows(10, 20, ok=20, ms=30) + rows(20, 30, ok=22, ms=80)
    result = check_load(history(timeline, end=30.0, users=STEPS), Criteria())
    steps = result.figures["steps"]
    assert [(s["step"], s["users"], s["rps"], s["p95_ms"], s["error_ratio"]) for s in steps] == [
        (0, 10, 10.0, 20, 0.0), (1, 20, 20.0, 30, 0.0), (2, 40, 22.0, 80, 0.0)
    ]  # fmt: skip
    assert result.figures["knee"] == {"step": 2, "users": 40, "why": "throughput grew +10% for +100% users"}
    assert result.status is Status.PASS


def test_load_fails_a_step_over_its_p95_target_and_that_step_is_the_knee():
    timeline = rows(0, 10, ok=10, ms=20) + rows(10, 20, ok=20, ms=30) + rows(20, 30, ok=40, ms=1500)
    result = check_load(history(timeline, end=30.0, users=STEPS), Criteria(p95_targets_ms={"GET /a": 2000}))
    assert result.status is Status.FAIL
    assert result.reasons == ("step 2 (40 users): all operations p95 1500 ms > 1000 ms",)
    assert result.figures["knee"]["step"] == 2
    assert [s["within_target"] for s in result.figures["steps"]] == [True, True, False]


def test_load_cuts_fault_windows_out_of_steps():
    timeline = rows(0, 10) + rows(10, 15, ms=5000) + rows(15, 30)
    result = check_load(history(timeline, [fault("f", 10.0, 15.0)], end=30.0, users=STEPS), Criteria())
    step = result.figures["steps"][1]
    assert (step["fault_free_s"], step["excluded_s"], step["p95_ms"]) == (5.0, 5.0, 20)
    assert result.status is Status.PASS


def test_a_bucket_that_saw_the_start_of_a_fault_is_not_fault_free():
    # The fault starts at 10.6 s, after the middle of the bucket [10, 11) whose requests it slowed.
    timeline = rows(0, 10) + rows(10, 11, ms=5000) + rows(11, 30)
    result = check_load(history(timeline, [fault("f", 10.6, 15.0)], end=30.0, users=STEPS), Criteria())
    step = result.figures["steps"][1]
    assert (step["fault_free_s"], step["excluded_s"], step["p95_ms"]) == (5.0, 5.0, 20)


def test_load_fails_a_step_whose_requests_fail_outside_faults():
    # step 1 fails 2 of 22 requests a second (9.1 %) away from any fault; step 2 fails every request
    timeline = rows(0, 10) + rows(10, 20, ok=20, failed=2) + rows(20, 30, ok=0, failed=10, ms=1)
    result = check_load(history(timeline, end=30.0, users=STEPS), Criteria())
    assert result.status is Status.FAIL
    assert result.reasons == (
        "step 1 (20 users): error ratio 9.1% > 5% outside faults",
        "step 2 (40 users): no successful request (100 failed)",
    )
    assert [s["within_target"] for s in result.figures["steps"]] == [True, False, False]
    lenient = check_load(history(timeline[:20], end=20.0, users=STEPS[:20]), Criteria(error_ratio_max=0.1))
    assert lenient.status is Status.PASS


def test_a_host_where_nothing_answers_never_passes_the_load_check():
    everything_fails = rows(0, 10, ok=0, failed=10, ms=1)
    result = check_load(history(everything_fails, end=10.0, users=STEPS[:10]), Criteria())
    assert (result.status, result.reasons) == (Status.FAIL, ("step 0 (10 users): no successful request (100 failed)",))


def test_setup_operations_are_left_out_of_load_steps():
    slow_setup = rows(0, 10, op=("POST", "/threads"), ok=1, ms=3000)
    result = check_load(history(rows(0, 10) + slow_setup, end=10.0, users=STEPS[:10]), Criteria())
    assert result.status is Status.FAIL
    lenient = check_load(
        history(rows(0, 10) + slow_setup, end=10.0, users=STEPS[:10]), Criteria(setup_operations=("POST /threads",))
    )
    assert lenient.status is Status.PASS
    assert list(lenient.figures["steps"][0]["operations"]) == ["GET /a"]


def test_load_without_users_rows_is_unknown():
    assert check_load(history(rows(0, 10), users=[]), Criteria()).status is Status.UNKNOWN


def test_integrity_verdicts():
    clean = Integrity(verified=True, kinds={"messages": KindIntegrity(acknowledged=5)})
    assert check_integrity(history(rows(0, 5), integrity=clean), Criteria()).status is Status.PASS
    lost = Integrity(
        verified=True,
        kinds={"records": KindIntegrity(lost=1), "workflows": KindIntegrity(violations={"leaked reservations": 1})},
        stream=StreamIntegrity(gaps=2),
    )
    result = check_integrity(history(rows(0, 5), integrity=lost), Criteria())
    assert result.status is Status.FAIL
    assert result.reasons == (
        "1 lost acknowledged writes (max 0)", "2 stream gaps (max 0)", "1 leaked reservations (max 0)"
    )  # fmt: skip
    unverified = Integrity(verified=False, error="gateway unreachable")
    result = check_integrity(history(rows(0, 5), integrity=unverified), Criteria())
    assert (result.status, result.reasons) == (Status.UNKNOWN, ("could not verify: gateway unreachable",))
    missing = check_integrity(history(rows(0, 5)), Criteria())
    assert missing.status is Status.UNKNOWN


# A format-2 integrity.json of a user's service: its own kinds, one with a violation of its own naming.
V2_INTEGRITY = {
    "verified": True,
    "error": None,
    "kinds": {
        "orders": {
            "acknowledged": 12, "lost": 0, "duplicated": 1, "unverifiable": 0,
            "lost_ids": [], "duplicated_ids": ["o7"], "violations": {"orders charged twice": 2},
        },
        "records": {
            "acknowledged": 30, "lost": 2, "duplicated": 0, "unverifiable": 3,
            "lost_ids": ["r4", "r9"], "duplicated_ids": [], "violations": {},
        },
    },
    "stream": {"users": 2, "gaps": 0, "duplicates": 1},
}  # fmt: skip


def test_integrity_of_a_format_2_history_judges_every_kind_and_its_violations():
    record = integrity_from_json(V2_INTEGRITY, 2)
    result = check_integrity(history(rows(0, 5), integrity=record), Criteria(max_lost=2))
    assert result == CheckResult(
        "integrity",
        Status.FAIL,
        "42 acknowledged: 2 lost, 1 duplicated, 3 unverifiable; 0 stream gap(s)",
        (
            "1 duplicated acknowledged writes (max 0)", "1 stream duplicates (max 0)", "2 orders charged twice (max 0)",
            "3 acknowledged write(s) could not be verified",
        ),
        {**V2_INTEGRITY, "totals": {"acknowledged": 42, "lost": 2, "duplicated": 1, "unverifiable": 3}},
    )  # fmt: skip


def test_verdict_is_unknown_on_unknown_integrity_unless_unverifiable_is_allowed():
    h = history(rows(0, 40), end=40.0)  # no telemetry, no integrity.json
    verdict = judge(h, Criteria())
    assert {c.name: str(c.status) for c in verdict.checks} == {
        "guard": "pass", "faults": "pass", "availability": "pass", "recovery": "pass", "detection": "pass",
        "load": "pass", "integrity": "unknown", "resilience": "unknown",
    }  # fmt: skip
    assert (verdict.status, verdict.exit_code) == (Status.UNKNOWN, 2)
    assert [c.name for c in verdict.checks if verdict.counts_against(c)] == ["integrity"]
    assert judge(h, Criteria(allow_unverifiable=True)).exit_code == 0
    strict = judge(h, Criteria(allow_unverifiable=True, allow_unknown=()))
    assert strict.status is Status.UNKNOWN


def test_a_failed_check_outranks_an_unknown_one_in_the_verdict():
    h = history(rows(0, 10, ok=0, failed=10), end=10.0)  # nothing answers; no integrity.json
    verdict = judge(h, Criteria())
    assert {c.name: str(c.status) for c in verdict.checks if verdict.counts_against(c)} == {
        "load": "fail", "integrity": "unknown",
    }  # fmt: skip
    assert (verdict.status, verdict.exit_code) == (Status.FAIL, 1)


def test_criteria_from_mapping_validates_keys_and_types():
    criteria = Criteria.from_mapping(
        {"availability_min": 0.5, "recovery_targets_s": {"GET /a": 5}, "allow_unknown": ["integrity"]},
        source="s.toml",
    )
    assert criteria.availability_min == 0.5
    assert criteria.recovery_target_s("GET /a") == 5.0 and criteria.recovery_target_s("GET /b") == 30.0
    assert criteria.allows_unknown("integrity") and not criteria.allows_unknown("detection")
    assert Criteria.from_mapping(Criteria().to_json()) == Criteria()
    cases = {
        "availabilty_min": (
            0.5,
            "s.toml: criteria: unknown criterion 'availabilty_min' (did you mean 'availability_min'?)",
        ),
        "bogus": (1, "s.toml: criteria: unknown criterion 'bogus' (known: alert_critical_recovery_s, allow_unknown"),
        "availability_min": ("high", "criteria: field 'availability_min': must be a number, got a string 'high'"),
        "recovery_max_s": (True, "s.toml: criteria: field 'recovery_max_s': must be a number, got a boolean True"),
        "detection_max_s": (float("inf"), "criteria: field 'detection_max_s': must be a finite number, got inf"),
        "recovery_pairs_within_target_min": (
            80,
            "criteria: field 'recovery_pairs_within_target_min': is a ratio, must be within 0..1, got 80",
        ),
        "max_lost": (-1, "s.toml: criteria: field 'max_lost': must not be negative, got -1"),
        "allow_unverifiable": ("yes", "criteria: field 'allow_unverifiable': must be true or false, got a string"),
        "allow_unknown": (
            ["detektion"],
            "s.toml: criteria: field 'allow_unknown': unknown value 'detektion' (did you mean 'detection'?)",
        ),
        "p95_targets_ms": (
            {"GET /a": "fast"},
            "s.toml: criteria.p95_targets_ms: field 'GET /a': must be a number, got a string 'fast'",
        ),
        "setup_operations": ("POST /threads", "s.toml: criteria: field 'setup_operations': must be a list of"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(InputError) as caught:
            Criteria.from_mapping({key: value}, source="s.toml")
        assert message in str(caught.value), key


def test_a_p95_is_judged_only_with_enough_requests_above_it():
    # 2 workflow requests a second for 10 s; one of the 20 takes 1.5 s: that p95 is a single request
    timeline = rows(0, 10) + rows(0, 9, op=("POST", "/w"), ok=2) + rows(9, 10, op=("POST", "/w"), ok=2, ms=1500)
    result = check_load(history(timeline, end=10.0, users=STEPS[:10]), Criteria())
    figures = result.figures["steps"][0]["operations"]["POST /w"]
    assert (figures["p95_ms"], figures["p95_judged"], result.status) == (1500, False, Status.PASS)
    # ten times the traffic, the same share slow: 200 requests, 20 of them above the target
    many = rows(0, 10) + rows(0, 9, op=("POST", "/w"), ok=20) + rows(9, 10, op=("POST", "/w"), ok=20, ms=1500)
    judged = check_load(history(many, end=10.0, users=STEPS[:10]), Criteria())
    assert judged.reasons == (
        "step 0 (10 users): all operations p95 1500 ms > 1000 ms",  # 20 of 300 requests are slow
        "step 0 (10 users): POST /w p95 1500 ms > 1000 ms",
    )


def test_a_recovery_after_the_heal_is_not_capacity_data():
    # healed at 15 s, every request fails until 18 s (a breaker still open): that is the fault's recovery
    timeline = rows(0, 10) + rows(10, 18, ok=0, failed=10) + rows(18, 30)
    result = check_load(history(timeline, [fault("f", 10.0, 15.0)], end=30.0, users=STEPS), Criteria())
    step = result.figures["steps"][1]
    assert (step["fault_free_s"], step["error_ratio"], result.status) == (2.0, 0.0, Status.PASS)
    # the same errors a second after the service was back in its band are a capacity problem
    later = rows(0, 10) + rows(10, 15, ok=0, failed=10) + rows(15, 18) + rows(18, 19, ok=0, failed=10) + rows(19, 30)
    failed = check_load(history(later, [fault("f", 10.0, 15.0)], end=30.0, users=STEPS), Criteria())
    assert failed.reasons == ("step 1 (20 users): error ratio 20.0% > 5% outside faults",)
