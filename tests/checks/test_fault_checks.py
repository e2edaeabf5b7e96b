"""Availability, detection, the fault journal and resilience telemetry on literal histories."""

import dataclasses

from brownout.checks import AlertLevel, Criteria, Status
from brownout.checks.availability import check_availability
from brownout.checks.detection import check_detection
from brownout.checks.evidence import describe_evidence
from brownout.checks.journal import check_faults
from brownout.checks.resilience import check_resilience
from brownout.history import FaultRow, TelemetryRow
from tests.checks.checks_literals import OP_B, fault, history, rows

CRITERIA = Criteria()


def test_availability_counts_ok_and_degraded_over_all_requests_in_the_fault_window():
    timeline = rows(0, 10, ok=9, failed=1) + rows(10, 20, ok=6, degraded=2, failed=2) + rows(20, 40)
    timeline += rows(10, 20, OP_B, ok=0, failed=10)
    result = check_availability(history(timeline, [fault("f", 10.0, 20.0)]), CRITERIA)
    figures = result.figures["faults"][0]
    assert figures["overall"] == {
        "requests": 200, "ok": 60, "degraded": 20, "failed": 120,
        "availability": 0.4, "ok_ratio": 0.3, "degraded_share": 0.1,
    }  # fmt: skip
    assert figures["operations"]["GET /a"]["availability"] == 0.8
    assert figures["operations"]["POST /b"]["availability"] == 0.0
    assert result.status is Status.FAIL
    assert result.reasons == ("f: availability 40.0% < 60%",)


def test_a_fault_can_set_its_own_availability_minimum():
    timeline = rows(0, 10) + rows(10, 20, ok=4, failed=6) + rows(20, 40) + rows(40, 50, ok=4, failed=6)
    faults = [fault("db-locked", 10.0, 20.0), fault("other", 40.0, 50.0)]
    criteria = Criteria.from_mapping({"availability_targets": {"db-locked": 0.3}})
    result = check_availability(history(timeline, faults), criteria)
    assert [(f["fault"], f["minimum"], f["status"]) for f in result.figures["faults"]] == [
        ("db-locked", 0.3, "pass"), ("other", 0.6, "fail"),
    ]  # fmt: skip
    assert result.reasons == ("other: availability 40.0% < 60%",)


def test_availability_passes_at_the_threshold_and_windows_use_actual_times():
    timeline = (
        rows(0, 10, ok=0, failed=10)
        + rows(10, 20, ok=3, degraded=3, failed=4)
        + rows(20, 40, ok=0, failed=10)
    )
    planned_elsewhere = dataclasses.replace(fault("f", 10.0, 20.0), planned_start=0.0, planned_end=5.0)
    result = check_availability(history(timeline, [planned_elsewhere]), CRITERIA)
    assert result.figures["faults"][0]["overall"]["availability"] == 0.6
    assert result.status is Status.PASS


def test_availability_without_traffic_in_the_window_is_unknown_and_without_faults_passes():
    empty = check_availability(history(rows(0, 10) + rows(20, 40), [fault("f", 10.0, 20.0)]), CRITERIA)
    assert empty.status is Status.UNKNOWN
    assert empty.reasons == ("f: no requests during the fault window",)
    assert check_availability(history(rows(0, 40)), CRITERIA).status is Status.PASS


def _breaker(t: float, state: float) -> TelemetryRow:
    return TelemetryRow(t, "gateway", "gateway_breaker_state", {"dependency": "upstream"}, state)


