"""Variant A of the plugin benchmark: the bare user, no brownout."""

from bench.plugin_support.user import BenchUser

__all__ = ["BenchUser"]
