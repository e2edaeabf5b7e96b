"""How long a latency toxic holds a chunk: Toxiproxy's uniform jitter, or a distribution with a tail.

Without brownout's attributes it is Toxiproxy's: `latency` +/- a uniform `jitter` (and the same single
random draw, so a seeded run rolls as before). `distribution = "normal"` takes `p50` (or `latency`) as the
mean and a spread from `p99` (or `jitter` as the standard deviation); "lognormal" and "pareto" are fitted
to `p50` and `p99` exactly, so a tail is described as users see it. `p99` without a distribution means
lognormal. Draws come from the module's `random`, which `brownout proxy --seed` seeds.
"""

from __future__ import annotations

import math
import random
from typing import Any

from brownout.proxy.toxics import ToxicSpec

Z99 = 2.3263478740408408  # the standard normal's 99th percentile


def distribution_of(toxic: ToxicSpec) -> str:
    kind = str(toxic.attributes.get("distribution", ""))
    if kind in ("", "uniform") and toxic.attributes.get("p99"):
        return "lognormal"
    return kind or "uniform"


def latency_seconds(toxic: ToxicSpec, rng: random.Random | None = None) -> float:
    """One draw of a latency toxic's delay, in seconds (never negative)."""
    choose: Any = rng or random  # the module's functions: the generator --seed seeds
    kind = distribution_of(toxic)
    if kind == "uniform":
        jitter = toxic.seconds("jitter")
        return max(0.0, toxic.seconds("latency") + (choose.uniform(-jitter, jitter) if jitter else 0.0))
    p50 = toxic.seconds("p50") or toxic.seconds("latency")
    p99 = toxic.seconds("p99")
    if kind == "normal":
        spread = (p99 - p50) / Z99 if p99 > p50 else toxic.seconds("jitter")
        return max(0.0, choose.gauss(p50, spread))
    if kind == "lognormal":
        return p50 * math.exp(choose.gauss(0.0, math.log(p99 / p50) / Z99))
    alpha = math.log(50.0) / math.log(p99 / p50)  # pareto: p99 / p50 = 50 ** (1 / alpha)
    return p50 / 2.0 ** (1.0 / alpha) / (1.0 - choose.random()) ** (1.0 / alpha)
