"""Gateway configuration: command-line flags -> a frozen dataclass. Defaults are documented in the README."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from targets.sample.gateway.clients import DependencySettings


@dataclass(frozen=True)
class PostgresSettings:
    """The PostgreSQL store as a dependency: a bounded pool, per-attempt timeout, retries, a breaker."""

    url: str  # postgresql://user@127.0.0.1:5432/database
    pool_size: int = 16
    pool_timeout_s: float = 0.5  # wait this long for a free connection, then fail fast
    timeout_s: float = 3.0  # one attempt: connect + transaction, or one read
    retry_attempts: int = 3
    retry_deadline_s: float = 5.0
    retry_initial_wait_s: float = 0.05
    retry_max_wait_s: float = 0.5
    breaker_fail_max: int = 5
    breaker_reset_timeout_s: float = 2.0


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
    postgres: PostgresSettings | None = None  # None: the SQLite store in data_dir


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
        description="The sample target's gateway: JSON API + WebSocket streams over SQLite or PostgreSQL.",
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
    db = p.add_argument_group("store")
    db.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite", help="where data lives (sqlite)")
    db.add_argument("--postgres-url", default=None, help="postgresql://USER@HOST:PORT/DB (with --store postgres)")
    db.add_argument("--store-pool-size", type=int_, default=16, help="PostgreSQL connections at most (16)")
    db.add_argument("--store-pool-timeout", type=float_, default=0.5, help="seconds to wait for one (0.5)")
    db.add_argument("--store-timeout", type=float_, default=3.0, help="seconds per store attempt (3.0)")
    db.add_argument("--store-retry-deadline", type=float_, default=5.0, help="seconds for all attempts (5.0)")
    db.add_argument("--store-breaker-reset-timeout", type=float_, default=2.0, help="seconds open (2.0)")
    return p


def _postgres(parser: argparse.ArgumentParser, args: argparse.Namespace) -> PostgresSettings | None:
    if args.store == "sqlite":
        if args.postgres_url:
            parser.error("--postgres-url needs --store postgres")
        return None
    url = args.postgres_url or ""
    if not url.startswith(("postgresql://", "postgres://")):
        parser.error(f"--store postgres needs --postgres-url postgresql://USER@HOST:PORT/DB, got {url!r}")
    return PostgresSettings(
        url=url,
        pool_size=args.store_pool_size,
        pool_timeout_s=args.store_pool_timeout,
        timeout_s=args.store_timeout,
        retry_attempts=args.retry_attempts,
        retry_deadline_s=args.store_retry_deadline,
        breaker_fail_max=args.breaker_fail_max,
        breaker_reset_timeout_s=args.store_breaker_reset_timeout,
    )


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
        postgres=_postgres(parser, args),
    )
