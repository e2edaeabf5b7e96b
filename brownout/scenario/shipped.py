"""Where brownout's shipped files are: the sample target and its stack files, the scenarios, the locustfiles.

A wheel carries them as package data under `brownout/_data/` (setup.py maps the repository's top-level
`targets/`, `scenarios/` and `locustfiles/` there, so no generic top-level package lands in site-packages);
a source checkout (the editable install of `make`) has them at the repository's top level. The folders keep
their relative layout either way, so a scenario's `../targets/sample/stack.toml` and the stack's
`cwd = "../.."` with `python -m targets.sample...` work in both.
"""

from __future__ import annotations

from pathlib import Path

from brownout.errors import InputError

_PACKAGE = Path(__file__).resolve().parents[1]  # brownout/, this module being brownout/scenario/shipped.py
_INSTALLED = _PACKAGE / "_data"

ROOT = _INSTALLED if _INSTALLED.is_dir() else _PACKAGE.parent
SCENARIOS = ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIOS / "default.toml"
SAMPLE_STACK = ROOT / "targets" / "sample" / "stack.toml"
DEFAULT_LOCUSTFILE = ROOT / "locustfiles" / "recovery.py"


def source_checkout() -> Path | None:
    """The repository brownout runs from, or None when it is installed (no git revision to report then)."""
    if ROOT is _INSTALLED or not (ROOT / ".git").exists():
        return None
    return ROOT


def shipped_scenarios() -> list[str]:
    return sorted(path.stem for path in SCENARIOS.glob("*.toml"))


def scenario_file(text: str) -> Path:
    """A scenario given as a path, or by the name of a shipped one (`smoke`, `smoke.toml`).

    A file of that name in the current directory wins over a shipped scenario.
    """
    path = Path(text)
    if path.is_file():
        return path
    if path.parent == Path(".") and path.suffix in ("", ".toml"):
        shipped = SCENARIOS / f"{path.stem}.toml"
        if shipped.is_file():
            return shipped
    raise InputError(
        f"{text}: no such scenario file, and no shipped scenario of that name "
        f"(shipped: {', '.join(shipped_scenarios()) or 'none'})"
    )
