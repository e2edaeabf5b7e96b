"""The web UI's hand-made fault form as a pure function: each kind's fields become the FaultSpec a scenario's
`[[faults]]` table would, read by the same readers (brownout.faults.kinds), and a mistake is refused naming
the form's field; describe_kind says what each fault is in a few words."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.faults.drivers import resource as resource_module
from brownout.faults.endpoints import Endpoints
from brownout.faults.kinds import NetworkParams, ResourceParams
from brownout.plugin.integrity import AuditPlan
from brownout.plugin.manual import Refused, describe_kind, manual_fault
from brownout.plugin.target import Target
from brownout.scenario.schema import FaultSpec, Scenario, load_scenario, parse_scenario

SMOKE = load_scenario("scenarios/smoke.toml")


@pytest.fixture
def stack(tmp_path: Path) -> Target:
    """The sample stack's names, its run dir under tmp (data/<component> exists, as the stack makes it)."""
    (tmp_path / "data" / "gateway").mkdir(parents=True)
    endpoints = Endpoints(run_dir=tmp_path, source="the test")
    return Target("gateway", "http://127.0.0.1:9", endpoints, AuditPlan("http://127.0.0.1:9", None),
                  ("upstream", "notifier"), ("gateway", "upstream", "notifier"))  # fmt: skip


def _inject(service: Target, scenario: Scenario = SMOKE, **fields: str) -> tuple[FaultSpec, str]:
    return manual_fault(scenario, service, fields)


def _refusal(service: Target, **fields: str) -> str:
    with pytest.raises(Refused) as refused:
        _inject(service, **fields)
    assert refused.value.status == 400
    return str(refused.value)


# --- network: HTTP-level toxics, stall, latency distributions -------------------------------------------
def test_an_http_error_toxic_with_retry_after_for_the_first_matching_requests(stack: Target) -> None:
    spec, what = _inject(stack, kind="network-http_error", target="upstream", status="503", body="busy",
                         headers="Retry-After: 2; X-Why: test", method="POST", path_prefix="/v1/", first="3",
                         toxicity="0.5")  # fmt: skip
    assert spec == FaultSpec(
        index=-1, name="upstream-http_error", target="upstream", kind="network", duration_s=0.0,
        description="by hand: network-http_error on upstream",
        params=NetworkParams(
            proxy="upstream", toxic="http_error", stream="upstream", toxicity=0.5,
            attributes=(("method", "POST"), ("path_prefix", "/v1/"), ("first", 3), ("status", 503), ("body", "busy"),
                        ("headers", {"Retry-After": "2", "X-Why": "test"})),
        ),
    )  # fmt: skip
    assert what == "network http_error 503 Retry-After 2 for POST /v1/, first 3, 50% of them"


def test_http_latency_drop_and_stall_toxics_take_only_their_own_fields(stack: Target) -> None:
    slow, slow_what = _inject(stack, kind="network-http_latency", target="upstream", http_latency_ms="300",
                              http_jitter_ms="50", header="X-Debug", every="2", status="500")  # fmt: skip
    assert slow.params == NetworkParams(proxy="upstream", toxic="http_latency", stream="upstream",
                                        attributes=(("header", "X-Debug"), ("every", 2), ("latency", 300),
                                                    ("jitter", 50)))  # fmt: skip
    assert slow_what == "network http_latency 300ms ±50ms for requests with header X-Debug, 1 in 2"
    cut, cut_what = _inject(stack, kind="network-http_drop", target="notifier", drop_bytes="10", reset="1")
    assert cut.name == "notifier-http_drop"
    assert cut.params == NetworkParams(proxy="notifier", toxic="http_drop", stream="upstream",
                                       attributes=(("bytes", 10), ("reset", 1)))  # fmt: skip
    assert cut_what == "network http_drop after 10 bytes with a reset"
    stall, stall_what = _inject(stack, kind="network-stall", target="upstream", probability="0.05",
                                stall_delay_ms="300")  # fmt: skip
    assert stall.params == NetworkParams(proxy="upstream", toxic="stall",
                                         attributes=(("probability", 0.05), ("delay", 300)))  # fmt: skip
    assert stall_what == "network stall 0.05 of chunks 300ms"


