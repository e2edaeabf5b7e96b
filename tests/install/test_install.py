"""A normal install is the whole tool: the built wheel, installed (not editable) into a fresh venv outside
the repository, used from another folder: `brownout init` + `brownout run` against Python's http.server
(a service nobody here wrote), and a short run of the sample stack and locustfile shipped inside the package.

Offline-friendly and quick: the wheel is built without build isolation (setuptools from the test venv), and
the new venv reaches the test venv's dependencies (Locust, ...) through a .pth path line written after the
install, so pip installs only brownout itself and the installed copy comes first on sys.path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from brownout.history import load_history
from tests.helpers import REPO_ROOT, free_port, start_process, stop_process

pytestmark = pytest.mark.timeout(300)  # a wheel build and a venv on a busy 2-core machine

SOURCES = ("pyproject.toml", "setup.py", "README.md", "brownout", "targets", "scenarios", "locustfiles")


def _run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BROWNOUT_SCENARIO", "VIRTUAL_ENV")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _copy_sources(dest: Path) -> None:
    """The files a build reads, into a folder of its own: building writes build/ and *.egg-info there."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "results")
    dest.mkdir()
    for name in SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install")
    _copy_sources(root / "src")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-q",
         "-w", str(root / "dist"), str(root / "src")], root, 180,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("brownout-*.whl")
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], root, 120)
    assert made.returncode == 0, made.stderr[-3000:]
    python = root / "venv" / "bin" / "python"
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        root, 180,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root, 30)
                .stdout.strip())  # fmt: skip
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "venv"


def _site_packages(venv: Path) -> Path:
    (site,) = venv.glob("lib/python3*/site-packages")
    return site


def test_the_wheel_ships_brownout_only_with_its_data_inside(venv: Path) -> None:
    site = _site_packages(venv)
    top_level = sorted(p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".pth")))
    assert top_level == ["brownout"], top_level
    data = site / "brownout" / "_data"
    for shipped in ("scenarios/default.toml", "scenarios/smoke.toml", "locustfiles/recovery.py",
                    "targets/sample/stack.toml", "targets/sample/gateway/app.py"):  # fmt: skip
        assert (data / shipped).is_file(), shipped
    where = _run([str(venv / "bin" / "python"), "-c", "import brownout; print(brownout.__file__)"], venv, 30)
    assert where.stdout.strip() == str(site / "brownout" / "__init__.py")


def test_a_starter_runs_against_a_service_nobody_here_wrote(venv: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "index.html").write_text("<p>hello</p>\n")
    port = free_port()
    server = start_process(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(served)],
        f"http://127.0.0.1:{port}/", tmp_path / "http.log",
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    try:
        init = _run([str(venv / "bin" / "brownout"), "init", "svc", "--host", f"http://127.0.0.1:{port}"], work, 30)
        assert init.returncode == 0, init.stderr
        assert {p.name for p in (work / "svc").iterdir()} == {"scenario.toml", "locustfile.py", "stack.toml"}
        run = _run([str(venv / "bin" / "brownout"), "run", "svc/scenario.toml"], work, 120)
    finally:
        stop_process(server)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    (results,) = [p for p in (work / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    verdict = json.loads((results / "verdict.json").read_text())
    assert verdict["verdict"] == "pass", verdict
    assert load_history(results).timeline.operations == ["GET /"]
    assert "brownout run: exit code 0" in run.stdout
    assert "Shutting down (exit code" not in output  # Locust's own exit code is not brownout's


def test_the_shipped_sample_stack_locustfile_and_audit_run_from_the_installed_package(
    venv: Path, tmp_path: Path
) -> None:
    unknown = _run([str(venv / "bin" / "brownout"), "run", "nope"], tmp_path, 60)
    assert unknown.returncode == 2
    assert "nope: no such scenario file, and no shipped scenario of that name (shipped: ci, default," in unknown.stderr
    # No [stack] and no locustfile: the sample stack and the sample locustfile shipped in the package.
    scenario = tmp_path / "short.toml"
    scenario.write_text(
        '[load]\nusers = { ChatUser = 2, WorkflowUser = 1 }\n'
        'steps = [{ users = 3, spawn_rate = 3, duration = "6s" }]\n'
    )
    run = _run([str(venv / "bin" / "brownout"), "run", "short.toml", "--no-report"], tmp_path, 150)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    (results,) = [p for p in (tmp_path / "results").iterdir() if p.is_dir() and not p.is_symlink()]
    history = load_history(results)
    assert "/threads/[id]/messages" in " ".join(history.timeline.operations)
    integrity = history.integrity
    assert integrity is not None and integrity.verified, integrity
    assert integrity.kinds["messages"].acknowledged > 0 and (integrity.lost, integrity.unverifiable) == (0, 0)
    assert history.manifest.git_rev == ""  # installed: no revision to report
    report = _run([str(venv / "bin" / "brownout"), "report", str(results)], tmp_path, 60)
    assert " git " not in (results / "report.md").read_text(), report.stdout
