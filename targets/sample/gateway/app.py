"""The gateway's Flask app: client API, stream endpoint, health, metrics; and `main` to run it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from flask import Blueprint, Flask, Response, jsonify, request
from flask_sock import Sock
from werkzeug.exceptions import BadRequest, NotFound

from targets.sample.gateway import metrics
from targets.sample.gateway.admin import admin_blueprint
from targets.sample.gateway.clients import DependencyClient
from targets.sample.gateway.config import GatewayConfig, parse_config
from targets.sample.gateway.faults import AppFaults
from targets.sample.gateway.idempotency import (
    Claim,
    IdempotencyKeys,
    Reply,
    fingerprint_of,
    save_partial,
    save_reply,
    validate_key,
)
from targets.sample.gateway.outbox import OutboxDelivery, depth, enqueue
from targets.sample.gateway.store import Connection, SqliteStore, Store, StoreUnavailable
from targets.sample.gateway.streams import StreamHub
from targets.sample.gateway.threads import (
    Event,
    add_message,
    create_thread,
    thread_exists,
    thread_messages,
)
from targets.sample.gateway.workflows import WorkflowRunner
from targets.sample.serving import (
    SyncFlask,
    add_metrics_route,
    configure_logging,
    install_json_errors,
    json_error,
    read_json_object,
    serve,
)

log = logging.getLogger("gateway")

HEALTHY_BODY = b'{"status":"ok"}\n'
FALLBACK_REPLY = "The assistant is busy right now; your message is saved. Please ask again in a moment."


@dataclass
class Gateway:
    """The services behind the routes, built once per process."""

    config: GatewayConfig
    store: Store
    faults: AppFaults
    upstream: DependencyClient
    notifier: DependencyClient
    hub: StreamHub
    keys: IdempotencyKeys
    outbox: OutboxDelivery
    workflows: WorkflowRunner

    @property
    def breakers(self) -> dict[str, Any]:
        """Every dependency's breaker, by dependency (the SQLite store has none: it is in the process)."""
        breakers = {"upstream": self.upstream.breaker, "notifier": self.notifier.breaker}
        store_breaker = getattr(self.store, "breaker", None)
        if store_breaker is not None:
            breakers["store"] = store_breaker
        return breakers

    @classmethod
    def build(cls, config: GatewayConfig) -> Gateway:
        faults = AppFaults()
        store = _open_store(config, faults)
        upstream = DependencyClient(config.upstream, faults)
        notifier = DependencyClient(config.notifier, faults)
        hub = StreamHub(store)
        return cls(
            config=config,
            store=store,
            faults=faults,
            upstream=upstream,
            notifier=notifier,
            hub=hub,
            keys=IdempotencyKeys(store),
            outbox=OutboxDelivery(store, notifier, config.outbox_interval_s),
            workflows=WorkflowRunner(store, upstream, notifier, hub),
        )


def _open_store(config: GatewayConfig, faults: AppFaults) -> Store:
    if config.postgres is None:
        return SqliteStore(config.data_dir / "gateway.db", faults)
    from targets.sample.gateway.store_postgres import PostgresStore  # pg8000 only when asked for

    return PostgresStore(config.postgres, faults)


def _respond(reply: Reply) -> Response:
    response = jsonify(reply.body)
    response.status_code = reply.status
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response


def _degraded_headers(degraded: bool) -> dict[str, str]:
    return {"X-Degraded": "1"} if degraded else {}


def _parse_after(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"query parameter 'after' must be a non-negative integer, got {raw!r}")
    return int(raw)


def create_app(gw: Gateway) -> Flask:
    app = SyncFlask("gateway")
    install_json_errors(app)
    add_metrics_route(app)
    _count_requests(app)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_blueprint(admin_blueprint(gw.config.admin_token, gw.faults, gw.store, gw.workflows, gw.breakers))
    app.register_blueprint(_health_blueprint(gw))
    app.register_blueprint(_api_blueprint(gw))
    app.register_blueprint(_stream_blueprint(gw, Sock(app)))
    return app


