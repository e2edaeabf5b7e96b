"""brownout's Locust hooks: importing this module (a locustfile does) registers them on `locust.events`.

On the master or the local runner it owns the run: starts the scenario's stack when no `--host` is given,
binds the fault scheduler to test start / stop, writes the history (`timeline.csv`, `users.csv`,
`telemetry.csv`, `faults.csv`, `integrity.json`, `manifest.json`) and adds a Faults tab to the web UI.
On a worker it only records and sends its buckets and acknowledgements to the master with each report.

Users call `acknowledge(environment, kind, id)` for every write the target acknowledged (any kind: the
sample's "messages" and "workflows", or "records", ...; read back after the heal, see brownout.scenario.audit) and
`record_stream(environment, gaps=, duplicates=)` when a stream user stops.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import TYPE_CHECKING, Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from brownout.errors import BrownoutError
from brownout.plugin.books import Books, books_for
from brownout.plugin.guard import pull_on_sigusr1
from brownout.plugin.options import add_options
from brownout.plugin.shape import ScenarioShape
from brownout.plugin.timeline import Outcome

if TYPE_CHECKING:
    from brownout.plugin.session import RunSession

log = logging.getLogger("brownout.plugin")

_REPORT_KEY = "brownout"
# A worker's last buckets and acknowledgements, sent as soon as its users have stopped (its final stats
# report may come later, or not at all when the test is stopped from the web UI).
_FINAL_MESSAGE = "brownout_final"
_DEGRADED_HEADER = "X-Degraded"


def acknowledge(environment: Environment, kind: str, ident: object) -> None:
    """The target acknowledged a write of `kind` (free-form, e.g. "records"); it is read back after the heal."""
    books_for(environment).ledger.acknowledge(kind, ident)


def record_stream(environment: Environment, *, gaps: int, duplicates: int) -> None:
    """A stream user's tally of sequence gaps and duplicates, reported once when it stops."""
    books_for(environment).ledger.record_stream(gaps, duplicates)


def _outcome(exception: BaseException | None, response: Any, context: dict[str, Any] | None) -> Outcome:
    if exception is not None:
        return "failed"
    if context and context.get("degraded"):
        return "degraded"
    headers = getattr(response, "headers", None)
    if headers is not None and headers.get(_DEGRADED_HEADER) == "1":
        return "degraded"
    return "ok"


def _bind_worker(environment: Environment, books: Books) -> None:
    def payload() -> dict[str, Any]:
        return {"timeline": books.timeline.drain(), "ledger": books.ledger.drain()}

    def on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[_REPORT_KEY] = payload()

    def on_test_stop(**_: Any) -> None:
        assert environment.runner is not None
        environment.runner.send_message(_FINAL_MESSAGE, {_REPORT_KEY: payload()})

    environment.events.report_to_master.add_listener(on_report)
    environment.events.test_stop.add_listener(on_test_stop)


def _stop_gracefully_on_sigterm(environment: Environment) -> None:
    """Headless with a load shape, Locust installs its SIGTERM handler only after the shape has run to its
    end, so a SIGTERM during the run would kill the process with faults still in force. Until the test
    stops, a SIGTERM quits the runner instead: test_stop heals, and Locust then shuts down as after Ctrl-C."""
    options = environment.parsed_options
    if not getattr(options, "headless", False) or environment.shape_class is None or environment.runner is None:
        return
    runner = environment.runner

    def on_sigterm() -> None:
        log.warning("brownout: SIGTERM: stopping the test and healing its faults")
        environment.process_exit_code = 128 + signal.SIGTERM
        runner.quit()

    watcher = gevent.signal_handler(signal.SIGTERM, on_sigterm)
    environment.events.test_stop.add_listener(lambda **_: watcher.cancel())  # Locust's own handler takes over


def _ctrl_c_into_this_greenlet() -> None:
    """From now on a Ctrl-C is thrown into the calling greenlet: Locust's main one, which waits for the run
    and answers KeyboardInterrupt by shutting down (and, while the stack starts, stops it).

    Python raises it wherever the main thread happens to be, and under gevent that is any greenlet: the
    stack supervisor's, a fork hook (where Python ignores it), or a fault lane's thread, which swallows
    it. Then the start, or the run, went on as if Ctrl-C had never been pressed, with that lane dead and
    its fault never healed.
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # Ctrl-C ignored (a background job) or someone else's: left alone
    waiting, loop = gevent.getcurrent(), gevent.get_hub().loop

    def on_sigint(_signum: int, _frame: Any) -> None:
        loop.run_callback(waiting.throw, KeyboardInterrupt)

    signal.signal(signal.SIGINT, on_sigint)


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any, **_kw: Any) -> None:
    add_options(parser)


@events.init.add_listener
def _on_init(environment: Environment, web_ui: Any = None, **_kw: Any) -> None:
    books = books_for(environment)

    def on_request(request_type: str, name: str, response_time: float, exception: BaseException | None = None,
                   response: Any = None, context: dict[str, Any] | None = None, **_: Any) -> None:
        books.timeline.record(request_type, name, time.time(), response_time or 0.0,
                              _outcome(exception, response, context))

    environment.events.request.add_listener(on_request)
    if isinstance(environment.runner, WorkerRunner):
        _bind_worker(environment, books)
        return
    session = _open_session(environment, books, web_ui)
    if web_ui is not None:
        from brownout.plugin.webui import install_web_ui

        install_web_ui(web_ui, session)
    _bind_master(environment, books)
    environment.events.test_start.add_listener(lambda **_: session.on_test_start())
    environment.events.test_stop.add_listener(lambda **_: session.on_test_stop())
    _stop_gracefully_on_sigterm(environment)
    pull_on_sigusr1(session.pull_kill_switch)
    # `quit`, not `quitting`: it fires after the runner has quit, when every worker's last report is in.
    environment.events.quit.add_listener(lambda **_: session.close())


def _open_session(environment: Environment, books: Books, web_ui: Any) -> RunSession:
    """The master's or local runner's session (stack, faults, writers), or SystemExit(2) saying why not."""
    from brownout.plugin.session import RunSession  # master/local only

    _ctrl_c_into_this_greenlet()
    try:
        return RunSession.open(environment, books, web_ui=web_ui is not None)
    except (BrownoutError, KeyboardInterrupt) as exc:
        # Ctrl-C while the stack starts or pre-flight asks: the stack is stopped already; no traceback.
        interrupted = "interrupted (Ctrl-C) before the load started: no test was run"
        log.error("brownout: %s", interrupted if isinstance(exc, KeyboardInterrupt) else exc)
        environment.process_exit_code = 2
        if environment.runner is not None:
            environment.runner.quit()
        raise SystemExit(2) from None


def _bind_master(environment: Environment, books: Books) -> None:
    """Merge the workers' buckets and acknowledgements into the master's books as their reports arrive."""

    def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        part = data.get(_REPORT_KEY)
        if part:
            books.timeline.merge(part["timeline"])
            books.ledger.merge(part["ledger"])

    def on_worker_final(client_id: str, data: dict[str, Any]) -> None:
        on_worker_report(client_id, data)
        books.final_reports.add(client_id)

    environment.events.worker_report.add_listener(on_worker_report)
    if environment.runner is not None:
        environment.runner.register_message(_FINAL_MESSAGE, lambda msg, **_: on_worker_final(msg.node_id, msg.data))


__all__ = ["ScenarioShape", "acknowledge", "record_stream"]
