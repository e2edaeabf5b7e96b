"""Real Locust CSV sets, made once per session: a baseline, a second run of the same build, and a run
against a build with 30 % injected slowness, all three at the same time against two local apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.plain_runs import plain_app, run_locust_concurrently

# 200 ms: Locust rounds to 10 ms above 100 ms, so scheduling jitter of a few ms on a busy machine
# rarely moves a percentile, while 30 % (260 ms) moves every one.
BASE_DELAY_MS = 200.0
SLOW_DELAY_MS = BASE_DELAY_MS * 1.3


@pytest.fixture(scope="session")
def locust_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> Locust --csv prefix for "base", "same" (same build again) and "slow"."""
    root = tmp_path_factory.mktemp("locust_sets")
    prefixes = {name: root / name / name for name in ("base", "same", "slow")}
    with plain_app(BASE_DELAY_MS) as base_url, plain_app(SLOW_DELAY_MS) as slow_url:
        run_locust_concurrently(
            {prefixes["base"]: base_url, prefixes["same"]: base_url, prefixes["slow"]: slow_url}
        )
    return prefixes


@pytest.fixture(scope="session")
def synthetic_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Brownout results directories: two samples of one build, one 20 % slower, one with a lost write."""
    from bench.synthetic import SyntheticFault, write_synthetic_run

    root = tmp_path_factory.mktemp("synthetic")
    fault = (SyntheticFault("upstream-down", 40.0, 55.0),)
    return {
        "base": write_synthetic_run(root / "base", seed=1, faults=fault),
        "same": write_synthetic_run(root / "same", seed=2, faults=fault),
        "slow": write_synthetic_run(root / "slow", seed=3, faults=fault, slowdown=1.2),
        "lossy": write_synthetic_run(root / "lossy", seed=4, faults=fault, lost=2),
        "other_fault": write_synthetic_run(
            root / "other_fault", seed=5, faults=(SyntheticFault("notifier-down", 40.0, 55.0),)
        ),
    }
