"""integrity.json: what became of every acknowledged write, per kind, and of the streams.

Kinds are whatever a locustfile acknowledged (`brownout.acknowledge(env, "records", id)`); the sample's
"messages" and "workflows" are kinds like any other. Besides lost / duplicated / unverifiable writes, an
audit may find things that must not exist for a kind (the sample's half-done workflows and leaked
reservations): those are the kind's named `violations`, each a count the integrity check wants at 0.

Results format 1 wrote the sample's nouns as fields and counted lost / duplicated / unverifiable over all
kinds together; brownout.history.readers turns such a file into this record without guessing which kind lost what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KindIntegrity:
    """One kind's acknowledged writes as the read-back after the heal found them."""

    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    unverifiable: int = 0
    lost_ids: tuple[str, ...] = ()  # the first ids only (the counts are complete)
    duplicated_ids: tuple[str, ...] = ()
    # Named counts of things the audit found that must not exist ("half-done workflows"): a plural noun
    # phrase, since checks and reports print it after the count ("1 leaked reservations (max 0)").
    violations: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unverifiable": self.unverifiable,
            "lost_ids": list(self.lost_ids),
            "duplicated_ids": list(self.duplicated_ids),
            "violations": dict(self.violations),
        }


@dataclass(frozen=True)
class StreamIntegrity:
    """Sequence-numbered streams as the stream users saw them: events missed and events seen twice."""

    users: int = 0
    gaps: int = 0
    duplicates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"users": self.users, "gaps": self.gaps, "duplicates": self.duplicates}


@dataclass(frozen=True)
class Integrity:
    verified: bool
    error: str | None = None
    kinds: Mapping[str, KindIntegrity] = field(default_factory=dict)  # in the order reports list them
    stream: StreamIntegrity = StreamIntegrity()
    # Only in a record read from format 1, which counted lost / duplicated / unverifiable over all kinds:
    # the counts stay here rather than be pinned on a kind they may not belong to. Brownout never writes it.
    unattributed: KindIntegrity = KindIntegrity()

    @property
    def _parts(self) -> tuple[KindIntegrity, ...]:
        return (*self.kinds.values(), self.unattributed)

    @property
    def acknowledged_total(self) -> int:
        return sum(part.acknowledged for part in self._parts)

    @property
    def lost(self) -> int:
        return sum(part.lost for part in self._parts)

    @property
    def duplicated(self) -> int:
        return sum(part.duplicated for part in self._parts)

    @property
    def unverifiable(self) -> int:
        return sum(part.unverifiable for part in self._parts)

    @property
    def lost_ids(self) -> list[str]:
        return [i for part in self._parts for i in part.lost_ids]

    @property
    def violations(self) -> dict[str, int]:
        """Every kind's violations by name (a name two kinds share is summed), in the kinds' order."""
        return merge_counts(part.violations for part in self._parts)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "verified": self.verified,
            "error": self.error,
            "kinds": {kind: counts.to_json() for kind, counts in self.kinds.items()},
            "stream": self.stream.to_json(),
        }
        if self.unattributed != KindIntegrity():
            document["unattributed"] = self.unattributed.to_json()
        return document


def merge_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Named counts added up by name, in the order the names first appear (runs pooled, kinds merged)."""
    total: dict[str, int] = {}
    for named in counts:
        for name, count in named.items():
            total[name] = total.get(name, 0) + count
    return total
