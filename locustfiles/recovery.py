"""The sample target's users: chat, stream and workflow. Behaviour only; brownout's plugin keeps the books.

Run on its own: `locust -f locustfiles/recovery.py` (web UI) or with `--headless`. Without `--host` the
plugin starts the sample stack of the scenario (default `scenarios/default.toml`, or
`--brownout-scenario FILE`) and stops it when Locust quits.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import websocket
from locust import FastHttpUser, User, between, task
from tenacity import (
    RetryError,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from brownout import ScenarioShape, acknowledge, record_stream  # the public API; using it registers the plugin

_IDEMPOTENT_RETRIES = 3
# A black-holed or frozen dependency must cost a user seconds, not Locust's default minute per request.
_NETWORK_TIMEOUT_S = 10.0
_CONNECT_TIMEOUT_S = 5.0


def _new_key() -> str:
    return uuid.uuid4().hex


def _is_degraded(response: Any) -> bool:
    return response.headers.get("X-Degraded") == "1"


class ChatUser(FastHttpUser):
    """Posts messages with idempotency keys and reads its thread back; remembers what was acknowledged."""

    wait_time = between(0.2, 0.6)
    network_timeout = _NETWORK_TIMEOUT_S
    connection_timeout = _CONNECT_TIMEOUT_S
    thread_id: str | None = None

    def on_start(self) -> None:
        self.thread_id = _open_thread(self.client)

    @task(3)
    def post_message(self) -> None:
        if self.thread_id is None:
            self.thread_id = _open_thread(self.client)
            return
        key = _new_key()
        # A lost answer is retried with the same key: the gateway must not write twice.
        for _ in range(_IDEMPOTENT_RETRIES):
            with self.client.post(
                f"/threads/{self.thread_id}/messages",
                json={"text": f"hello {key[:8]}"},
                headers={"Idempotency-Key": key},
                name="/threads/[id]/messages",
                catch_response=True,
            ) as resp:
                if resp.status_code == 201:
                    acknowledge(self.environment, "messages", resp.json()["message_id"])
                    return
                if resp.status_code and resp.status_code < 500:
                    resp.failure(f"HTTP {resp.status_code}")
                    return
                resp.failure(f"HTTP {resp.status_code or 'connection error'}")

    @task(1)
    def read_thread(self) -> None:
        if self.thread_id is not None:
            self.client.get(f"/threads/{self.thread_id}", name="/threads/[id]")


class WorkflowUser(FastHttpUser):
    """Runs the multi-step workflow; a compensated run is a failure the client sees, and it is audited."""

    wait_time = between(0.5, 1.5)
    network_timeout = _NETWORK_TIMEOUT_S
    connection_timeout = _CONNECT_TIMEOUT_S

    @task
    def run_workflow(self) -> None:
        with self.client.post(
            "/workflows",
            json={},
            headers={"Idempotency-Key": _new_key()},
            name="/workflows",
            catch_response=True,
        ) as resp:
            body = _json_or_none(resp.text)
            if body and "run_id" in body:
                acknowledge(self.environment, "workflows", body["run_id"])
            if resp.status_code != 201:
                resp.failure(f"HTTP {resp.status_code or 'connection error'}")


class StreamUser(User):
    """Holds one thread's stream over WebSocket, resumes with `after=<last seq>` after a drop.

    Requests reported: `WS connect`, `WS reconnect` (time until the stream is back), `WS message`
    (delivery latency of a message this user posted).
    """

    wait_time = between(0.5, 1.0)

    def on_start(self) -> None:
        self.http = _PlainHttp(self.host or "")
        self.thread_id = _open_thread_plain(self.http)
        self.last_seq = 0
        self.gaps = 0
        self.duplicates = 0
        self.sent_at: dict[str, float] = {}
        self.ws: websocket.WebSocket | None = None
        self._connect("connect")

    def on_stop(self) -> None:
        record_stream(self.environment, gaps=self.gaps, duplicates=self.duplicates)
        if self.ws is not None:
            # Locust is in CLEANUP while users stop, and its web UI stops polling once it has seen CLEANUP:
            # a close that waits the default 3 s for the server's reply leaves the header stuck there.
            self.ws.close(timeout=0.5)

    @task
    def talk_and_listen(self) -> None:
        marker = _new_key()
        self.sent_at[marker] = time.perf_counter()
        body = self.http.post(f"/threads/{self.thread_id}/messages", {"text": marker})
        if body and "message_id" in body:
            acknowledge(self.environment, "messages", body["message_id"])
        self._receive_until(marker, timeout=5.0)

    def _receive_until(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                assert self.ws is not None
                self.ws.settimeout(max(0.05, deadline - time.monotonic()))
                event = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            except (OSError, websocket.WebSocketException, AssertionError):
                self._connect("reconnect")
                continue
            if self._accept(event) and _carries(event, marker):
                self._fire("message", (time.perf_counter() - self.sent_at.pop(marker)) * 1000)
                return
        self.sent_at.pop(marker, None)

    def _accept(self, event: dict[str, Any]) -> bool:
        seq = int(event["seq"])
        if seq <= self.last_seq:
            self.duplicates += 1
            return False
        if seq != self.last_seq + 1:
            self.gaps += seq - self.last_seq - 1
        self.last_seq = seq
        return True

    def _connect(self, kind: str) -> None:
        started = time.perf_counter()
        url = _ws_url(self.host or "", f"/threads/{self.thread_id}/stream?after={self.last_seq}")
        try:
            self.ws = _retrying_for_a_while(reraise=True)(websocket.create_connection, url, timeout=5)
        except Exception as exc:  # noqa: BLE001  (any failure to reconnect is reported, not raised)
            self._fire(kind, (time.perf_counter() - started) * 1000, exc)
            raise
        self._fire(kind, (time.perf_counter() - started) * 1000)

    def _fire(self, name: str, ms: float, exc: BaseException | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=ms,
            response_length=0,
            exception=exc,
            context={},
        )


def _carries(event: dict[str, Any], marker: str) -> bool:
    data = event.get("data") or {}
    return isinstance(data, dict) and data.get("text") == marker


def _json_or_none(text: str | None) -> dict[str, Any] | None:
    try:
        body = json.loads(text or "")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _open_thread(client: Any) -> str | None:
    with client.post(
        "/threads",
        json={},
        headers={"Idempotency-Key": _new_key()},
        name="/threads",
        catch_response=True,
    ) as resp:
        body = _json_or_none(resp.text)
        if resp.status_code == 201 and body:
            return str(body["thread_id"])
        resp.failure(f"HTTP {resp.status_code or 'connection error'}")
        return None


class _PlainHttp:
    """A tiny JSON client for StreamUser's side requests (not timed as Locust requests)."""

    def __init__(self, host: str) -> None:
        import requests

        self._session = requests.Session()
        self._host = host.rstrip("/")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            resp = self._session.post(self._host + path, json=body, headers={"Idempotency-Key": _new_key()}, timeout=10)
        except OSError:
            return None
        return _json_or_none(resp.text)


def _retrying_for_a_while(**options: Any) -> Retrying:
    """A stream user's patience: through a fault of up to 30 s, never longer (the run goes on without it)."""
    return Retrying(
        wait=wait_exponential_jitter(multiplier=0.1, max=2.0),
        stop=stop_after_attempt(20) | stop_after_delay(30),
        **options,
    )


def _open_thread_plain(http: _PlainHttp) -> str:
    """A thread for the stream; a user that starts during a fault (503s) waits for the service to answer."""
    try:
        return str(_retrying_for_a_while(retry=retry_if_result(lambda thread: thread is None))(_try_open_thread, http))
    except RetryError:
        raise RuntimeError("could not open a thread for the stream: POST /threads failed for 30 s") from None


def _try_open_thread(http: _PlainHttp) -> str | None:
    body = http.post("/threads", {})
    return str(body["thread_id"]) if body and "thread_id" in body else None


def _ws_url(host: str, path: str) -> str:
    return host.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/") + path


__all__ = ["ChatUser", "ScenarioShape", "StreamUser", "WorkflowUser"]
