"""The HTTP API: Toxiproxy's routes, JSON shapes and status codes over a ProxyRegistry (Flask app).

Auth (see the package docstring): loopback peers only; a browser's User-Agent is refused as Toxiproxy
does; with a token configured, `Authorization: Bearer <token>` on everything but /healthz.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from brownout.net.auth import Refused, require_bearer, require_loopback_peer
from brownout.proxy.config import ProxySpec, parse_proxy
from brownout.proxy.errors import ApiError
from brownout.proxy.jsonio import decode, encode
from brownout.proxy.proxies import Proxy, ProxyRegistry
from brownout.version import __version__

# The Toxiproxy release whose API this one mirrors; brownout's own version rides along as semver build
# metadata, so a client comparing versions sees 2.8.0.
TOXIPROXY_VERSION = "2.8.0"
_OPEN_PATHS = frozenset({"/healthz"})
# Toxiproxy's router answers only the methods each route names: no HEAD for a GET, no OPTIONS.
_UNROUTED_METHODS = frozenset({"HEAD", "OPTIONS"})

routes = Blueprint("toxiproxy", __name__)


@dataclass(frozen=True)
class _Settings:
    registry: ProxyRegistry
    token: str | None
    metrics: bool  # serve /metrics, as Toxiproxy does with -proxy-metrics


def create_app(registry: ProxyRegistry, token: str | None = None, metrics: bool = False) -> Flask:
    app = Flask("brownout.proxy")
    app.extensions["brownout.proxy"] = _Settings(registry, token, metrics)
    app.before_request(_guard)
    app.register_blueprint(routes)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _registry() -> ProxyRegistry:
    settings: _Settings = current_app.extensions["brownout.proxy"]
    return settings.registry


def _guard() -> None:
    _check_peer_and_agent()
    if request.method in _UNROUTED_METHODS and request.path not in _OPEN_PATHS:
        raise ApiError(f"method {request.method} is not allowed here (Toxiproxy's API has no {request.method})", 405)
    token = current_app.extensions["brownout.proxy"].token
    if token and request.path not in _OPEN_PATHS:
        _check_token(token)


# --- server ----------------------------------------------------------------------------------------------


@routes.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


@routes.get("/version")
def version() -> Response:
    # Written as Toxiproxy writes it: by hand, with a space and a newline, and a charset.
    body = f'{{"version": "{TOXIPROXY_VERSION}+brownout.{__version__}"}}\n'
    return Response(body, content_type="application/json;charset=utf-8")


@routes.get("/metrics")
def metrics() -> Response:
    settings: _Settings = current_app.extensions["brownout.proxy"]
    if not settings.metrics:  # Toxiproxy without -proxy-metrics has no such route
        raise ApiError("no /metrics: start the proxy with -proxy-metrics", 404)
    return Response(settings.registry.metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")


@routes.post("/reset")
def reset() -> Response:
    _registry().reset()
    return _no_content()


# --- proxies ---------------------------------------------------------------------------------------------


@routes.get("/proxies")
def proxy_index() -> Response:
    # Sorted by name: Go writes a map's keys in order.
    return _json({proxy.name: proxy.as_json() for proxy in sorted(_registry().all(), key=lambda p: p.name)})


@routes.post("/proxies")
def proxy_create() -> Response:
    registry = _registry()
    proxy = registry.create(parse_proxy(_body(), taken=registry.has))
    return _json(proxy.as_json(), 201)


@routes.post("/populate")
def populate() -> Response:
    """Every entry is checked before anything changes; a failure answers with the proxies applied so far."""
    applied: list[Proxy] = []
    try:
        for spec in _populate_specs(_body()):
            applied.append(_registry().populate_one(spec))
    except ApiError as exc:
        return _error({**exc.as_json(), "proxies": [p.as_json() for p in applied]}, exc.status)
    return _json({"proxies": [proxy.as_json() for proxy in applied]}, 201)


def _populate_specs(body: object) -> list[ProxySpec]:
    if not isinstance(body, list):
        raise ApiError("bad request body: populate takes a JSON list of proxies")
    specs: list[ProxySpec] = []
    for number, entry in enumerate(body, start=1):
        try:
            spec = parse_proxy(entry)
        except ApiError as exc:
            raise ApiError(f"{exc.message} at proxy {number}", exc.status) from None
        if any(seen.name == spec.name for seen in specs):
            raise ApiError(f"duplicate proxy name {spec.name!r} at proxy {number}")
        specs.append(spec)
    return specs


@routes.get("/proxies/<name>")
def proxy_show(name: str) -> Response:
    return _json(_registry().get(name).as_json())


@routes.route("/proxies/<name>", methods=["POST", "PATCH"])
def proxy_update(name: str) -> Response:
    proxy = _registry().get(name)
    current = dataclasses.replace(proxy.spec, enabled=proxy.enabled)
    proxy.update(parse_proxy(_body(), defaults=current))
    return _json(proxy.as_json())


@routes.delete("/proxies/<name>")
def proxy_delete(name: str) -> Response:
    _registry().delete(name)
    return _no_content()


# --- toxics ----------------------------------------------------------------------------------------------


@routes.get("/proxies/<name>/traffic")
def proxy_traffic(name: str) -> Response:
    """A brownout addition (Toxiproxy has no such route): what the proxy carried, the faults' evidence."""
    return _json(_registry().get(name).traffic.as_json())


@routes.get("/proxies/<name>/toxics")
def toxic_index(name: str) -> Response:
    return _json(_registry().get(name).toxics_json())


@routes.post("/proxies/<name>/toxics")
def toxic_create(name: str) -> Response:
    proxy = _registry().get(name)
    return _json(proxy.add_toxic(_body()).as_json())  # Toxiproxy answers 200 here, not 201


@routes.get("/proxies/<name>/toxics/<toxic>")
def toxic_show(name: str, toxic: str) -> Response:
    return _json(_registry().get(name).toxic(toxic).as_json())


@routes.route("/proxies/<name>/toxics/<toxic>", methods=["POST", "PATCH"])
def toxic_update(name: str, toxic: str) -> Response:
    proxy = _registry().get(name)
    return _json(proxy.update_toxic(toxic, _body()).as_json())


@routes.delete("/proxies/<name>/toxics/<toxic>")
def toxic_delete(name: str, toxic: str) -> Response:
    _registry().get(name).remove_toxic(toxic)
    return _no_content()


# --- errors and helpers ----------------------------------------------------------------------------------


def _api_error(exc: ApiError) -> Response:
    return _error(exc.as_json(), exc.status)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    return _error({"error": exc.description or exc.name, "status": status}, status)


def _unexpected_error(exc: Exception) -> Response:
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return _error({"error": f"internal error: {type(exc).__name__}: {exc}", "status": 500}, 500)


def _body() -> object:
    return decode(request.get_data(cache=False))


def _json(payload: object, status: int = 200) -> Response:
    return Response(encode(payload), status=status, mimetype="application/json")


def _error(payload: object, status: int) -> Response:
    """An error body ends in a newline, as Go's http.Error writes it (brownout keeps the JSON type)."""
    return Response(encode(payload) + "\n", status=status, mimetype="application/json")


def _no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


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