def test_a_latency_with_a_tail_and_a_plain_one(stack: Target) -> None:
    tail, what = _inject(stack, kind="network-latency", target="upstream", distribution="lognormal", p50_ms="100",
                         p99_ms="800")  # fmt: skip
    shape = (("distribution", "lognormal"), ("p50", 100), ("p99", 800))
    assert tail.params == NetworkParams(proxy="upstream", toxic="latency", attributes=shape)
    assert what == "network latency lognormal p50 100ms p99 800ms"
    plain, plain_what = _inject(stack, kind="network-latency", target="upstream", jitter_ms="20")
    assert plain.params == NetworkParams(proxy="upstream", toxic="latency",
                                         attributes=(("latency", 1000), ("jitter", 20)))  # fmt: skip
    assert plain_what == "network latency"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"kind": "network-http_error", "status": "999"}, "field 'status': must be at most 599, got 999"),
        ({"kind": "network-http_error", "status": "5x3"}, "field 'status': '5x3' is not a whole number"),
        ({"kind": "network-http_error", "headers": "Retry-After 2"},
         "field 'headers': write each header as 'Name: value', separated by ';' (got 'Retry-After 2')"),
        ({"kind": "network-http_error", "first": "-1"}, "field 'first': must not be negative, got -1"),
        ({"kind": "network-http_latency", "toxicity": "1.5"}, "field 'toxicity': must be at most 1.0, got 1.5"),
        ({"kind": "network-http_drop", "drop_bytes": "1.5"}, "field 'drop_bytes': '1.5' is not a whole number"),
        ({"kind": "network-stall", "probability": "2"}, "field 'probability': must be at most 1.0, got 2.0"),
        ({"kind": "network-stall", "probability": "often"}, "field 'probability': 'often' is not a number"),
        ({"kind": "network-latency", "distribution": "weird"},
         "field 'distribution': unknown value 'weird'; expected one of uniform, normal, lognormal, pareto"),
        ({"kind": "network-latency", "distribution": "pareto", "p50_ms": "900", "p99_ms": "800"},
         "field 'p99_ms': a lognormal or pareto latency needs 0 < p50 (or latency) < p99, in ms"),
        ({"kind": "network-latency", "latency_ms": "-5"}, "field 'latency_ms': must not be negative, got -5"),
    ],
)  # fmt: skip
def test_a_wrong_network_field_is_refused_naming_it(stack: Target, fields: dict[str, str], said: str) -> None:
    assert _refusal(stack, target="upstream", **fields) == said


def test_the_form_and_a_scenario_refuse_the_same_status(tmp_path: Path) -> None:
    fault = ('[[faults]]\nname = "teapot"\nkind = "network"\ntarget = "upstream"\ntoxic = "http_error"\n'
             'attributes = { status = 999 }\nat = "1s"\nduration = "1s"\n')
    text = Path("scenarios/smoke.toml").read_text() + "\n" + fault
    with pytest.raises(InputError, match="field 'status': must be at most 599, got 999"):
        parse_scenario(text, Path("scenarios/smoke.toml").resolve())