def _store_unavailable(exc: StoreUnavailable) -> Response:
    return json_error(503, f"store unavailable, retry later: {exc}")


def _count_requests(app: Flask) -> None:
    counters: dict[tuple[str, str], Any] = {}  # labels() takes a lock and builds keys: once per series

    @app.after_request
    def _count(response: Response) -> Response:
        url_rule = request.url_rule
        status = response.status_code
        if status >= 500:
            outcome = "error"
        elif status >= 400:
            outcome = "client_error"
        elif "X-Degraded" in response.headers:
            outcome = "degraded"
        else:
            outcome = "ok"
        series = (url_rule.rule if url_rule is not None else "unmatched", outcome)
        counter = counters.get(series)
        if counter is None:
            counter = counters[series] = metrics.REQUESTS.labels(*series)
        counter.inc()
        return response


def _existing_thread(gw: Gateway, thread_id: str) -> str:
    if not thread_exists(gw.store, thread_id):
        raise NotFound(f"unknown thread {thread_id!r}")
    return thread_id


def _keyed(gw: Gateway, handler: Callable[[Claim | None], Reply]) -> Response:
    """Run a POST handler under its Idempotency-Key (if any)."""
    key = validate_key(request.headers.get("Idempotency-Key"))
    fingerprint = fingerprint_of(request.method, request.path, request.get_data(cache=True))
    return _respond(gw.keys.run(key, fingerprint, handler))


def _health_blueprint(gw: Gateway) -> Blueprint:
    health = Blueprint("health", __name__)

    @health.get("/healthz")
    def _healthz() -> Response:
        return Response(HEALTHY_BODY, mimetype="application/json")

    @health.get("/readyz")
    def _readyz() -> Response:
        # Ready = can serve its API: the store works and outbox delivery runs. The upstream is left out on
        # purpose (its outage is served by the fallback), and so is the non-critical notifier.
        store_ok = gw.store.is_usable()
        outbox_ok = gw.outbox.is_alive()
        body = {
            "ready": store_ok and outbox_ok,
            "store": "ok" if store_ok else "unavailable",
            "outbox_delivery": "running" if outbox_ok else "stopped",
            "breakers": {name: b.state for name, b in gw.breakers.items()},
        }
        response = jsonify(body)
        response.status_code = 200 if body["ready"] else 503
        return response

    return health


def _api_blueprint(gw: Gateway) -> Blueprint:
    api = Blueprint("api", __name__)

    @api.post("/threads")
    def _create_thread() -> Response:
        read_json_object()

        def handler(claim: Claim | None) -> Reply:
            def create(conn: Connection) -> Reply:
                reply = Reply(201, {"thread_id": create_thread(conn)})
                save_reply(conn, claim, reply)
                return reply

            return gw.store.write(create)

        return _keyed(gw, handler)

    @api.get("/threads/<thread_id>")
    def _read_thread(thread_id: str) -> Response:
        _existing_thread(gw, thread_id)
        return jsonify({"thread_id": thread_id, "messages": thread_messages(gw.store, thread_id)})

    @api.post("/threads/<thread_id>/messages")
    def _post_message(thread_id: str) -> Response:
        body = read_json_object(required=("text",))
        text = body["text"]
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("field 'text' must be a non-empty string")
        _existing_thread(gw, thread_id)
        return _keyed(gw, lambda claim: _converse(gw, thread_id, text, claim))

    @api.post("/workflows")
    def _post_workflow() -> Response:
        body = read_json_object()
        thread_id = body.get("thread_id")
        if thread_id is not None:
            if not isinstance(thread_id, str):
                raise BadRequest("field 'thread_id' must be a string")
            _existing_thread(gw, thread_id)
        return _keyed(gw, lambda claim: gw.workflows.run(thread_id, claim))

    @api.get("/threads/<thread_id>/stream")
    def _stream_without_upgrade(thread_id: str) -> Response:
        return json_error(400, "this endpoint speaks WebSocket only (send an Upgrade: websocket request)")

    return api