def test_detection_times_breaker_opening_and_first_degraded_answer():
    timeline = rows(0, 11) + rows(11, 20, ok=5, degraded=5) + rows(20, 40)
    telemetry = [_breaker(float(t), 1.0 if 12 <= t < 22 else 0.0) for t in range(0, 40)]
    result = check_detection(history(timeline, [fault("f", 10.0, 20.0)], telemetry=telemetry), CRITERIA)
    assert result.figures["faults"] == [
        {"fault": "f", "start": 10.0, "breaker_open_s": 2.0, "breakers": {"upstream": 2.0}, "degraded_s": 1.0,
             "observed_s": 10.0}
    ]
    assert [(a.level, a.message) for a in result.alerts] == [
        (AlertLevel.WARNING, "breaker upstream opened after 2.0 s")
    ]
    assert result.status is Status.PASS
    limited = check_detection(
        history(timeline, [fault("f", 10.0, 20.0)], telemetry=telemetry), Criteria(detection_max_s=0.5)
    )
    assert limited.status is Status.FAIL and limited.reasons == ("f: detected after 1.0 s (max 0.5 s)",)


def test_detection_sees_a_breaker_that_opened_and_closed_between_two_scrapes():
    transitions = [
        TelemetryRow(
            float(t), "gateway", "gateway_breaker_transitions_total", {"dependency": "up", "to": "open"}, v
        )
        for t, v in [(9, 0.0), (10, 0.0), (11, 0.0), (12, 1.0), (13, 1.0)]
    ]
    result = check_detection(history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=transitions), CRITERIA)
    assert result.figures["faults"][0]["breakers"] == {"up": 2.0}


def test_detection_without_telemetry_is_unknown():
    result = check_detection(history(rows(0, 40), [fault("f", 10.0, 20.0)]), CRITERIA)
    assert result.status is Status.UNKNOWN
    assert result.reasons == ("breaker detection unknown: no telemetry.csv",)
    assert result.figures["faults"][0]["degraded_s"] is None


def test_fault_journal_fails_unhealed_and_is_unknown_for_faults_never_injected():
    healed = check_faults(history(rows(0, 40), [fault("a", 1.0, 2.0)]), CRITERIA)
    assert (healed.status, healed.summary) == (Status.PASS, "1 healed")
    skipped = check_faults(
        history(rows(0, 40), [fault("a", 1.0, 2.0), fault("b", None, None, "inject-failed")]), CRITERIA
    )
    assert skipped.status is Status.UNKNOWN
    assert skipped.reasons == ("b (latency on upstream) was inject-failed",)
    stuck = check_faults(history(rows(0, 40), [fault("c", 1.0, None, "heal-failed")]), CRITERIA)
    assert stuck.status is Status.FAIL


def _counter(metric: str, points: list[tuple[float, float]], **labels: str) -> list[TelemetryRow]:
    return [TelemetryRow(t, "gateway", metric, labels, v) for t, v in points]


def test_retry_amplification_breaker_transitions_and_outbox_drain():
    telemetry = _counter(
        "gateway_retry_attempts_total", [(9, 100), (10, 100), (15, 160), (20, 220)], dependency="up"
    )
    # the gateway restarted at 15: its call counter dropped to 10 (Prometheus reset rule: counts from zero)
    telemetry += _counter(
        "gateway_dependency_calls_total",
        [(9, 100), (10, 100), (15, 10), (20, 40)],
        dependency="up",
        outcome="ok",
    )
    telemetry += _counter(
        "gateway_breaker_transitions_total", [(10, 0), (12, 1), (30, 1)], dependency="up", to="open"
    )
    telemetry += _counter(
        "gateway_outbox_depth", [(9, 0), (10, 0), (15, 50), (20, 80), (24, 10), (27, 0), (30, 0)]
    )
    result = check_resilience(history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=telemetry), CRITERIA)
    figures = result.figures["faults"][0]
    assert figures["retries"] == {"up": {"attempts": 120.0, "calls": 40.0, "amplification": 3.0}}
    assert figures["breaker_transitions"] == {"up->open": 1.0}
    assert figures["outbox"] == {
        "before": 0.0, "peak": 80.0, "drain_s": 7.0, "drain_observed_s": 20.0, "drain_censored": False,
    }  # fmt: skip
    assert result.status is Status.PASS
    # the next fault starts 3 s after the heal: the drain was not observed long enough, not failed
    cut = check_resilience(
        history(rows(0, 40), [fault("f", 10.0, 20.0), fault("g", 23.0, 25.0)], telemetry=telemetry), CRITERIA
    )
    assert cut.figures["faults"][0]["outbox"] == {
        "before": 0.0, "peak": 80.0, "drain_s": None, "drain_observed_s": 3.0, "drain_censored": True,
    }  # fmt: skip
    assert cut.status is Status.PASS
    capped = check_resilience(
        history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=telemetry),
        Criteria(max_retry_amplification=2.0),
    )
    assert capped.status is Status.FAIL
    assert capped.reasons == ("f: retry amplification to up 3.00 > 2",)


