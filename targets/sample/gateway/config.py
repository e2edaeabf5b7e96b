"""Gateway configuration: command-line flags -> a frozen dataclass. Defaults are documented in the README."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from targets.sample.gateway.clients import DependencySettings


@dataclass(frozen=True)
class GatewayConfig:
    port: int
    data_dir: Path
    upstream: DependencySettings
    notifier: DependencySettings
    admin_token: str | None
    outbox_interval_s: float = 0.5
    maintenance_interval_s: float = 5.0
    log_level: str = "INFO"


def _positive(kind: type[float] | type[int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m targets.sample.gateway",
        description="The sample target's gateway: JSON API + WebSocket streams over SQLite, on 127.0.0.1.",
    )
    p.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free port)")
    p.add_argument("--data-dir", type=Path, required=True, help="directory for the SQLite store (gateway.db)")
    p.add_argument("--upstream-url", required=True, help="base URL of the model provider")
    p.add_argument("--notifier-url", required=True, help="base URL of the notifier")
    p.add_argument("--admin-token", default=None, help="admin API token (default: env BROWNOUT_TOKEN)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    float_ = _positive(float)
    int_ = _positive(int)
    p.add_argument("--upstream-timeout", type=float_, default=2.0, help="seconds per upstream attempt (2.0)")
    p.add_argument("--notifier-timeout", type=float_, default=1.0, help="seconds per notifier attempt (1.0)")
    p.add_argument("--retry-attempts", type=int_, default=3, help="attempts per call, first included (3)")
    p.add_argument(
        "--retry-deadline", type=float_, default=5.0, help="seconds for all attempts of a call (5.0)"
    )
    p.add_argument("--retry-initial-wait", type=float_, default=0.05, help="first backoff, seconds (0.05)")
    p.add_argument("--retry-max-wait", type=float_, default=1.0, help="longest backoff, seconds (1.0)")
    p.add_argument("--breaker-fail-max", type=int_, default=5, help="failures that open a breaker (5)")
    p.add_argument(
        "--breaker-reset-timeout", type=float_, default=5.0, help="seconds a breaker stays open (5)"
    )
    p.add_argument("--bulkhead-size", type=int_, default=64, help="concurrent upstream calls (64)")
    p.add_argument("--bulkhead-timeout", type=float_, default=0.05, help="seconds to wait for a slot (0.05)")
    p.add_argument("--outbox-interval", type=float_, default=0.5, help="seconds between outbox rounds (0.5)")
    return p


def parse_config(argv: list[str] | None) -> GatewayConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--data-dir {args.data_dir}: {exc.strerror}")
    for flag, url in (("--upstream-url", args.upstream_url), ("--notifier-url", args.notifier_url)):
        if not url.startswith(("http://", "https://")):
            parser.error(f"{flag} must be an http:// URL, got {url!r}")

    def dependency(name: str, url: str, timeout_s: float, bulkhead_size: int) -> DependencySettings:
        return DependencySettings(
            name=name,
            base_url=url,
            timeout_s=timeout_s,
            retry_attempts=args.retry_attempts,
            retry_deadline_s=args.retry_deadline,
            retry_initial_wait_s=args.retry_initial_wait,
            retry_max_wait_s=args.retry_max_wait,
            breaker_fail_max=args.breaker_fail_max,
            breaker_reset_timeout_s=args.breaker_reset_timeout,
            bulkhead_size=bulkhead_size,
            bulkhead_timeout_s=args.bulkhead_timeout,
        )

    token = args.admin_token or os.environ.get("BROWNOUT_TOKEN") or None
    return GatewayConfig(
        port=args.port,
        data_dir=args.data_dir,
        upstream=dependency("upstream", args.upstream_url, args.upstream_timeout, args.bulkhead_size),
        notifier=dependency("notifier", args.notifier_url, args.notifier_timeout, 0),
        admin_token=token,
        outbox_interval_s=args.outbox_interval,
        log_level=args.log_level,
    )
