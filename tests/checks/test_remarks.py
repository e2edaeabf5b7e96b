"""Names in [criteria] that match nothing are mistakes, said with the closest name; a name without Locust's
request type is accepted. For a service without [metrics], the report says once that detection and
resilience need a mapping instead of naming the sample's gateway_* metrics. Literal histories in."""

from __future__ import annotations

from brownout.checks.criteria import Criteria
from brownout.checks.detection import check_detection
from brownout.checks.load import check_load
from brownout.checks.metric_names import against_sample
from brownout.checks.remarks import Remarks, remarks
from brownout.checks.resilience import check_resilience
from brownout.history import TelemetryRow
from tests.checks.checks_literals import fault, history, rows

KINTO_PUT = ("PUT", "PUT /v1/buckets/[b]")  # Locust's "TYPE name" with name="PUT /v1/buckets/[b]"
OWN_SERVICE = {"target": {"host": "http://127.0.0.1:8888"}}


def _kinto(**criteria: object) -> tuple[object, Criteria]:
    run = history(rows(0, 40, op=KINTO_PUT, ms=80) + rows(0, 40, op=("GET", "/v1/buckets")), scenario=OWN_SERVICE)
    return run, Criteria.from_mapping(criteria)


def test_an_operation_named_without_its_request_type_is_the_operation_and_no_mistake() -> None:
    run, criteria = _kinto(p95_targets_ms={"PUT /v1/buckets/[b]": 50}, setup_operations=["/v1/buckets"])
    operations = check_load(run, criteria).figures["steps"][0]["operations"]
    assert operations["PUT PUT /v1/buckets/[b]"]["p95_target_ms"] == 50
    assert list(operations) == ["PUT PUT /v1/buckets/[b]"]  # GET /v1/buckets: a setup operation, left out
    assert remarks(run, criteria).warnings == ()


def test_an_operation_name_that_matches_nothing_is_a_warning_with_the_closest_name() -> None:
    run, criteria = _kinto(
        p95_targets_ms={"PUT /v1/bucket/[b]": 50},
        recovery_targets_s={"DELETE /nothing/like/it": 3},
        setup_operations=["GET /v1/bucket"],
    )
    assert remarks(run, criteria).warnings == (
        "[criteria] setup_operations: 'GET /v1/bucket' matches no operation of the run "
        "(did you mean 'GET /v1/buckets'?)",
        "[criteria] recovery_targets_s: 'DELETE /nothing/like/it' matches no operation of the run",
        "[criteria] p95_targets_ms: 'PUT /v1/bucket/[b]' matches no operation of the run "
        "(did you mean 'PUT PUT /v1/buckets/[b]'?)",
    )
    operations = check_load(run, criteria).figures["steps"][0]["operations"]
    assert operations["PUT PUT /v1/buckets/[b]"]["p95_target_ms"] == 1000  # the default: the key matched nothing


def test_a_fault_name_that_matches_no_fault_of_the_run_is_a_warning() -> None:
    run = history(rows(0, 40), [fault("db-down", 10.0, 20.0)])
    criteria = Criteria.from_mapping({"availability_targets": {"db-dwn": 0.1, "db-down": 0.2}})
    assert remarks(run, criteria).warnings == (
        "[criteria] availability_targets: 'db-dwn' names no fault of the run (did you mean 'db-down'?)",
    )


def _telemetry(metric: str) -> list[TelemetryRow]:
    return [TelemetryRow(float(t), "svc", metric, {}, 1.0) for t in range(40)]


NOTE = (
    "detection and resilience need a metrics mapping: name your service's breaker, retry and outbox metrics "
    "under [metrics] in the scenario (see README.md, \"Your service's metrics\" under \"Checks\"; "
    "docs/own-service.md#metrics)"
)


def test_a_service_without_metrics_mapping_gets_one_note_and_no_gateway_names() -> None:
    run = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=_telemetry("http_requests_total"),
                  scenario=OWN_SERVICE)  # fmt: skip
    detection, resilience = check_detection(run, Criteria()), check_resilience(run, Criteria())
    said = " ".join([*detection.reasons, *resilience.reasons, detection.summary, resilience.summary])
    assert "gateway_" not in said
    assert detection.reasons == (
        "breaker detection unknown: no breaker metric: the scenario maps none under [metrics] (see the report's note)",
    )
    assert remarks(run, Criteria()) == Remarks(notes=(NOTE,))


def test_the_sample_and_a_mapped_service_get_no_note() -> None:
    sample = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=_telemetry("http_requests_total"),
                     scenario={"stack": {"path": "../targets/sample/stack-postgres.toml"}})  # fmt: skip
    assert against_sample(sample)
    assert "gateway_breaker_state" in check_detection(sample, Criteria()).reasons[0]
    assert remarks(sample, Criteria()).notes == ()
    mapped = history(rows(0, 40), [fault("f", 10.0, 20.0)], telemetry=_telemetry("http_requests_total"),
                     scenario={**OWN_SERVICE, "metrics": {"breaker_state": "svc_circuit"}})  # fmt: skip
    assert remarks(mapped, Criteria()).notes == ()
    own_stack = history(rows(0, 40), scenario={"stack": {"path": "stack.toml"}})
    assert not against_sample(own_stack)
