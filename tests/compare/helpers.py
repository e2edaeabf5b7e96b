"""Run `brownout compare` as the CLI does (in-process, through brownout.cli) and read what it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brownout.cli import main as brownout_main


def run_compare(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = brownout_main(["compare", *(str(a) for a in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    document = json.loads((out_dir / "comparison.json").read_text())
    return {(row["scope"], row["metric"]): row for row in document["rows"]}
