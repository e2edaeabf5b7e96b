"""The HTTP API: Toxiproxy's routes, JSON shapes and status codes over a ProxyRegistry (Flask app).

Auth (see the package docstring): loopback peers only; a browser's User-Agent is refused as Toxiproxy
does; with a token configured, `Authorization: Bearer <token>` on everything but /healthz.
"""

from __future__ import annotations

import dataclasses
import json

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from brownout import __version__
from brownout.auth import Refused, require_bearer, require_loopback_peer
from brownout.proxy.config import parse_proxy
from brownout.proxy.errors import ApiError
from brownout.proxy.proxies import ProxyRegistry

_OPEN_PATHS = frozenset({"/healthz"})


def create_app(registry: ProxyRegistry, token: str | None = None) -> Flask:
    app = Flask("brownout.proxy")

    @app.before_request
    def _guard() -> None:
        _check_peer_and_agent()
        if token and request.path not in _OPEN_PATHS:
            _check_token(token)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/version")
    def version() -> Response:
        return _json({"version": f"brownout-{__version__}"})

    @app.post("/reset")
    def reset() -> Response:
        registry.reset()
        return Response(status=204)

    @app.get("/proxies")
    def proxy_index() -> Response:
        return _json({proxy.name: proxy.as_json() for proxy in registry.all()})

    @app.post("/proxies")
    def proxy_create() -> Response:
        proxy = registry.create(parse_proxy(_body()))
        return _json(proxy.as_json(), 201)

    @app.post("/populate")
    def populate() -> Response:
        body = _body()
        if not isinstance(body, list):
            raise ApiError("bad request body: populate takes a JSON list of proxies")
        proxies = registry.populate([parse_proxy(entry) for entry in body])
        return _json({"proxies": [proxy.as_json() for proxy in proxies]}, 201)

    @app.get("/proxies/<name>")
    def proxy_show(name: str) -> Response:
        return _json(registry.get(name).as_json())

    @app.route("/proxies/<name>", methods=["POST", "PATCH"])
    def proxy_update(name: str) -> Response:
        proxy = registry.get(name)
        current = dataclasses.replace(proxy.spec, enabled=proxy.enabled)
        body = _body()
        if isinstance(body, dict):
            body = {**body, "name": name}  # as Toxiproxy: a proxy cannot be renamed
        proxy.update(parse_proxy(body, defaults=current))
        return _json(proxy.as_json())

    @app.delete("/proxies/<name>")
    def proxy_delete(name: str) -> Response:
        registry.delete(name)
        return Response(status=204)

    @app.get("/proxies/<name>/toxics")
    def toxic_index(name: str) -> Response:
        return _json(registry.get(name).toxics_json())

    @app.post("/proxies/<name>/toxics")
    def toxic_create(name: str) -> Response:
        proxy = registry.get(name)
        return _json(proxy.add_toxic(_body()).as_json())  # Toxiproxy answers 200 here, not 201

    @app.get("/proxies/<name>/toxics/<toxic>")
    def toxic_show(name: str, toxic: str) -> Response:
        return _json(registry.get(name).toxic(toxic).as_json())

    @app.route("/proxies/<name>/toxics/<toxic>", methods=["POST", "PATCH"])
    def toxic_update(name: str, toxic: str) -> Response:
        proxy = registry.get(name)
        return _json(proxy.update_toxic(toxic, _body()).as_json())

    @app.delete("/proxies/<name>/toxics/<toxic>")
    def toxic_delete(name: str, toxic: str) -> Response:
        registry.get(name).remove_toxic(toxic)
        return Response(status=204)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _json(exc.as_json(), exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        return _json({"error": exc.description or exc.name, "status": status}, status)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        app.logger.exception("unexpected error in %s %s", request.method, request.path)
        return _json({"error": f"internal error: {type(exc).__name__}: {exc}", "status": 500}, 500)

    return app


def _body() -> object:
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(f"bad request body: not valid JSON ({exc})") from None


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload) + "\n", status=status, mimetype="application/json")


def _check_peer_and_agent() -> None:
    try:
        require_loopback_peer(request.remote_addr, "the fault proxy's API")
    except Refused as exc:
        raise ApiError(str(exc), exc.status) from None
    if request.user_agent.string.startswith("Mozilla/"):
        raise ApiError("browsers may not drive the fault proxy (User-Agent refused)", 403)


def _check_token(token: str) -> None:
    try:
        require_bearer(request.headers.get("Authorization"), [token], "--token / BROWNOUT_TOKEN")
    except Refused as exc:
        raise ApiError(str(exc), exc.status) from None
