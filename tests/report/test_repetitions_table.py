"""The report's "Repeated faults" table: each repeated fault's median (min-max) over its windows."""

from pathlib import Path

from bench.synthetic import SyntheticFault, SyntheticRun, write_synthetic_run
from brownout.checks import Criteria, judge
from brownout.history import load_history
from brownout.report.tables import all_tables, repetitions_table

RUN = SyntheticRun(
    seconds=80.0,
    rps=100.0,
    faults=(
        SyntheticFault("flap", 10.0, 15.0, recovery_s=1.0),
        SyntheticFault("flap#2", 25.0, 30.0, recovery_s=2.5),
        SyntheticFault("flap#3", 40.0, 45.0, recovery_s=1.5),
        SyntheticFault("once", 60.0, 64.0, recovery_s=2.0),
    ),
)


def test_a_repeated_fault_shows_the_spread_of_its_windows_and_a_single_fault_is_left_out(tmp_path: Path) -> None:
    history = load_history(write_synthetic_run(tmp_path, RUN))
    verdict = judge(history, Criteria.from_mapping({}, source="test"))
    table = repetitions_table(verdict)
    assert table.header == ("fault", "windows", "availability", "recovery s", "detection s", "retry amplification")
    assert table.rows == (("flap", "3", "70.0% (67.9%-71.9%)", "1.5 (1.0-2.5)", "0.0 (0.0-0.0)", "2.60 (2.60-2.60)"),)
    assert "Repeated faults" in [t.title for t in all_tables(verdict, history.manifest.started_at)]


def test_no_repeated_fault_no_table(tmp_path: Path) -> None:
    run = SyntheticRun(seconds=40.0, rps=100.0, faults=(SyntheticFault("once", 10.0, 14.0),))
    history = load_history(write_synthetic_run(tmp_path, run))
    verdict = judge(history, Criteria.from_mapping({}, source="test"))
    assert "Repeated faults" not in [t.title for t in all_tables(verdict, history.manifest.started_at)]
