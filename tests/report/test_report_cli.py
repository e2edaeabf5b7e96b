"""`brownout report` end to end, as a subprocess, on synthetic and damaged results directories."""

import dataclasses
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.synthetic import SyntheticFault, SyntheticRun, write_synthetic_run
from brownout.history import FaultsWriter, read_faults
from tests.helpers import BROWNOUT

SLOW = {"failed_share": 0.3, "degraded_share": 0.4, "latency_ms": 400.0, "recovery_s": 2.0}
RUN = SyntheticRun(
    seconds=40.0,
    rps=100.0,
    operations=5,
    faults=(SyntheticFault("slow-upstream", 12.0, 18.0, **SLOW), SyntheticFault("again", 28.0, 32.0, **SLOW)),
    steps=((0.0, 5), (20.0, 10)),
    seed=7,
)


def brownout(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BROWNOUT, *map(str, args)], capture_output=True, text=True, timeout=90)


def test_a_good_run_writes_every_output_and_exits_0(tmp_path):
    write_synthetic_run(tmp_path, RUN)
    done = brownout("report", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: PASS" in done.stdout
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["verdict"] == "pass"
    assert [c["name"] for c in verdict["checks"]] == [
        "guard", "faults", "availability", "recovery", "detection", "load", "integrity", "resilience"
    ]  # fmt: skip
    recovery = next(c for c in verdict["checks"] if c["name"] == "recovery")["figures"]["faults"]
    assert [f["overall"]["recovery_s"] for f in recovery] == [2.0, 2.0]
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("8", "0")
    assert len(suite.findall("testcase")) == 8
    markdown = (tmp_path / "report.md").read_text()
    assert (
        "# brownout verdict: PASS" in markdown
        and "| slow-upstream | latency on upstream | 12.0 | 6.0 |" in markdown
    )
    page = (tmp_path / "report.html").read_text()
    links = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)""", page)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)
    assert "<link" not in page and "<script" not in page


def test_a_fault_that_never_heals_fails_with_exit_1_and_junit_failures(tmp_path):
    stuck = SyntheticRun(
        seconds=30.0, rps=100.0, operations=5, seed=7,
        faults=(SyntheticFault("stuck", 10.0, None, **{**SLOW, "failed_share": 0.9}),),
    )
    write_synthetic_run(tmp_path, stuck)
    done = brownout("report", tmp_path, "--format", "junit,json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout and "stuck: not healed" in done.stdout
    assert sorted(p.name for p in tmp_path.glob("*") if p.suffix in (".xml", ".md", ".html")) == ["junit.xml"]
    failed = {
        c.get("name") for c in ET.parse(tmp_path / "junit.xml").getroot() if c.find("failure") is not None
    }
    assert failed == {"faults", "availability", "recovery"}


def test_criteria_come_from_the_scenario_copy_and_a_criteria_file_overrides_them(tmp_path):
    write_synthetic_run(
        tmp_path, SyntheticRun(**{**RUN.__dict__, "criteria": {"availability_min": 0.95}})
    )
    assert brownout("report", tmp_path, "--format", "json").returncode == 1
    lenient = tmp_path / "lenient.toml"
    lenient.write_text("[criteria]\navailability_min = 0.5\n")
    assert brownout("report", tmp_path, "--criteria", lenient, "--format", "json").returncode == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[criteria]\nbogus = 1\n", "bad.toml: criteria: unknown criterion 'bogus'"),
        ("[criteria]\navailability_min = 'x'\n", "bad.toml: criteria: field 'availability_min': must be a number"),
        ("[criteria\n", "bad.toml: not valid TOML"),
    ],
)
def test_a_bad_criteria_file_exits_2_with_its_name_and_field(tmp_path, content, message):
    write_synthetic_run(tmp_path, SyntheticRun(seconds=5.0))
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    done = brownout("report", tmp_path, "--criteria", bad, "--format", "json")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


HEADER = "t,type,name,ok,degraded,failed,hist\n"
DAMAGED = {
    "missing manifest": ("manifest.json", None, "manifest.json: file is missing"),
    "truncated timeline": (
        "timeline.csv",
        HEADER + "1700000000.0,GET,/a,5,0",
        "timeline.csv, line 2: truncated row",
    ),
    "wrong header": ("users.csv", "time,users,step\n", "users.csv, line 1: wrong header 'time,users,step'"),
    "non-numeric cell": (
        "timeline.csv",
        HEADER + "1700000000.0,GET,/a,5,0,0,20:5\n1700000000.25,GET,/a,five,0,0,20:5\n",
        "timeline.csv, line 3: column 'ok': 'five' is not a non-negative integer",
    ),
    "empty faults": ("faults.csv", "", "faults.csv: file is empty"),
    "unknown version": (
        "manifest.json",
        '{"format": "brownout-results", "format_version": 9, "started_at": 0, "ended_at": 1, '
        '"bucket_s": 0.25}',
        "manifest.json: field 'format_version' is 9: unknown results format version",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_results_directory_exits_2_naming_file_and_line(tmp_path, case):
    write_synthetic_run(tmp_path, SyntheticRun(seconds=5.0))
    name, content, message = DAMAGED[case]
    if content is None:
        (tmp_path / name).unlink()
    else:
        (tmp_path / name).write_text(content)
    done = brownout("report", tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and str(tmp_path / name) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "verdict.json").exists()


def test_a_directory_that_does_not_exist_exits_2(tmp_path):
    done = brownout("report", tmp_path / "nope")
    assert done.returncode == 2 and "not a directory" in done.stderr


def test_criteria_names_that_match_nothing_are_warned_in_every_output_with_the_closest_name(tmp_path):
    criteria = {
        "p95_targets_ms": {"POST /threads/[id]/mesages": 500, "/threads/[id]": 400},  # the second: no type
        "availability_targets": {"slow-upstrem": 0.1},
    }
    write_synthetic_run(tmp_path, SyntheticRun(**{**RUN.__dict__, "criteria": criteria}))
    done = brownout("report", tmp_path)
    warnings = [
        "[criteria] p95_targets_ms: 'POST /threads/[id]/mesages' matches no operation of the run "
        "(did you mean 'POST /threads/[id]/messages'?)",
        "[criteria] availability_targets: 'slow-upstrem' names no fault of the run (did you mean 'slow-upstream'?)",
    ]
    lines = done.stdout.splitlines()
    assert lines[lines.index(f"warning: {warnings[0]}") + 1] == f"warning: {warnings[1]}"
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert (verdict["warnings"], verdict["notes"]) == (warnings, [])
    load = next(check for check in verdict["checks"] if check["name"] == "load")
    assert load["figures"]["steps"][0]["operations"]["GET /threads/[id]"]["p95_target_ms"] == 400
    markdown = (tmp_path / "report.md").read_text()
    assert "## Warnings and notes" in markdown and f"| warning | {warnings[1]} |" in markdown
    assert "slow-upstrem" in (tmp_path / "report.html").read_text()


def test_the_faults_table_shows_each_faults_evidence(tmp_path):
    write_synthetic_run(tmp_path, RUN)
    faults = read_faults(tmp_path)
    answers = [{"inject": {"status": 200, "body": '{"drained": 1}'}}, {"pid": 4242, "pid_after_heal": 4250}]
    (tmp_path / "faults.csv").unlink()
    with FaultsWriter(tmp_path) as writer:
        writer.extend([dataclasses.replace(f, evidence=e) for f, e in zip(faults, answers, strict=True)])
    done = brownout("report", tmp_path, "--format", "md,html")
    assert done.returncode == 0, done.stdout + done.stderr
    markdown = (tmp_path / "report.md").read_text()
    assert "| availability / recovery | evidence |" in markdown
    assert """| pass / pass | inject: 200 '{"drained": 1}' |""" in markdown
    assert "| pass / pass | pid 4242, pid 4250 after heal |" in markdown
    assert "pid 4242, pid 4250 after heal" in (tmp_path / "report.html").read_text()
