"""Locust's web UI as a place to work: the Faults tab, the start form's fault choice, and the plugin's page.

Only Locust's documented extension points (its `examples/extend_web_ui.py`, Flask routes and hooks on
`web_ui.app`, custom arguments): `web_ui.template_args` `extended_tabs` / `extended_tables` declare the
tab, its rows travel as `extended_stats` in the JSON of `/stats/requests` (added by an `after_request`
hook), and `extended_csv_files` puts links on the "Download Data" tab. The web UI camelCases every key
of both, so plain one-word keys are used throughout. Locust's tab cells are plain text, so the tab marks
states with coloured signs; the live chart with the fault windows, the heal buttons and the reports are
on the plugin's page (`<web base path>/brownout/faults`), linked from "Download Data". Locust's own
Charts tab has no documented way in.

The page is server-rendered HTML that refreshes itself from `.../brownout/faults/state.json`. Its POST
endpoints change the system under test, so every request to it must:
- come from a loopback peer, with a loopback name in its Host header (a DNS-rebinding page would send its
  own name), and not be a cross-site request (`Origin` of another site, `Sec-Fetch-Site: cross-site`);
  Locust enables CORS for every origin, so without this a foreign page could read the form token;
- and, for POSTs, carry either the page's form token (random per Locust process, embedded in the
  page's forms, CSRF style) as the `csrf_token` field, or, for scripts, `Authorization: Bearer <token>`
  with the stack's token or the `BROWNOUT_TOKEN` Locust was started with. Missing token: 401; wrong
  token, peer or origin: 403. Scripts sending `Accept: application/json` get JSON answers
  (`{"name", "state"}` or `{"error"}`); browsers get the page back (303 after a change).
POST `.../brownout/faults/inject` takes `kind` = `scenario` + `fault` (a copy of a scenario fault, now), or
one of MANUAL_KINDS + `target` (+ that kind's fields: brownout.plugin.form_fields.FORM_FIELDS for the
network and resource kinds, `dependency`, `error_rate`, `app_latency_ms` for app-errors, `peer`, `direction`
for partitions); POST `.../brownout/faults/heal` takes `name` (any active fault, scheduled ones too:
they end early). Manual faults stay in force until healed or the run stops, are journaled by the
run's scheduler (`faults.csv`) as `manual-<n>-<what>`, and a failed one does not abort the schedule.
Each test's files (report.html, report.md, junit.xml, the results folder) are under
`.../brownout/tests/<n>/` (`latest` for the last test), with the same loopback and origin rules.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, jsonify, make_response, redirect, render_template_string, request
from werkzeug.wrappers import Response as BaseResponse

from brownout.errors import InputError
from brownout.faults.drivers import build_driver
from brownout.faults.scheduler import FaultScheduler
from brownout.net.auth import bearer_token, require_loopback_peer, require_same_site, same_secret
from brownout.plugin.manual import APP_DEPENDENCIES, MANUAL_KINDS, Refused, manual_fault, target_names
from brownout.plugin.options import store_option
from brownout.plugin.plans import fault_plan, load_plan, step_text
from brownout.plugin.rows import TAB_COLUMNS, fault_rows
from brownout.plugin.start_form import guard_start
from brownout.plugin.templates.faults_page import PAGE
from brownout.plugin.tests_view import folder, test_file, test_state, tests_summary
from brownout.plugin.views import Session, Test
from brownout.scenario.schema import FaultSpec

if TYPE_CHECKING:
    from locust.web import WebUI

log = logging.getLogger("brownout.plugin")

TAB_KEY = "faults"
DOWNLOAD_LINKS = (
    ("./brownout/faults", "brownout: faults page (live chart with the fault windows, heal, inject by hand)"),
    ("./brownout/tests/latest/report.html", "brownout: report of the last test (report.html)"),
    ("./brownout/tests/latest/report.md", "brownout: report of the last test (report.md)"),
    ("./brownout/tests/latest/junit.xml", "brownout: junit.xml of the last test"),
    ("./brownout/tests/latest/", "brownout: results folder of the last test"),
    ("./brownout/faults#tests", "brownout: every test of this session"),
)


def install_web_ui(web_ui: WebUI, session: Session) -> FaultsPage:
    """Add the Faults tab, the start form's check and the plugin's pages to Locust's web UI (master / local)."""
    page = FaultsPage(session)
    page.base = (getattr(session.environment.parsed_options, "web_base_path", "") or "").rstrip("/")
    _declare_tab(web_ui.template_args)
    app = web_ui.app
    assert app is not None

    def add_rows(response: Response) -> Response:
        if request.endpoint != "locust.request_stats" or response.status_code != 200:
            return response
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            others = [e for e in body.get("extended_stats") or [] if e.get("key") != TAB_KEY]
            body["extended_stats"] = [*others, {"key": TAB_KEY, "data": tab_rows(session, page)}]
            response.set_data(app.json.dumps(body))
        return response

    session.environment.events.reset_stats.add_listener(lambda **_: _warn_reset(session))
    app.after_request(add_rows)
    app.before_request(lambda: guard_start(session))
    for rule, endpoint, view, method in _routes(page):
        app.add_url_rule(f"{page.base}{rule}", endpoint, web_ui.auth_required_if_enabled(view), methods=[method])
    log.info("brownout: Faults tab added; live chart, reports and faults by hand at http://%s:%s%s/brownout/faults",
             web_ui.host or "0.0.0.0", web_ui.port, page.base)  # fmt: skip
    return page


