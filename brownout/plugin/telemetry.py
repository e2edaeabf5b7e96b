"""Scrapes the target's Prometheus `/metrics` into telemetry.csv rows (long format: one row per sample)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests
from prometheus_client.parser import text_string_to_metric_families

from brownout.history import TelemetryRow, TelemetryWriter
from brownout.net.loopback import session_for

log = logging.getLogger(__name__)


def parse_metrics(text: str, t: float, source: str, keep: Callable[[str], bool]) -> list[TelemetryRow]:
    """Samples of the families `keep` accepts; `_created` timestamps are bookkeeping, not telemetry."""
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created") or not keep(sample.name):
                continue
            rows.append(TelemetryRow(t, source, sample.name, dict(sample.labels), float(sample.value)))
    return rows


# prometheus-client's default collectors: the scraped process's own runtime, not the service's behaviour.
_RUNTIME_PREFIXES = ("python_", "process_")


def is_service_metric(name: str) -> bool:
    return not name.startswith(_RUNTIME_PREFIXES)


class MetricsScraper:
    """One scrape per call; a target that is down (it may be the fault) is skipped, not an error."""

    def __init__(
        self,
        url: str,
        source: str,
        writer: TelemetryWriter,
        keep: Callable[[str], bool],
        timeout: float = 0.8,
    ) -> None:
        self.url = url
        self.source = source
        self.writer = writer
        self.keep = keep
        self.timeout = timeout
        self._session = session_for(url)
        self.failures = 0

    def scrape(self, now: float) -> int:
        try:
            response = self._session.get(self.url, timeout=self.timeout)
            response.raise_for_status()
        except requests.RequestException as exc:
            self.failures += 1
            log.debug("telemetry scrape of %s failed: %s", self.url, exc)
            return 0
        rows = parse_metrics(response.text, now, self.source, self.keep)
        self.writer.extend(rows)
        self.writer.flush()
        return len(rows)

    def close(self) -> None:
        self._session.close()
