"""`partition` faults: every proxied edge between the named components cut at once, all healed together.

Each edge is one proxy of the fault proxy, driven as a `network` fault would drive it (ToxiproxyDriver):
direction "both" disables the proxy (connections refused, open ones closed); "upstream" / "downstream"
adds a `timeout` toxic of 0 ms on that stream only, so that direction's data is dropped while the
connection stays open, as on a one-way lost route. The evidence lists each edge with its traffic.
"""

from __future__ import annotations

from brownout.errors import FaultError
from brownout.faults.drivers.base import Evidence
from brownout.faults.drivers.toxiproxy import ToxiproxyDriver
from brownout.faults.kinds import Edge, NetworkParams, PartitionParams


def edge_params(edge: Edge, direction: str) -> NetworkParams:
    """What a partition does to one edge's proxy."""
    if direction == "both":
        return NetworkParams(proxy=edge.proxy, down=True)
    return NetworkParams(proxy=edge.proxy, toxic="timeout", attributes=(("timeout", 0),), stream=direction)


class PartitionDriver:
    def __init__(self, api_url: str, params: PartitionParams, fault_name: str, token: str | None = None) -> None:
        if not params.edges:
            raise FaultError(f"fault {fault_name!r}: a partition without edges (its scenario was read without a stack)")
        self.params = params
        self.fault_name = fault_name
        self._edges = [
            (edge, ToxiproxyDriver(api_url, edge_params(edge, params.direction), fault_name, token))
            for edge in params.edges
        ]
        self._at_inject: dict[str, Evidence] = {}  # per proxy, merged with its window at the heal

    @staticmethod
    def _entry(edge: Edge, found: Evidence | None) -> Evidence:
        return {"proxy": edge.proxy, "from": edge.client, "to": edge.server, **(found or {})}

    def inject(self) -> Evidence:
        """Cut every edge; when one cannot be cut, put back the ones already cut before saying so."""
        entries: list[Evidence] = []
        for edge, driver in self._edges:
            try:
                entries.append(self._entry(edge, driver.inject()))
                self._at_inject[edge.proxy] = entries[-1]
            except FaultError:
                self._heal_all()
                raise
        return {"direction": self.params.direction, "edges": entries}

    def heal(self) -> Evidence:
        """Heal every edge, even after one fails, then raise naming all that failed."""
        entries, errors = self._heal_all()
        if errors:
            raise FaultError(f"heal fault {self.fault_name!r}: {len(errors)} edge(s) not healed: " + "; ".join(errors))
        # Replaces inject's `edges` in the journal (the scheduler merges heal's keys over inject's).
        return {"direction": self.params.direction, "edges": entries}

    def _heal_all(self) -> tuple[list[Evidence], list[str]]:
        entries: list[Evidence] = []
        errors: list[str] = []
        for edge, driver in self._edges:
            try:
                window = driver.heal()
                entries.append({**self._at_inject.pop(edge.proxy, self._entry(edge, None)), **(window or {})})
            except FaultError as exc:
                errors.append(str(exc))
        return entries, errors
