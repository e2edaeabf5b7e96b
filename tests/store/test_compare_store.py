"""`brownout compare --store STORE CANDIDATE`: judged against the baseline release's stored runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.compare.verdict import NOT_JUDGED, REGRESSED, SAME
from tests.compare.helpers import rows, run_compare
from tests.store.helpers import locust_set, store_add, synthetic_run


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five runs of v1; two runs of v2 (too few to know its noise)."""
    root = tmp_path_factory.mktemp("store")
    path = root / "runs.db"
    assert store_add(path, *(synthetic_run(root / f"v1-{i}", i) for i in range(5)), release="v1") == 0
    assert store_add(path, *(synthetic_run(root / f"v2-{i}", 10 + i) for i in range(2)), release="v2") == 0
    return path


def test_a_slower_build_is_flagged_against_the_history(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = synthetic_run(tmp_path / "slow", 50, slowdown=2.0)
    code, out, _ = run_compare(capsys, "--store", store, slow, "--baseline-release", "v1", "--out", tmp_path / "o")
    assert code == 1
    table = rows(tmp_path / "o")
    assert table[("Aggregated", "p50")]["verdict"] == REGRESSED
    assert table[("Aggregated", "p50")]["method"].startswith("prediction interval over 5 runs of v1")
    assert "5 runs of release v1" in out


def test_the_same_build_is_quiet(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = synthetic_run(tmp_path / "same", 51)
    code, _, _ = run_compare(capsys, "--store", store, same, "--baseline-release", "v1", "--out", tmp_path / "o")
    assert code == 0
    assert {row["verdict"] for row in rows(tmp_path / "o").values()} == {SAME}


def test_too_few_runs_say_noise_unknown_on_every_row(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = synthetic_run(tmp_path / "slow", 52, slowdown=2.0)
    # default baseline: the newest release other than the candidate's (synthetic runs are labelled "synthetic")
    code, out, _ = run_compare(capsys, "--store", store, slow, "--out", tmp_path / "o")
    assert code == 0
    judged = [row for row in rows(tmp_path / "o").values() if row["scope_kind"] != "integrity"]
    assert {row["verdict"] for row in judged} == {NOT_JUDGED}
    assert all(row["method"].startswith("between-run noise unknown: 2 runs of v2") for row in judged)
    assert "between-run noise unknown: only 2 run(s) of release v2" in out


def test_the_candidate_is_never_its_own_baseline(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = synthetic_run(tmp_path / "v1-extra", 53)
    assert (
        store_add(
            store.parent / "copy.db", *(synthetic_run(tmp_path / f"c{i}", 60 + i) for i in range(2)), run, release="v1"
        )
        == 0
    )
    _, out, _ = run_compare(
        capsys, "--store", store.parent / "copy.db", run, "--baseline-release", "v1", "--out", tmp_path / "o"
    )
    assert rows(tmp_path / "o")[("Aggregated", "p50")]["method"].startswith("between-run noise unknown: 2 runs of v1")
    assert "only 2 run(s) of release v1" in out  # the note counts without the candidate too


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline-release", "v9"], "--baseline-release v9: not in"),
        (["extra-baseline"], "give only the CANDIDATE"),
    ],
)
def test_bad_store_arguments_exit_2(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    run = synthetic_run(tmp_path / "run", 54)
    code, _, err = run_compare(capsys, "--store", store, run, *args)
    assert code == 2 and message in err


def test_baseline_release_needs_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = synthetic_run(tmp_path / "run", 55)
    code, _, err = run_compare(capsys, run, run, "--baseline-release", "v1")
    assert code == 2 and "--baseline-release needs --store" in err


def test_plain_locust_sets_from_any_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "kinto.db"
    sets = [locust_set(tmp_path / f"k{i}" / "run", p50=p50) for i, p50 in enumerate((20, 21, 19, 20))]
    assert store_add(store, *sets, release="kinto-19") == 0
    slow, same = (
        locust_set(tmp_path / "slow" / "run", p50=40),
        locust_set(tmp_path / "same" / "run", p50=21, requests=990),
    )
    assert run_compare(capsys, "--store", store, slow, "--out", tmp_path / "o")[0] == 1
    assert rows(tmp_path / "o")[("GET /a", "p50")]["verdict"] == REGRESSED
    assert run_compare(capsys, "--store", store, same, "--out", tmp_path / "o")[0] == 0
