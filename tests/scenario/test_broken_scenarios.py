"""Every file in broken/ is a distinct scenario mistake; each must be refused before anything starts with
its precise message (file, fault, field) and exit code 2 from the real CLI, never a traceback."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.scenario.schema import load_scenario
from tests.helpers import BROWNOUT, REPO_ROOT

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.toml"))


def _expected(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    fragments = [line.removeprefix("# expect:").strip() for line in lines if line.startswith("# expect:")]
    assert fragments, f"{path.name} has no '# expect:' line"
    return fragments


def test_the_corpus_covers_at_least_fifteen_mistakes() -> None:
    assert len(BROKEN) >= 15
    assert len({tuple(_expected(path)) for path in BROKEN}) == len(BROKEN)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_parser_names_file_fault_and_field(path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    for fragment in _expected(path):
        assert fragment in str(caught.value)


def test_cli_refuses_every_broken_file_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    def _run(path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
        argv = [*BROWNOUT, "faults", "run", str(path), "--no-stack", "--out", str(tmp_path / path.stem)]
        return path, subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_run, BROKEN))
    for path, done in results:
        assert done.returncode == 2, f"{path.name}: exit {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{path.name}:\n{done.stderr}"
        for fragment in _expected(path):
            assert fragment in done.stderr, f"{path.name}: {fragment!r} not in:\n{done.stderr}"
        assert not (tmp_path / path.stem).exists(), f"{path.name}: something ran before validation"
