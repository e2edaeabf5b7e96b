"""The results format: histogram semantics (checked against Locust itself), write/read round trip, and
precise messages for damaged files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.history import (
    FaultRow,
    FaultsWriter,
    Integrity,
    KindIntegrity,
    LatencyHistogram,
    Manifest,
    TelemetryRow,
    TelemetryWriter,
    TimelineRow,
    TimelineWriter,
    UsersRow,
    UsersWriter,
    iter_timeline,
    load_history,
    read_faults,
    read_manifest,
    write_integrity,
    write_manifest,
)

LOCUST_COMPARISON = """
import json, random, sys
from locust.stats import bucket_response_time, calculate_response_time_percentile
from brownout.history import LatencyHistogram, round_response_time
rng = random.Random(3)
values = [rng.uniform(0, 70000) for _ in range(3000)] + [0, 0.4, 0.5, 99.5, 100, 994, 995, 9949, 9950, 15500]
mismatched = [v for v in values if round_response_time(v) != bucket_response_time(v)]
percentiles = []
for _ in range(200):
    h = LatencyHistogram.of(rng.lognormvariate(3, 1) for _ in range(rng.randint(1, 300)))
    for q in (0.0, 0.5, 0.95, 0.99, 1.0):
        percentiles.append((h.percentile(q), calculate_response_time_percentile(dict(h.counts), h.count, q)))
