"""The multi-step workflow: reserve -> persist -> model -> enrich -> finalize, with compensation.

Critical steps (reserve, persist, model, finalize) must succeed; when one fails after earlier steps
committed, compensation releases the reservation and removes the artifact in one transaction, so a run is
either completed (reservation kept, artifact present) or compensated (reservation released, no artifact).
The non-critical enrich step (a direct notifier call) may fail: the run completes, marked degraded.
A run left `running` by a crash or a failed compensation is compensated by `compensate_abandoned`, which the
gateway calls at start and then periodically.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from targets.sample.gateway import metrics
from targets.sample.gateway.clients import DependencyClient
from targets.sample.gateway.idempotency import Claim, Reply, save_partial, save_reply
from targets.sample.gateway.resilience import DependencyError
from targets.sample.gateway.store import Connection, Store, StoreUnavailable
from targets.sample.gateway.streams import StreamHub
from targets.sample.gateway.threads import Event, append_event, new_id

log = logging.getLogger("gateway.workflows")


@dataclass
class Step:
    name: str
    critical: bool
    status: str = "pending"  # pending, done, failed, skipped, compensated
    error: str | None = None


class CriticalStepFailed(Exception):
    pass


def _new_steps() -> list[Step]:
    return [
        Step("reserve", True),
        Step("persist", True),
        Step("model", True),
        Step("enrich", False),
        Step("finalize", True),
    ]


def _run_body(run_id: str, status: str, steps: list[dict[str, Any]], degraded: bool) -> dict[str, Any]:
    return {"run_id": run_id, "status": status, "steps": steps, "degraded": degraded}


def _reply_for(body: dict[str, Any]) -> Reply:
    if body["status"] == "completed":
        return Reply(201, body, {"X-Degraded": "1"} if body["degraded"] else {})
    return Reply(502, body)


class WorkflowRunner:
    def __init__(
        self, store: Store, upstream: DependencyClient, notifier: DependencyClient, hub: StreamHub
    ) -> None:
        self._store = store
        self._upstream = upstream
        self._notifier = notifier
        self._hub = hub
        self.active: set[str] = set()

    def run(self, thread_id: str | None, claim: Claim | None) -> Reply:
        if claim is not None and claim.partial is not None:
            return self._resume(str(claim.partial["run_id"]), claim)
        run_id = new_id()
        steps = _new_steps()
        self.active.add(run_id)
        try:
            return self._run_steps(run_id, thread_id, steps, claim)
        finally:
            self.active.discard(run_id)

    def _run_steps(self, run_id: str, thread_id: str | None, steps: list[Step], claim: Claim | None) -> Reply:
        reserve, persist, model, enrich, finalize = steps
        now = time.time()

        def reserve_and_record(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO workflow_runs (id, thread_id, status, steps, created_at, updated_at)"
                " VALUES (?, ?, 'running', ?, ?, ?)",
                (run_id, thread_id, json.dumps([asdict(s) for s in steps]), now, now),
            )
            conn.execute(
                "INSERT INTO reservations (id, run_id, state, created_at) VALUES (?, ?, 'held', ?)",
                (new_id(), run_id, now),
            )
            save_partial(conn, claim, {"run_id": run_id})

        self._store.write(reserve_and_record)  # nothing committed before this: a failure here is a plain 503
        reserve.status = "done"
        try:
            self._critical(persist, lambda: self._persist(run_id, thread_id))
            answer: dict[str, Any] = {}
            self._critical(model, lambda: answer.update(self._call_model(run_id)))
            self._enrich(enrich, run_id)
            degraded = enrich.status != "done"
            events = self._critical(
                finalize, lambda: self._finalize(run_id, thread_id, steps, degraded, claim)
            )
        except CriticalStepFailed:
            return self._compensate(run_id, steps, claim)
        self._hub.publish(events)
        metrics.WORKFLOW_RUNS.labels("completed").inc()
        return _reply_for(_run_body(run_id, "completed", [asdict(s) for s in steps], degraded))

    def _critical(self, step: Step, action: Any) -> Any:
        try:
            result = action()
        except (DependencyError, StoreUnavailable) as exc:
            step.status, step.error = "failed", str(exc)
            raise CriticalStepFailed(step.name) from exc
        step.status = "done"
        return result

    def _persist(self, run_id: str, thread_id: str | None) -> None:
        self._store.write(
            lambda conn: conn.execute(
                "INSERT INTO workflow_artifacts (run_id, thread_id, content, created_at) VALUES (?, ?, ?, ?)",
                (run_id, thread_id, f"draft for run {run_id}", time.time()),
            )
        )

    def _call_model(self, run_id: str) -> dict[str, Any]:
        return self._upstream.post_json("/v1/complete", {"prompt": f"summarize workflow run {run_id}"})

    def _enrich(self, step: Step, run_id: str) -> None:
        event = {"id": f"workflow-{run_id}", "type": "workflow.enriched", "data": {"run_id": run_id}}
        try:
            self._notifier.post_json("/events", event, single_attempt=True)
        except DependencyError as exc:
            step.status, step.error = "skipped", str(exc)
            return
        step.status = "done"

    def _finalize(
        self, run_id: str, thread_id: str | None, steps: list[Step], degraded: bool, claim: Claim | None
    ) -> list[Event]:
        steps[-1].status = "done"  # as recorded if this transaction commits
        body = _run_body(run_id, "completed", [asdict(s) for s in steps], degraded)

        def complete(conn: Connection) -> list[Event]:
            conn.execute(
                "UPDATE workflow_runs SET status = 'completed', steps = ?, degraded = ?, updated_at = ?"
                " WHERE id = ?",
                (json.dumps(body["steps"]), int(degraded), time.time(), run_id),
            )
            conn.execute("UPDATE reservations SET state = 'kept' WHERE run_id = ?", (run_id,))
            save_reply(conn, claim, _reply_for(body))
            if thread_id is None:
                return []
            return [append_event(conn, thread_id, "workflow", {"run_id": run_id, "status": "completed"})]

        return self._store.write(complete)

    def _compensate(self, run_id: str, steps: list[Step], claim: Claim | None) -> Reply:
        for step in steps:
            if step.status == "done":
                step.status = "compensated"
        body = _run_body(run_id, "compensated", [asdict(s) for s in steps], False)
        reply = _reply_for(body)
        def undo(conn: Connection) -> None:
            _undo(conn, run_id, body["steps"])
            save_reply(conn, claim, reply)

        try:
            self._store.write(undo)
        except StoreUnavailable:
            log.warning("workflow %s: compensation deferred (store unavailable)", run_id)
            return Reply(503, {"error": "store unavailable; the run will be compensated in the background"})
        metrics.WORKFLOW_RUNS.labels("compensated").inc()
        return reply

    def _resume(self, run_id: str, claim: Claim) -> Reply:
        """A keyed request that an earlier attempt left unfinished: conclude that run, never start another."""
        if run_id not in self.active:
            self.compensate_abandoned(only=run_id)
        row = self._store.query_one(
            "SELECT status, steps, degraded FROM workflow_runs WHERE id = ?", (run_id,)
        )
        if row is None or row["status"] == "running":
            return Reply(
                409, {"error": "the workflow run for this Idempotency-Key is still running; retry later"}
            )
        reply = _reply_for(_run_body(run_id, row["status"], json.loads(row["steps"]), bool(row["degraded"])))
        self._store.write(lambda conn: save_reply(conn, claim, reply))
        return reply

    def _undo_in_store(self, run_id: str, steps: list[dict[str, Any]]) -> bool:
        return self._store.write(lambda conn: _undo(conn, run_id, steps))

    def compensate_abandoned(self, only: str | None = None) -> int:
        """Compensate runs left `running` that no request in this process is driving; answer how many."""
        rows = self._store.query("SELECT id, steps FROM workflow_runs WHERE status = 'running'")
        count = 0
        for row in rows:
            if row["id"] in self.active or (only is not None and row["id"] != only):
                continue
            steps = json.loads(row["steps"])
            for step in steps:
                step["status"] = "compensated" if step["status"] == "done" else step["status"]
            if not self._undo_in_store(str(row["id"]), steps):
                continue
            log.warning("workflow %s: abandoned run compensated", row["id"])
            metrics.WORKFLOW_RUNS.labels("compensated").inc()
            count += 1
        return count


def _undo(conn: Connection, run_id: str, steps: list[dict[str, Any]]) -> bool:
    """Compensate a run that is still `running` (answer whether it was); a finished run is left alone."""
    changed = conn.execute(
        "UPDATE workflow_runs SET status = 'compensated', steps = ?, updated_at = ?"
        " WHERE id = ? AND status = 'running'",
        (json.dumps(steps), time.time(), run_id),
    ).rowcount
    if changed:
        conn.execute("UPDATE reservations SET state = 'released' WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM workflow_artifacts WHERE run_id = ?", (run_id,))
    return bool(changed)


def audit_workflows(store: Store, active: set[str], workflow_ids: list[str]) -> dict[str, Any]:
    """Statuses of the given runs, runs that are half done, and reservations nobody will settle."""
    statuses: dict[str, str] = {}
    for run_id in workflow_ids:
        row = store.query_one("SELECT status FROM workflow_runs WHERE id = ?", (run_id,))
        statuses[run_id] = row["status"] if row is not None else "missing"
    inconsistent = store.query(
        "SELECT r.id FROM workflow_runs AS r"
        " LEFT JOIN reservations AS s ON s.run_id = r.id"
        " LEFT JOIN workflow_artifacts AS a ON a.run_id = r.id"
        " WHERE r.status = 'running'"
        " OR (r.status = 'completed' AND (s.state IS NULL OR s.state <> 'kept' OR a.run_id IS NULL))"
        " OR (r.status = 'compensated' AND (s.state IS NULL OR s.state <> 'released' OR a.run_id IS NOT NULL))"
    )
    held = store.query("SELECT id, run_id FROM reservations WHERE state = 'held'")
    return {
        "workflows": statuses,
        "half_done_workflows": [r["id"] for r in inconsistent if r["id"] not in active],
        "leaked_reservations": [r["id"] for r in held if r["run_id"] not in active],
    }