def test_resilience_without_telemetry_is_unknown():
    assert check_resilience(history(rows(0, 40), [fault("f", 10.0, 20.0)]), CRITERIA).status is Status.UNKNOWN


def test_checks_read_the_metric_names_the_scenario_maps():
    mapping = {
        "breaker_state": "svc_circuit", "breaker_open_value": 2, "retry_attempts": "svc_retries_total",
        "dependency_calls": "svc_calls_total", "dependency_label": "peer",
    }  # fmt: skip
    telemetry = [TelemetryRow(float(t), "svc", "svc_circuit", {"peer": "db"}, 2.0 if t >= 13 else 0.0)
                 for t in range(0, 40)]  # fmt: skip
    telemetry += _counter("svc_retries_total", [(10, 0), (20, 30)], peer="db")
    telemetry += _counter("svc_calls_total", [(10, 0), (20, 20)], peer="db")
    h = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=telemetry, scenario={"metrics": mapping})
    assert check_detection(h, CRITERIA).figures["faults"][0]["breakers"] == {"db": 3.0}
    assert check_resilience(h, CRITERIA).figures["faults"][0]["retries"] == {
        "db": {"attempts": 30.0, "calls": 20.0, "amplification": 1.5}
    }
    unmapped = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=telemetry)
    detection = check_detection(unmapped, CRITERIA)
    assert detection.status is Status.UNKNOWN
    assert detection.reasons == (
        "breaker detection unknown: the target exposes no breaker metric (gateway_breaker_state): "
        "map one under [metrics]",
    )


def test_detection_not_seen_in_a_fault_shorter_than_its_limit_is_censored():
    short = history(rows(0, 40), [fault("f", 10.0, 13.0)], telemetry=[_breaker(float(t), 0.0) for t in range(40)])
    result = check_detection(short, Criteria(detection_max_s=5))
    assert (result.status, result.reasons) == (
        Status.UNKNOWN, ("f: not detected (observed 3.0 s of the 5 s allowed: the fault ended)",),
    )
    assert [a.level for a in result.alerts] == [AlertLevel.INFO]
    long = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=[_breaker(float(t), 0.0) for t in range(40)])
    assert check_detection(long, Criteria(detection_max_s=5)).reasons == ("f: detected never (max 5 s)",)


def _network(name: str, evidence: dict, outcome: str = "healed", params: dict | None = None) -> FaultRow:
    return FaultRow(name, "db", "network", params or {"proxy": "db", "down": True}, 10.0, 15.0, 10.0, 15.0, outcome,
                    evidence=evidence)  # fmt: skip


_QUIET = {"proxy": "db", "source": "traffic", "bytes_before": 0, "connections": 0, "bytes_upstream": 0,
          "bytes_downstream": 0}  # fmt: skip


def test_a_network_fault_whose_proxy_carried_nothing_touched_nothing():
    result = check_faults(history(rows(0, 40), [_network("db-down", {**_QUIET, "idle_before_s": None})]), CRITERIA)
    assert result.status is Status.FAIL
    assert result.summary == "1 healed; 1 touched nothing"
    assert result.reasons == (
        "fault 'db-down' touched nothing: 0 connections through proxy 'db' — is the service using {proxies.db}?",
    )
    assert result.figures["faults"][0]["evidence_text"] == (
        "proxy db: 0 new connections, 0 B up, 0 B down; never active before"
    )


