"""What the users were told: acknowledged writes and stream tallies, merged across workers.

Workers drain their ledger into each report to the master (Locust's `report_to_master`), so the master
holds the union when the run ends and the integrity audit reads back everything any user saw acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamTally:
    users: int = 0
    gaps: int = 0
    duplicates: int = 0


@dataclass
class Ledger:
    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # kind (free-form) -> ids
    stream: StreamTally = field(default_factory=StreamTally)

    def acknowledge(self, kind: str, ident: object) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"acknowledge: the kind must be a non-empty string (e.g. 'records'), got {kind!r}")
        self.acknowledged.setdefault(kind, []).append(str(ident))

    def record_stream(self, gaps: int, duplicates: int) -> None:
        self.stream.users += 1
        self.stream.gaps += gaps
        self.stream.duplicates += duplicates

    def drain(self) -> dict[str, Any]:
        payload = {
            "acknowledged": self.acknowledged,
            "stream": [self.stream.users, self.stream.gaps, self.stream.duplicates],
        }
        self.acknowledged = {}
        self.stream = StreamTally()
        return payload

    def merge(self, payload: dict[str, Any]) -> None:
        for kind, idents in payload.get("acknowledged", {}).items():
            self.acknowledged.setdefault(kind, []).extend(idents)
        users, gaps, duplicates = payload.get("stream", (0, 0, 0))
        self.stream.users += users
        self.stream.gaps += gaps
        self.stream.duplicates += duplicates