print(json.dumps({"mismatched": mismatched, "differ": [p for p in percentiles if p[0] != p[1]]}))
"""


def test_rounding_and_percentiles_match_locust_exactly():
    # In a subprocess: importing locust gevent-patches the interpreter, which pytest must not suffer.
    out = subprocess.run(
        [sys.executable, "-c", LOCUST_COMPARISON], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"mismatched": [], "differ": []}


def test_histogram_merges_by_adding_and_round_trips_through_its_cell():
    a = LatencyHistogram.of([12, 12.4, 147, 3432])
    assert a.encode() == "12:2 150:1 3400:1"
    b = LatencyHistogram.decode("12:1 58760:0 59000:2")
    a.merge(b)
    assert a.counts == {12: 3, 150: 1, 3400: 1, 59000: 2} and a.count == 7
    assert LatencyHistogram.decode(a.encode()) == a
    assert (a.percentile(0.5), a.percentile(0.95), LatencyHistogram().percentile(0.5)) == (150, 59000, None)
    with pytest.raises(ValueError, match="'12:x' is not 'ms:count'"):
        LatencyHistogram.decode("12:x")


_INTEGRITY = Integrity(verified=True, kinds={"messages": KindIntegrity(acknowledged=4, lost=1, lost_ids=("m1",))})


def _write_all(directory: Path) -> None:
    write_manifest(
        directory, Manifest(started_at=10.0, ended_at=20.0, scenario={"criteria": {"max_lost": 1}})
    )
    with TimelineWriter(directory) as timeline:
        timeline.append(
            TimelineRow(10.0, "GET", "/a, b", 3, 1, 1, LatencyHistogram.of([5, 5, 120, 130, 2000]))
        )
        timeline.append(TimelineRow(10.25, "GET", "/a, b", 0, 0, 0, LatencyHistogram()))
    with UsersWriter(directory) as users:
        users.extend([UsersRow(10.0, 5, 0), UsersRow(11.0, 10, 1)])
    with FaultsWriter(directory) as faults:
        faults.append(
            FaultRow("cut", "upstream", "timeout", {"timeout": 0}, 11.0, 12.0, 11.1, 12.2, "healed",
                     evidence={"proxy": "upstream", "connections": 3, "idle_before_s": 0.25})
        )  # fmt: skip
        faults.append(
            FaultRow("never", "notifier", "kill", {}, 13.0, 14.0, None, None, "inject-failed", "refused, 502")
        )
    with TelemetryWriter(directory) as telemetry:
        telemetry.append(
            TelemetryRow(10.0, "gateway", "gateway_breaker_state", {"dependency": "upstream"}, 0.0)
        )
    write_integrity(directory, _INTEGRITY)


def test_everything_written_reads_back_identically(tmp_path):
    _write_all(tmp_path)
    history = load_history(tmp_path)
    assert history.manifest.scenario == {"criteria": {"max_lost": 1}} and history.manifest.bucket_s == 0.25
    assert list(iter_timeline(tmp_path))[0] == TimelineRow(
        10.0, "GET", "/a, b", 3, 1, 1, LatencyHistogram({5: 2, 120: 1, 130: 1, 2000: 1})
    )
    assert history.timeline.window(10.0, 11.0, "GET /a, b").total == 5
    assert [f.error for f in read_faults(tmp_path)] == ["", "refused, 502"]
    assert read_faults(tmp_path)[1].actual_start is None
    assert [f.evidence for f in read_faults(tmp_path)] == [
        {"proxy": "upstream", "connections": 3, "idle_before_s": 0.25}, {},
    ]  # fmt: skip
    cell = (tmp_path / "faults.csv").read_text().splitlines()[1].split(",healed,,")[1]
    assert cell == '"{""connections"":3,""idle_before_s"":0.25,""proxy"":""upstream""}"'  # compact, sorted
    assert history.users == [UsersRow(10.0, 5, 0), UsersRow(11.0, 10, 1)]
    assert history.telemetry is not None and history.telemetry.select("gateway_breaker_state")[0].values == [
        0.0
    ]
    assert history.integrity == _INTEGRITY


def test_a_faults_csv_without_the_evidence_column_reads_as_no_evidence(tmp_path):
    _write_all(tmp_path)
    (tmp_path / "faults.csv").write_text(
        "name,target,kind,params,planned_start,planned_end,actual_start,actual_end,outcome,error\n"
        "db-down,db,network,{},1,2,1,2,healed,\n"
    )
    (fault,) = read_faults(tmp_path)
    assert (fault.name, fault.outcome, fault.evidence) == ("db-down", "healed", {})


def test_optional_files_are_none_when_absent(tmp_path):
    _write_all(tmp_path)
    (tmp_path / "telemetry.csv").unlink()
    (tmp_path / "integrity.json").unlink()
    history = load_history(tmp_path)
    assert history.telemetry is None and history.integrity is None


DAMAGE = {
    "missing timeline": ("timeline.csv", None, "timeline.csv: file is missing"),
    "empty users": ("users.csv", "", "users.csv: file is empty; expected the header row 't,users,step'"),
    "wrong header": ("users.csv", "t,user,step\n1,2,0\n", "users.csv, line 1: wrong header 't,user,step'"),
    "truncated row": (
        "timeline.csv",
        "t,type,name,ok,degraded,failed,hist\n10.0,GET,/a,1,0,0,5:1\n10.25,GET,/a,1",
        "timeline.csv, line 3: truncated row: 4 cells, expected 7",
    ),
    "non-numeric": (
        "users.csv",
        "t,users,step\n10.0,5,0\n11.0,ten,1\n",
        "users.csv, line 3: column 'users': 'ten' is",
    ),
    "bad hist": (
        "timeline.csv",
        "t,type,name,ok,degraded,failed,hist\n10.0,GET,/a,1,0,0,5:1 7\n",
        "timeline.csv, line 2: column 'hist': histogram pair '7' is not 'ms:count'",
    ),
    "evidence not an object": (
        "faults.csv",
        "name,target,kind,params,planned_start,planned_end,actual_start,actual_end,outcome,error,evidence\n"
        "a,b,c,{},1,2,1,2,healed,,[1]\n",
        "faults.csv, line 2: column 'evidence': must be a JSON object",
    ),
    "bad outcome": (
        "faults.csv",
        "name,target,kind,params,planned_start,planned_end,actual_start,actual_end,outcome,error\n"
        "a,b,c,{},1,2,1,2,done,\n",
        "faults.csv, line 2: column 'outcome': 'done' is not one of",
    ),
    "unknown version": (
        "manifest.json",
        '{"format": "brownout-results", "format_version": 3, "started_at": 1, '
        '"ended_at": 2, "bucket_s": 0.25}',
        "manifest.json: field 'format_version' is 3: unknown results format version (this brownout reads 1 and 2)",
    ),
    "broken json": (
        "integrity.json",
        '{"verified": true,\n "lost": }',
        "integrity.json, line 2: not valid JSON",
    ),
    "integrity type": (
        "integrity.json",
        '{"verified": "yes", "lost": 0, "duplicated": 0, "unverifiable": 0}',
        "integrity.json: field 'verified' must be a boolean, got 'yes'",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_files_raise_input_errors_naming_file_line_and_problem(tmp_path, case):
    _write_all(tmp_path)
    name, content, message = DAMAGE[case]
    if content is None:
        (tmp_path / name).unlink()
    else:
        (tmp_path / name).write_text(content)
    with pytest.raises(InputError) as caught:
        load_history(tmp_path)
    assert message in str(caught.value)
    assert str(tmp_path / name) in str(caught.value)


def test_manifest_round_trip_keeps_every_field(tmp_path):
    manifest = Manifest(
        1.0, 2.0, 0.5, {"a": 1}, "x = 1", "0.1", "2.4", "3.11", "abc", ["brownout", "run"], "h"
    )
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path) == manifest
    assert json.loads((tmp_path / "manifest.json").read_text())["format"] == "brownout-results"
