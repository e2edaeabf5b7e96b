"""Threads, their messages and their event log (the stream's durable source), in the store."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from targets.sample.gateway.store import Connection, Store


@dataclass(frozen=True)
class Event:
    thread_id: str
    seq: int
    type: str
    data: dict[str, Any]

    def as_frame(self) -> str:
        return json.dumps({"seq": self.seq, "type": self.type, "data": self.data})


def new_id() -> str:
    return uuid.uuid4().hex


def create_thread(conn: Connection) -> str:
    thread_id = new_id()
    conn.execute("INSERT INTO threads (id, created_at) VALUES (?, ?)", (thread_id, time.time()))
    return thread_id


def thread_exists(store: Store, thread_id: str) -> bool:
    return store.query_one("SELECT 1 FROM threads WHERE id = ?", (thread_id,)) is not None


def append_event(conn: Connection, thread_id: str, type_: str, data: dict[str, Any]) -> Event:
    """Give the event the thread's next sequence number and log it (inside the caller's transaction)."""
    row = conn.execute(
        "UPDATE threads SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", (thread_id,)
    ).fetchone()
    if row is None:
        raise KeyError(thread_id)
    seq = int(row[0])
    conn.execute(
        "INSERT INTO events (thread_id, seq, type, data, created_at) VALUES (?, ?, ?, ?, ?)",
        (thread_id, seq, type_, json.dumps(data), time.time()),
    )
    return Event(thread_id, seq, type_, data)


def add_message(
    conn: Connection, thread_id: str, role: str, text: str, reply_to: str | None = None
) -> tuple[str, Event]:
    """Persist a message and its `message` event; answer the message id and the event to publish."""
    message_id = new_id()
    event = append_event(conn, thread_id, "message", {"id": message_id, "role": role, "text": text})
    conn.execute(
        "INSERT INTO messages (id, thread_id, role, text, seq, reply_to, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (message_id, thread_id, role, text, event.seq, reply_to, time.time()),
    )
    return message_id, event


def thread_messages(store: Store, thread_id: str) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, role, text, seq FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
    )
    return [{"id": r["id"], "role": r["role"], "text": r["text"], "seq": r["seq"]} for r in rows]


def events_after(store: Store, thread_id: str, after: int, limit: int = 500) -> list[Event]:
    rows = store.query(
        "SELECT seq, type, data FROM events WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (thread_id, after, limit),
    )
    return [Event(thread_id, int(r["seq"]), r["type"], json.loads(r["data"])) for r in rows]


def message_copies(store: Store, message_ids: list[str]) -> dict[str, int]:
    """For each id: how many copies of that write the store holds; 0 if absent.

    Ids are unique by construction, so a duplicated write shows up as another row with another id: for a
    user message, the same text again in the same thread (the Locust users send unique texts); for a reply,
    a second reply to the same user message.
    """
    copies: dict[str, int] = {}
    for message_id in message_ids:
        row = store.query_one(
            "SELECT thread_id, role, text, reply_to FROM messages WHERE id = ?", (message_id,)
        )
        if row is None:
            copies[message_id] = 0
        elif row["reply_to"] is not None:
            counted = store.query_one("SELECT COUNT(*) FROM messages WHERE reply_to = ?", (row["reply_to"],))
            copies[message_id] = int(counted[0]) if counted else 0
        else:
            counted = store.query_one(
                "SELECT COUNT(*) FROM messages"
                " WHERE thread_id = ? AND role = ? AND text = ? AND reply_to IS NULL",
                (row["thread_id"], row["role"], row["text"]),
            )
            copies[message_id] = int(counted[0]) if counted else 0
    return copies
