"""Variant B of the plugin benchmark: the same user with the brownout plugin active.

Importing `brownout.plugin.hooks` registers the plugin: its request listener records every request into the
timeline and its session writes results (timeline, users, telemetry, manifest) to `--brownout-out`.
"""

import brownout.plugin.hooks  # noqa: F401  (registers the plugin)
from bench.plugin_support.user import BenchUser

__all__ = ["BenchUser"]
