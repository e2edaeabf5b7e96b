"""bench.kinto's judging half on synthetic runs (the measuring half needs Kinto and minutes): a store of the
base runs, each candidate alone through `brownout compare --store`, the false alarms counted, the rows' spread
shown; and the Kinto config it writes for each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.kinto.__main__ import judge
from bench.kinto.server import write_config
from tests.store.helpers import synthetic_run


def test_judge_counts_flagged_candidates_and_shows_the_spread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(5):
        synthetic_run(tmp_path / "base" / f"r{i}", i)
    synthetic_run(tmp_path / "candidate" / "c1", 10)
    synthetic_run(tmp_path / "candidate" / "c2", 11, slowdown=3.0)
    assert judge(tmp_path) == 1
    out = capsys.readouterr().out
    assert "store: 5 runs of release base; 2 candidates" in out
    assert "  c1: exit 0" in out and "  c2: exit 1" in out and "Aggregated p50" in out.split("  c2: exit 1")[1]
    assert "same-build false alarms: 1 of 2" in out
    spread = out.split("row: baseline runs")[1].splitlines()
    assert spread[1].startswith("  Aggregated p50: ") and spread[1].endswith("| 1 of 2")
    assert (tmp_path / "compare" / "c2" / "comparison.json").is_file()


def test_the_config_names_the_backend_and_its_url(tmp_path: Path) -> None:
    text = write_config(tmp_path, "postgresql", "postgresql://gateway@127.0.0.1:5999/gateway").read_text()
    assert "kinto.storage_backend = kinto.core.storage.postgresql" in text
    assert "kinto.permission_url = postgresql://gateway@127.0.0.1:5999/gateway" in text
    assert "multiauth.policies = basicauth" in text
    assert "kinto.cache_backend = kinto.core.cache.memory" in write_config(tmp_path, "memory", "").read_text()
