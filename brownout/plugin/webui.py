"""The Faults tab in Locust's web UI, and a small page to inject and heal faults by hand during a run.

Only Locust's documented extension points (its `examples/extend_web_ui.py`): `web_ui.template_args`
`extended_tabs` / `extended_tables` declare the tab, its rows travel as `extended_stats` in the JSON of
`/stats/requests` (added by an `after_request` hook), and `extended_csv_files` puts a link to the page
on the "Download Data" tab. The web UI camelCases every key of both, table structure keys included, so
plain one-word keys are used throughout.

The page (`<web base path>/brownout/faults`) is plain server-rendered HTML. Its POST endpoints change the
system under test, so every request to it must:
- come from a loopback peer, with a loopback name in its Host header (a DNS-rebinding page would send its
  own name), and not be a cross-site request (`Origin` of another site, `Sec-Fetch-Site: cross-site`);
  Locust enables CORS for every origin, so without this a foreign page could read the form token;
- and, for POSTs, carry either the page's form token (random per Locust process, embedded in the
  page's forms, CSRF style) as the `csrf_token` field, or, for scripts, `Authorization: Bearer <token>`
  with the stack's token or the `BROWNOUT_TOKEN` Locust was started with. Missing token: 401; wrong
  token, peer or origin: 403. Scripts sending `Accept: application/json` get JSON answers
  (`{"name", "state"}` or `{"error"}`); browsers get the page back (303 after a change).
POST `.../brownout/faults/inject` takes `kind` = `scenario` + `fault` (a copy of a scenario fault, now), or
one of MANUAL_KINDS + `target` (+ `latency_ms`, `jitter_ms` / `dependency`, `error_rate`,
`app_latency_ms`); POST `.../brownout/faults/heal` takes `name` (any active fault, scheduled ones too:
they end early). Manual faults stay in force until healed or the run stops, are journaled by the
run's scheduler (`faults.csv`) as `manual-<n>-<what>`, and a failed one does not abort the schedule.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, jsonify, make_response, redirect, render_template_string, request
from werkzeug.wrappers import Response as BaseResponse

from brownout.auth import bearer_token, require_loopback_peer, require_same_site, same_secret
from brownout.errors import InputError
from brownout.faults.drivers import build_driver
from brownout.faults.journal import FaultJournal
from brownout.faults.scheduler import FaultScheduler, FaultStatus
from brownout.plugin.manual import APP_DEPENDENCIES, MANUAL_KINDS, Refused, describe_kind, manual_fault, target_names
from brownout.plugin.templates.faults_page import PAGE
from brownout.scenario import FaultSpec, format_duration

if TYPE_CHECKING:
    from locust.web import WebUI

    from brownout.plugin.session import RunSession
    from brownout.plugin.testrun import TestRun

log = logging.getLogger("brownout.plugin")

TAB_KEY = "faults"
COLUMNS = (
    ("name", "Fault"), ("target", "Target"), ("kind", "Kind"), ("planned", "Planned"), ("state", "State"),
    ("outcome", "Outcome"), ("started", "Started"), ("ended", "Ended"), ("error", "Error"),
)  # fmt: skip


def install_web_ui(web_ui: WebUI, session: RunSession) -> FaultsPage:
    """Add the Faults tab and the manual fault page to Locust's web UI (master / local runner only)."""
    page = FaultsPage(session)
    args = web_ui.template_args
    args["extended_tabs"] = [*args.get("extended_tabs", []), {"title": "Faults", "key": TAB_KEY}]
    args["extended_tables"] = [
        *args.get("extended_tables", []),
        {"key": TAB_KEY, "structure": [{"key": key, "title": title} for key, title in COLUMNS]},
    ]
    args["extended_csv_files"] = [
        *args.get("extended_csv_files", []),
        {"href": "./brownout/faults", "title": "brownout: inject and heal faults by hand"},
    ]
    base = (getattr(session.environment.parsed_options, "web_base_path", "") or "").rstrip("/")
    app = web_ui.app
    assert app is not None

    def add_rows(response: Response) -> Response:
        if request.endpoint != "locust.request_stats" or response.status_code != 200:
            return response
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            others = [e for e in body.get("extended_stats") or [] if e.get("key") != TAB_KEY]
            body["extended_stats"] = [*others, {"key": TAB_KEY, "data": fault_rows(session, page.details)}]
            response.set_data(app.json.dumps(body))
        return response

    app.after_request(add_rows)
    guarded = web_ui.auth_required_if_enabled
    app.add_url_rule(f"{base}/brownout/faults", "brownout_faults", guarded(page.show), methods=["GET"])
    app.add_url_rule(f"{base}/brownout/faults/inject", "brownout_inject", guarded(page.inject), methods=["POST"])
    app.add_url_rule(f"{base}/brownout/faults/heal", "brownout_heal", guarded(page.heal), methods=["POST"])
    page.base = base
    log.info("brownout: Faults tab added; inject and heal by hand at http://%s:%s%s/brownout/faults",
             web_ui.host or "0.0.0.0", web_ui.port, base)  # fmt: skip
    return page