def _declare_tab(args: dict[str, Any]) -> None:
    """The tab, its columns and the Download Data links, in Locust's `template_args`."""
    args["extended_tabs"] = [*args.get("extended_tabs", []), {"title": "Faults", "key": TAB_KEY}]
    args["extended_tables"] = [
        *args.get("extended_tables", []),
        {"key": TAB_KEY, "structure": [{"key": key, "title": title} for key, title in TAB_COLUMNS]},
    ]
    args["extended_csv_files"] = [
        *args.get("extended_csv_files", []), *({"href": href, "title": title} for href, title in DOWNLOAD_LINKS),
    ]


def _routes(page: FaultsPage) -> tuple[tuple[str, str, Callable[..., BaseResponse], str], ...]:
    return (
        ("/brownout/faults", "brownout_faults", page.show, "GET"),
        ("/brownout/faults/state.json", "brownout_state", page.state, "GET"),
        ("/brownout/faults/inject", "brownout_inject", page.inject, "POST"),
        ("/brownout/faults/heal", "brownout_heal", page.heal, "POST"),
        ("/brownout/tests/<number>/", "brownout_test_folder", page.folder, "GET"),
        ("/brownout/tests/<number>/<name>", "brownout_test_file", page.file, "GET"),
    )  # fmt: skip


def _warn_reset(session: Session) -> None:
    run = session.current
    if run is not None and not run.finished:
        log.warning("brownout: Locust's statistics were reset during test %d: its locust_*.csv count from now, "
                    "its timeline.csv from the start of the test", run.number)  # fmt: skip


# --- the tab's rows ------------------------------------------------------------------------------------
def tab_rows(session: Session, page: FaultsPage) -> list[dict[str, str]]:
    """The faults of the current test, then where the rest is (Locust's cells are text, not links)."""
    rows = [row.for_tab() for row in fault_rows(session, page.manual)]
    blank = dict.fromkeys((key for key, _ in TAB_COLUMNS), "")
    run = session.current
    steps = run.series.columns["step"] if run is not None else []
    if run is not None and not run.finished and steps:
        step = step_text(session.scenario.load, int(steps[-1] or 0))
        rows.insert(0, {**blank, "fault": "load now", "state": step.partition(":")[0],
                        "kind": step.partition(": ")[2], "target": "(the plan: start form, faults page)"})  # fmt: skip
    if run is not None and run.abort is not None:  # first: the reason this test stopped early
        rows.insert(0, {**blank, "fault": "✗ ABORTED", "state": run.abort.message, "kind": f"test {run.number}",
                        "target": "every fault in force healed, then the load stopped"})  # fmt: skip
    if run is not None and run.report is not None:
        report = f"{page.base}/brownout/tests/{run.number}/report.html"
        rows.append({**blank, "fault": f"test {run.number} report", "state": run.report.verdict, "kind": report,
                     "target": "also under Download Data"})  # fmt: skip
    rows.append({**blank, "fault": "more", "kind": f"{page.base}/brownout/faults",
                 "target": "live chart, heal, reports: Download Data tab"})  # fmt: skip
    return rows


