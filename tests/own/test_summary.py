"""What a user reads after a run: a fault that could not be injected is reported as such (it has no fault
window to judge), and the report header leaves out a git revision it does not know."""

from __future__ import annotations

from dataclasses import replace

from brownout.checks.availability import check_availability
from brownout.checks.criteria import Criteria
from brownout.checks.journal import check_faults
from brownout.checks.result import Status
from brownout.checks.verdict import judge
from brownout.history import FaultRow
from brownout.report.markdown import render_markdown
from tests.checks.checks_literals import history, rows


def test_a_fault_whose_injection_failed_has_no_window_and_is_reported_as_not_injected() -> None:
    # The scheduler journals the attempt's times even when the inject fails.
    failed = FaultRow("db-down", "database", "network", {}, 10.0, 15.0, 10.0, 10.01, "inject-failed",
                      "the fault proxy has no proxy named 'database'")  # fmt: skip
    runs = history(rows(0, 40), [failed])
    availability = check_availability(runs, Criteria())
    assert (availability.status, availability.reasons) == (Status.PASS, ())
    faults = check_faults(runs, Criteria())
    assert faults.status is Status.UNKNOWN
    assert faults.reasons == (
        "db-down (network on database) was inject-failed: the fault proxy has no proxy named 'database'",
    )


def test_the_report_header_names_a_git_revision_only_when_there_is_one() -> None:
    runs = history(rows(0, 40))
    verdict = judge(runs, Criteria())
    without = render_markdown(verdict, runs).splitlines()[2]
    assert "git" not in without and without.endswith("locust ?.")
    with_rev = replace(runs, manifest=replace(runs.manifest, git_rev="0123456789abcdef"))
    assert render_markdown(verdict, with_rev).splitlines()[2].endswith("git 0123456789ab.")