# --- the tab's rows ------------------------------------------------------------------------------------
def fault_rows(session: RunSession, details: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """One row per fault of the current run (before the first start: the scenario's plan)."""
    run = session.run
    specs = {spec.name: spec for spec in session.scenario.faults}
    if run is None:
        try:
            return [_planned_row(spec) for spec in session.planned_faults()]
        except InputError:
            return []  # the start form's fault names are wrong: the start will say so
    scheduler = run.scheduler
    if scheduler is None:
        return []
    return [_status_row(s, specs.get(s.name), details or {}, run.started_at) for s in scheduler.snapshot()]


def _faults_off(session: RunSession) -> bool:
    return bool(getattr(session.environment.parsed_options, "brownout_no_faults", False))


def _planned(spec: FaultSpec | None) -> str:
    if spec is None:
        return "by hand"
    if spec.when_users is not None:
        when = f"{spec.when_users} users (~+{format_duration(spec.planned_offset_s)})"
    else:
        when = f"+{format_duration(spec.planned_offset_s)}"
    return f"{when} for {format_duration(spec.duration_s)}"


def _planned_row(spec: FaultSpec) -> dict[str, str]:
    return {
        "name": spec.name, "target": spec.target, "kind": describe_kind(spec.kind, spec.params),
        "planned": _planned(spec), "state": "pending", "outcome": "", "started": "", "ended": "", "error": "",
    }  # fmt: skip


def _status_row(status: FaultStatus, spec: FaultSpec | None, details: Mapping[str, str], t0: float) -> dict[str, str]:
    final = status.state in ("healed", "failed")
    return {
        "name": status.name, "target": status.target,
        "kind": describe_kind(status.kind, spec.params) if spec else details.get(status.name, status.kind),
        "planned": _planned(spec), "state": status.state, "outcome": status.outcome if final else "",
        "started": _offset(status.actual_start, t0), "ended": _offset(status.actual_end, t0), "error": status.error,
    }  # fmt: skip


def _offset(t: float | None, t0: float) -> str:
    return "" if t is None else f"+{t - t0:.1f}s"


# --- the page ------------------------------------------------------------------------------------------
class FaultsPage:
    def __init__(self, session: RunSession) -> None:
        self.session = session
        self.base = ""
        self.form_token = secrets.token_urlsafe(32)
        self.details: dict[str, str] = {}  # manual fault name -> its kind as the tab shows it

    # views
    def show(self) -> BaseResponse:
        try:
            self._check_origin()
        except Refused as exc:
            return self._answer(exc.status, error=str(exc))
        return self._answer(200, message=request.args.get("message", ""))

    def inject(self) -> BaseResponse:
        return self._act(self._inject)

    def heal(self) -> BaseResponse:
        return self._act(self._heal)

    # actions
    def _inject(self, fields: Mapping[str, str]) -> str:
        run = self.session.run
        if run is None or run.finished:
            raise Refused(409, "no test run in progress: start one first, then inject")
        spec, detail = manual_fault(self.session, fields)
        scheduler = self._scheduler_for_manual(run)
        number = 1 + sum(1 for s in scheduler.snapshot() if s.name.startswith("manual-"))
        spec = replace(spec, name=f"manual-{number}-{spec.name}")
        try:
            driver = build_driver(spec, self.session.target.endpoints)
        except InputError as exc:
            raise Refused(400, str(exc)) from None
        try:
            scheduler.inject_now(spec, driver)
        except (ValueError, RuntimeError) as exc:
            raise Refused(409, str(exc)) from None
        self.details[spec.name] = detail
        log.info("brownout: %s injected by hand (%s on %s)", spec.name, detail, spec.target)
        return spec.name

    def _heal(self, fields: Mapping[str, str]) -> str:
        name = fields.get("name", "").strip()
        if not name:
            raise Refused(400, "field 'name': say which fault to heal")
        run = self.session.run
        if run is None or run.scheduler is None:
            raise Refused(409, "no faults in this run: nothing to heal")
        try:
            run.scheduler.heal_now(name)
        except LookupError as exc:
            raise Refused(404, str(exc)) from None
        except RuntimeError as exc:
            raise Refused(409, str(exc)) from None
        log.info("brownout: %s healed by hand", name)
        return name

    def _scheduler_for_manual(self, run: TestRun) -> FaultScheduler:
        if run.scheduler is None:
            # A run without scheduled faults (none planned, or --brownout-no-faults) gets an empty
            # schedule, so manual faults are journaled and healed at the end like any other.
            scheduler = FaultScheduler((), {}, journal=FaultJournal(run.out))
            scheduler.start()
            run.scheduler = scheduler
        return run.scheduler

    # request handling
    def _act(self, action: Callable[[Mapping[str, str]], str]) -> BaseResponse:
        fields = _fields()
        try:
            self._check_origin()
            self._check_token(fields)
            name = action(fields)
        except Refused as exc:
            if _wants_json():
                return _json(exc.status, {"error": str(exc)})
            return self._answer(exc.status, error=str(exc))
        run = self.session.run
        status = next((s for s in run.scheduler.snapshot() if s.name == name), None) if run and run.scheduler else None
        if _wants_json():
            return _json(200, {"name": name, "state": status.state if status else "unknown"})
        done = "healing" if action == self._heal else "injecting"
        return redirect(f"{self.base}/brownout/faults?{urlencode({'message': f'{done} {name}'})}", code=303)

    def _check_origin(self) -> None:
        require_loopback_peer(request.remote_addr, "the manual fault page")
        headers = request.headers
        require_same_site(request.host, request.scheme, headers.get("Origin"), headers.get("Sec-Fetch-Site"))

    def _check_token(self, fields: Mapping[str, str]) -> None:
        form_token = fields.get("csrf_token", "")
        bearer = bearer_token(request.headers.get("Authorization")) or ""
        if not form_token and not bearer:
            raise Refused(401, "missing token: post from the page's form, or send Authorization: Bearer <stack token>")
        if form_token and same_secret(form_token, self.form_token):
            return
        tokens = (self.session.target.endpoints.token, os.environ.get("BROWNOUT_TOKEN"))
        if bearer and any(token and same_secret(bearer, token) for token in tokens):
            return
        raise Refused(403, "wrong token: reload the page (the form token changes with each Locust process)")

    def _answer(self, status: int, message: str = "", error: str = "") -> Response:
        session = self.session
        names = target_names(session)
        html = render_template_string(
            PAGE, base=self.base, token=self.form_token if status != 403 else "", message=message, error=error,
            scenario=session.scenario.name, run=session.run, rows=fault_rows(session, self.details),
            columns=COLUMNS, scenario_faults=session.scenario.faults, kinds=MANUAL_KINDS,
            dependencies=APP_DEPENDENCIES, names=sorted({*names["proxy"], *names["component"]}),
            faults_off=_faults_off(session),
        )  # fmt: skip
        return make_response(html, status)


# --- small helpers -------------------------------------------------------------------------------------
def _fields() -> dict[str, str]:
    if request.form:
        return {key: str(value) for key, value in request.form.items()}
    body: Any = request.get_json(silent=True)
    return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _json(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