def test_traffic_in_the_window_or_in_the_5_s_before_is_the_evidence():
    faults = [
        _network("slow", {**_QUIET, "idle_before_s": None, "connections": 2, "bytes_upstream": 120,
                          "bytes_downstream": 4500}),  # fmt: skip
        _network("kept-alive", {**_QUIET, "idle_before_s": None, "connections": 0, "bytes_downstream": 10}),
        _network("down", {**_QUIET, "idle_before_s": 4.9, "bytes_before": 800}),  # refused by design
        _network("late", {**_QUIET, "idle_before_s": 5.1, "bytes_before": 800}),
    ]
    result = check_faults(history(rows(0, 40), faults), CRITERIA)
    assert result.reasons == (
        "fault 'late' touched nothing: 0 connections through proxy 'db' — is the service using {proxies.db}?",
    )
    assert [f["evidence_text"] for f in result.figures["faults"]][:3] == [
        "proxy db: 2 new connections, 120 B up, 4.5 kB down; never active before",
        "proxy db: 0 new connections, 0 B up, 10 B down; never active before",
        "proxy db: 0 new connections, 0 B up, 0 B down; last active 4.9 s before",
    ]


def test_evidence_nobody_could_read_is_unknown_never_a_pass():
    reason = "the fault proxy at http://127.0.0.1:8474 counts no traffic (...): start Toxiproxy with -proxy-metrics"
    metrics = {**_QUIET, "source": "metrics", "connections": None, "idle_before_s": None}
    faults = [
        _network("db-down", {"proxy": "db", "unknown": reason}),
        _network("via-metrics", {**metrics, "bytes_before": 5000}),
        _network("never-used", {**metrics, "bytes_before": 0}),
    ]
    result = check_faults(history(rows(0, 40), faults), CRITERIA)
    assert result.reasons == (
        f"fault 'db-down': no evidence it reached the service: {reason}",
        "fault 'via-metrics': no traffic through proxy 'db' in its window, and Toxiproxy's metrics cannot tell "
        "whether it carried any in the 5 s before (5000 bytes since it started)",
        "fault 'never-used' touched nothing: 0 connections through proxy 'db' — is the service using {proxies.db}?",
    )
    assert result.status is Status.FAIL
    only_unknown = check_faults(history(rows(0, 40), faults[:2]), CRITERIA)
    assert only_unknown.status is Status.UNKNOWN
    assert only_unknown.figures["faults"][0]["evidence_text"] == f"unknown: {reason}"


def test_results_without_evidence_are_judged_as_before():
    old = check_faults(history(rows(0, 40), [_network("db-down", {})]), CRITERIA)
    assert (old.status, old.reasons, old.figures["faults"][0]["evidence_text"]) == (Status.PASS, (), "-")
    failed = check_faults(history(rows(0, 40), [_network("db-down", {**_QUIET, "idle_before_s": None},
                                                         outcome="inject-failed")]), CRITERIA)  # fmt: skip
    assert failed.reasons == ("db-down (network on db) was inject-failed",)


def test_the_other_kinds_evidence_in_words():
    assert describe_evidence({"pid": 4242, "pid_after_heal": 4250}) == "pid 4242, pid 4250 after heal"
    assert describe_evidence({"pid": 1, "new_pid": 2}) == "pid 1 -> 2"
    answers = {"inject": {"status": 200, "body": '{"ok":\n true}'}, "heal": {"status": 204, "body": ""}}
    assert describe_evidence(answers) == "inject: 200 '{\"ok\": true}'; heal: 204"
    assert describe_evidence({"inject": {"exit": 0, "stdout": "drained node 1\n", "stderr": ""}}) == (
        "inject: exit 0, stdout 'drained node 1'"
    )
    assert describe_evidence({"lock_holder_pid": 77}) == "lock held by pid 77"