# --- resource faults on a component ---------------------------------------------------------------------
def test_resource_faults_on_a_component(stack: Target) -> None:
    cpu, cpu_what = _inject(stack, kind="resource-cpu", target="gateway", cpus="2", limit_mb="64")
    assert cpu == FaultSpec(index=-1, name="gateway-cpu", target="gateway", kind="resource", duration_s=0.0,
                            params=ResourceParams(component="gateway", resource="cpu", cpus=2),
                            description="by hand: resource-cpu on gateway")  # fmt: skip
    assert cpu_what == "resource cpu 2 hogs"
    assert _inject(stack, kind="resource-cpu", target="gateway")[1] == "resource cpu (a hog per CPU)"
    memory, memory_what = _inject(stack, kind="resource-memory", target="gateway", limit_mb="64")
    assert memory.params == ResourceParams(component="gateway", resource="memory", limit_mb=64)
    assert memory_what == "resource memory 64 MB"
    disk, disk_what = _inject(stack, kind="resource-disk", target="gateway", disk_limit_mb="10000000")
    assert disk.params == ResourceParams(component="gateway", resource="disk", mode="full", limit_mb=10_000_000)
    assert disk_what == "resource disk full (up to 10000000 MB)"
    clock, clock_what = _inject(stack, kind="resource-clock", target="gateway", offset="-2m")
    assert clock.params == ResourceParams(component="gateway", resource="clock", offset_s=-120.0)
    assert clock_what == "resource clock -2m"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"kind": "resource-cpu", "cpus": "0"}, "field 'cpus': must be at least 1, got 0"),
        ({"kind": "resource-cpu", "cpus": "65"}, "field 'cpus': must be at most 64, got 65"),
        ({"kind": "resource-memory"}, "field 'limit_mb': say how much memory to hold, e.g. `limit_mb = 512`"),
        ({"kind": "resource-memory", "limit_mb": "0"}, "field 'limit_mb': must be at least 1, got 0"),
        ({"kind": "resource-disk", "disk_limit_mb": "lots"}, "field 'disk_limit_mb': 'lots' is not a whole number"),
        ({"kind": "resource-clock", "offset": "0s"},
         "field 'offset': an offset of 0 changes nothing: give one like \"30s\" or \"-2m\""),
        ({"kind": "resource-clock", "offset": "soon"},
         "field 'offset': cannot read duration 'soon': write it like \"45s\", \"2m\", \"1m30s\" or \"500ms\""),
        ({"kind": "resource-cpu", "target": "nosuch"},
         "field 'target': no component 'nosuch' (known: gateway, upstream, notifier)"),
    ],
)  # fmt: skip
def test_a_wrong_resource_field_is_refused_naming_it(stack: Target, fields: dict[str, str], said: str) -> None:
    assert _refusal(stack, **{"target": "gateway", **fields}) == said


def test_what_the_machine_cannot_do_is_refused_in_the_form_with_the_fix(
    stack: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _refusal(stack, kind="resource-memory", target="gateway", limit_mb="100000000")
    assert held.startswith("field 'limit_mb': limit_mb 100000000 is more than 50% of the ")
    assert held.endswith(" MB available: holding it could get brownout itself killed; lower limit_mb")
    full = _refusal(stack, kind="resource-disk", target="gateway", disk_limit_mb="1")
    assert full.startswith(f"field 'disk_limit_mb': the filesystem of {tmp_path / 'data' / 'gateway'} has ")
    assert "more than limit_mb 1: brownout fills only a filesystem it can fill within limit_mb" in full
    assert _refusal(stack, kind="resource-disk", target="upstream", disk_limit_mb="1") == (
        f"field 'disk_limit_mb': no data directory to fill ({tmp_path / 'data' / 'upstream'})")
    missing = tmp_path / "no-libfaketime.so"
    monkeypatch.setattr(resource_module, "LIBFAKETIME_GLOBS", (str(missing),))
    assert _refusal(stack, kind="resource-clock", target="gateway", offset="30s") == (
        f"field 'kind': libfaketime is not installed (looked for {missing}): apt-get install -y libfaketime")


def test_libfaketime_is_here_for_the_clock_fault() -> None:
    assert resource_module.libfaketime() == "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


# --- the kinds as the tab reads them --------------------------------------------------------------------
def test_every_kind_is_described_in_a_few_words() -> None:
    assert describe_kind("network", NetworkParams(proxy="p", down=True)) == "network down"
    assert describe_kind("network", NetworkParams(proxy="p", toxic="timeout")) == "network timeout"
    stall = NetworkParams(proxy="p", toxic="stall", toxicity=0.5)
    assert describe_kind("network", stall) == "network stall 0.01 of chunks 200ms, toxicity 0.5"  # proxy defaults
    tail = NetworkParams(proxy="p", toxic="latency", attributes=(("latency", 100), ("p99", 900)))
    assert describe_kind("network", tail) == "network latency lognormal p50 100ms p99 900ms"  # p99 alone: lognormal
    assert describe_kind("network", NetworkParams(proxy="p", toxic="http_error")) == "network http_error 503"
    assert describe_kind("resource", ResourceParams("c", "clock", offset_s=90.0)) == "resource clock +1m30s"
    assert describe_kind("resource", ResourceParams("c", "cpu", cpus=1)) == "resource cpu 1 hog"
    assert describe_kind("http", None) == "http"