# --- the page ------------------------------------------------------------------------------------------
class FaultsPage:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.base = ""
        self.form_token = secrets.token_urlsafe(32)
        self.manual: dict[str, FaultSpec] = {}  # the faults injected by hand, by name (the tab describes them)

    # views
    def show(self) -> BaseResponse:
        try:
            self._check_origin()
        except Refused as exc:
            return self._answer(exc.status, error=str(exc))
        return self._answer(200, message=request.args.get("message", ""))

    def state(self) -> BaseResponse:
        try:
            self._check_origin()
        except Refused as exc:
            return _json(exc.status, {"error": str(exc)})
        return _json(200, page_state(self.session, self))

    def folder(self, number: str) -> BaseResponse:
        try:
            self._check_origin()
        except Refused as exc:
            return self._answer(exc.status, error=str(exc))
        return folder(self.session, self.base, number)

    def file(self, number: str, name: str) -> BaseResponse:
        try:
            self._check_origin()
        except Refused as exc:
            return self._answer(exc.status, error=str(exc))
        return test_file(self.session, self.base, number, name)

    def inject(self) -> BaseResponse:
        return self._act(self._inject)

    def heal(self) -> BaseResponse:
        return self._act(self._heal)

    # actions
    def _inject(self, fields: Mapping[str, str]) -> str:
        run = self.session.current
        if run is None or run.finished:
            raise Refused(409, "no test run in progress: start one first, then inject")
        spec, detail = manual_fault(self.session.scenario, self.session.target, fields)
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
        self.manual[spec.name] = spec
        log.info("brownout: %s injected by hand (%s on %s)", spec.name, detail, spec.target)
        return spec.name

    def _heal(self, fields: Mapping[str, str]) -> str:
        name = fields.get("name", "").strip()
        if not name:
            raise Refused(400, "field 'name': say which fault to heal")
        run = self.session.current
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

    def _scheduler_for_manual(self, run: Test) -> FaultScheduler:
        return run.manual_scheduler()

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
            return self._answer(exc.status, error=str(exc), form=fields)
        run = self.session.current
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

    def _answer(
        self, status: int, message: str = "", error: str = "", form: Mapping[str, str] | None = None
    ) -> Response:
        session = self.session
        names = target_names(session.target)
        token = self.form_token if status != 403 else ""
        html = render_template_string(
            PAGE, base=self.base, token=token, message=message, error=error, form=dict(form or {}),
            scenario=session.scenario, load_plan=load_plan(session.scenario.load),
            state=page_state(session, self) if status != 403 else {}, columns=_PAGE_COLUMNS,
            kinds=MANUAL_KINDS, kinds_targets={kind: info[1] for kind, info in MANUAL_KINDS.items()},
            dependencies=APP_DEPENDENCIES, names=sorted({*names["proxy"], *names["component"]}),
            fault_plan=fault_plan,
        )  # fmt: skip
        return make_response(html, status)


_PAGE_COLUMNS = (("name", "Fault"), ("state", "State"), ("what", "Kind"), ("target", "Target"),
                 ("planned", "Planned"), ("started", "Started"), ("ended", "Ended"), ("error", "Error"))  # fmt: skip


def page_state(session: Session, page: FaultsPage) -> dict[str, Any]:
    """Everything the page shows, as JSON: the current test, its chart series and faults, every test's links."""
    run = session.current
    load = session.scenario.load
    test: dict[str, Any] | None = None
    series: dict[str, Any] = {}
    if run is not None:
        series = run.series.columns
        steps = series.get("step") or []
        step = int(steps[-1] or 0) if steps else 0
        users = series.get("users") or []
        elapsed = (run.stopped_at or time.time()) - run.started_at
        test = {
            "number": run.number, "state": test_state(run), "out": str(run.out), "elapsed_s": round(elapsed, 1),
            "step": step_text(load, step) if not run.finished else "", "users": users[-1] if users else 0,
            "aborted": run.abort.message if run.abort is not None else "",
        }  # fmt: skip
    runner = session.environment.runner
    return {
        "scenario": session.scenario.name, "load_plan": load_plan(load), "locust_state": runner.state if runner else "",
        "step_starts": load.step_starts()[1:], "load_s": load.duration_s, "test": test, "series": series,
        "faults": [row.as_json() for row in fault_rows(session, page.manual)],
        "tests": tests_summary(session, page.base), "no_faults": session.fires_no_faults(),
        "store": store_option(session.environment.parsed_options),
    }  # fmt: skip


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
