"""Every command-line argument is checked before anything starts: exit 2, one line naming the argument."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from brownout.arguments import http_url, non_negative_int, port, positive_seconds, writable_dir
from tests.helpers import BROWNOUT, REPO_ROOT


def _brownout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BROWNOUT, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (["run", "scenarios/smoke.toml", "--out", "/proc/forbidden"], "--out"),
        (["run", "scenarios/smoke.toml", "--host", "notaurl"], "--host"),
        (["run", "scenarios/smoke.toml", "--host", "http://127.0.0.1:99999"], "--host"),
        (["run", "scenarios/smoke.toml", "--workers", "-1"], "--workers"),
        (["run", "scenarios/smoke.toml", "--web-port", "70000", "--ui"], "--web-port"),
        (["run", "scenarios/smoke.toml", "--locustfile", "nosuch.py"], "--locustfile"),
        (["run", "scenarios/smoke.toml", "--faults", "nosuch"], "--faults"),
        (["proxy", "--port", "99999"], "--port"),
        (["proxy", "--port", "eighty"], "--port"),
        (["stack", "up", "--run-dir", "/proc/forbidden"], "--run-dir"),
        (["stack", "down", "--run-dir", "results/none", "--timeout", "-1"], "--timeout"),
        (["faults", "run", "scenarios/smoke.toml", "--out", "/proc/forbidden"], "--out"),
        (["compare", "a", "b", "--out", "/proc/forbidden"], "--out"),
    ],
)
def test_a_bad_argument_exits_2_with_one_line_naming_it(args: list[str], argument: str, tmp_path: Path) -> None:
    done = _brownout(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and argument in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_converters_answer_the_value_or_say_what_is_wrong(tmp_path: Path) -> None:
    assert (port("0"), port("65535"), non_negative_int("0"), positive_seconds("0.5")) == (0, 65535, 0, 0.5)
    assert http_url("http://127.0.0.1:8080/base") == "http://127.0.0.1:8080/base"
    assert writable_dir(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == []  # the probe leaves nothing
    for convert, text in [
        (port, "-1"), (port, "65536"), (port, "1.5"), (non_negative_int, "-3"), (positive_seconds, "0"),
        (positive_seconds, "nan"), (http_url, "127.0.0.1:8080"), (http_url, "ftp://host/"), (http_url, "http://"),
        (writable_dir, "/proc/forbidden"), (writable_dir, ""),
    ]:  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError):
            convert(text)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(argparse.ArgumentTypeError, match="not a directory"):
        writable_dir(str(blocker / "sub"))
