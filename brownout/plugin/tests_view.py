"""The tests of a web UI session and their files: `<base>/brownout/tests[/<n>|latest[/<file>]]`.

Only the top-level files of a test's results directory are served (the stack's own folder, which holds
its token, is not), and only to the same loopback browsers as the faults page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, make_response, render_template_string, send_from_directory
from werkzeug.wrappers import Response as BaseResponse

from brownout.plugin.templates.tests_page import FOLDER, WAITING
from brownout.plugin.testrun import REPORT_FILES
from brownout.plugin.views import Session, Test

_TEXT_TYPES = {".md": "text/markdown; charset=utf-8", ".csv": "text/csv; charset=utf-8",
               ".json": "application/json", ".xml": "application/xml"}  # fmt: skip


def test_state(run: Test) -> str:
    if not run.finished:
        return "running"
    if not run.written_up:
        return "writing up" if run.settled.is_set() else "healing and counting"
    return "done"


def tests_summary(session: Session, base: str) -> list[dict[str, Any]]:
    """Newest first: number, state, verdict and links of every test of the session."""
    summary = []
    for run in reversed(session.tests):
        link = f"{base}/brownout/tests/{run.number}"
        report = run.report
        summary.append({
            "number": run.number, "state": test_state(run), "out": str(run.out),
            "verdict": report.verdict if report else "", "folder": f"{link}/",
            "files": [{"name": name, "href": f"{link}/{name}"} for name in (report.files if report else ())],
        })  # fmt: skip
    return summary


def _find(session: Session, number: str) -> Test | None:
    if number == "latest":
        return session.tests[-1] if session.tests else None
    return next((run for run in session.tests if str(run.number) == number), None)


def folder(session: Session, base: str, number: str) -> BaseResponse:
    run = _find(session, number)
    if run is None:
        return _waiting(base, "no such test in this session", 404)
    files = sorted(p.name for p in run.out.iterdir() if p.is_file()) if run.out.is_dir() else []
    html = render_template_string(FOLDER, base=base, run=run, files=files, state=test_state(run),
                                  link=f"{base}/brownout/tests/{run.number}")  # fmt: skip
    return make_response(html, 200)


def test_file(session: Session, base: str, number: str, name: str) -> BaseResponse:
    run = _find(session, number)
    if run is None:
        return _waiting(base, "no test has been started in this session yet", 404)
    path = run.out / name
    if "/" in name or name.startswith(".") or not path.is_file():
        if name in REPORT_FILES and not run.written_up:
            return _waiting(base, f"test {run.number} is {test_state(run)}: its report is written when it is done", 404)
        return _waiting(base, f"test {run.number} has no file {name!r}", 404)
    response: Response = send_from_directory(run.out, name, max_age=0)
    if Path(name).suffix in _TEXT_TYPES:
        response.headers["Content-Type"] = _TEXT_TYPES[Path(name).suffix]
    return response


def _waiting(base: str, message: str, status: int) -> BaseResponse:
    return make_response(render_template_string(WAITING, base=base, message=message), status)