def _stream_blueprint(gw: Gateway, sock: Sock) -> Blueprint:
    streams = Blueprint("streams", __name__)

    @streams.before_request
    def _check_stream_request() -> Response | None:
        # Runs before flask-sock's handshake, so bad stream requests get a JSON 4xx instead of an upgrade.
        thread_id = _existing_thread(gw, (request.view_args or {}).get("thread_id", ""))
        after = _parse_after(request.args.get("after"))
        row = gw.store.query_one("SELECT last_seq FROM threads WHERE id = ?", (thread_id,))
        last_seq = int(row[0]) if row is not None else 0
        if after > last_seq:
            return json_error(400, f"after={after} is beyond the thread's last event (seq {last_seq})")
        return None

    @sock.route("/threads/<thread_id>/stream", bp=streams)
    def _stream(ws: Any, thread_id: str) -> None:
        gw.hub.serve(ws, thread_id, _parse_after(request.args.get("after")))

    return streams  # registered after its routes: a blueprint copies them when registered


def _converse(gw: Gateway, thread_id: str, text: str, claim: Claim | None) -> Reply:
    """Persist the user's message, ask the upstream (or fall back), persist and publish the answer."""
    if claim is not None and claim.partial is not None:
        message_id = str(claim.partial["message_id"])  # an earlier attempt stored it; do not store it again
    else:

        def store_question(conn: Connection) -> tuple[str, Event]:
            message_id, event = add_message(conn, thread_id, "user", text)
            save_partial(conn, claim, {"message_id": message_id})
            return message_id, event

        message_id, event = gw.store.write(store_question)
        gw.hub.publish([event])
    answer = gw.upstream.post_json_or_fallback("/v1/complete", {"prompt": text})
    degraded = answer is None
    reply_text = FALLBACK_REPLY if answer is None else str(answer.get("text", ""))

    def store_answer(conn: Connection) -> tuple[Reply, Event]:
        reply_id, reply_event = add_message(conn, thread_id, "assistant", reply_text, reply_to=message_id)
        enqueue(
            conn,
            message_id,
            "message.answered",
            {"thread_id": thread_id, "message_id": message_id, "reply_id": reply_id, "degraded": degraded},
        )
        reply = Reply(
            201,
            {"message_id": message_id, "reply_id": reply_id, "reply": reply_text, "degraded": degraded},
            _degraded_headers(degraded),
        )
        save_reply(conn, claim, reply)
        return reply, reply_event

    reply, reply_event = gw.store.write(store_answer)
    gw.hub.publish([reply_event])
    metrics.OUTBOX_DEPTH.inc()
    gw.outbox.poke()
    return reply


def _maintain(gw: Gateway) -> None:
    """Periodic chores: compensate abandoned workflow runs, refresh the outbox depth gauge."""
    while True:
        gevent.sleep(gw.config.maintenance_interval_s)
        try:
            gw.workflows.compensate_abandoned()
            metrics.OUTBOX_DEPTH.set(depth(gw.store))
        except StoreUnavailable as exc:
            log.info("maintenance skipped: %s", exc)


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    configure_logging(config.log_level)
    try:
        gw = Gateway.build(config)
    except StoreUnavailable as exc:
        log.error("cannot open the store: %s", exc)
        return 1
    try:
        recovered = gw.workflows.compensate_abandoned()
        if recovered:
            log.warning("compensated %d workflow run(s) left running by a previous process", recovered)
        metrics.OUTBOX_DEPTH.set(depth(gw.store))
    except StoreUnavailable as exc:  # the periodic maintenance does it once the store answers
        log.warning("start-up chores deferred: %s", exc)
    gw.outbox.start()
    maintenance = gevent.spawn(_maintain, gw)

    def _on_stop() -> None:
        gw.hub.close()
        maintenance.kill(block=False)
        gw.outbox.stop()

    try:
        return serve(create_app(gw), config.port, "gateway", on_stop=_on_stop)
    finally:
        gw.store.close()
