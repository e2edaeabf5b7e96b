"""The read-back audit: free-form kinds, each read back through a function of the locustfile (Jepsen's
final read), or through the HTTP audit endpoint for the sample's kinds; what cannot be read back stays
unverifiable. Literal ledgers in, the exact integrity.json content out."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from brownout.checks.criteria import Criteria
from brownout.checks.integrity import check_integrity
from brownout.checks.result import Status
from brownout.history import Integrity, KindIntegrity, read_integrity, write_integrity
from brownout.net.audit_client import AuditClient
from brownout.plugin.integrity import AuditPlan, audit, audit_plan
from brownout.plugin.ledger import Ledger
from brownout.scenario.audit import AuditSettings, ReadBack
from tests.checks.checks_literals import history, rows

PLAN = AuditPlan(host="http://127.0.0.1:9", ready_url=None)


def _ledger(**kinds: list[str]) -> Ledger:
    ledger = Ledger()
    for kind, ids in kinds.items():
        for ident in ids:
            ledger.acknowledge(kind, ident)
    return ledger


def _functions(**functions: ReadBack):
    return lambda kind: functions.get(kind)


def test_a_read_back_function_finds_lost_and_duplicated_ids_of_any_kind() -> None:
    seen: list[list[str]] = []

    def read_back(client: AuditClient, ids: list[str]) -> list[str]:
        seen.append(ids)
        return ["r1", "r3", "r3", "never-acknowledged"]

    ledger = _ledger(records=["r1", "r2", "r3", "r1"])
    result = audit(PLAN, ledger, _functions(records=read_back))
    assert seen == [["r1", "r2", "r3"]]  # each acknowledged id once, sorted
    records = KindIntegrity(acknowledged=4, lost=1, duplicated=1, lost_ids=("r2",), duplicated_ids=("r3",))
    assert result == Integrity(verified=True, kinds={"records": records})
    assert result.to_json()["kinds"] == {  # only the kinds the run acknowledged: no sample nouns
        "records": {
            "acknowledged": 4, "lost": 1, "duplicated": 1, "unverifiable": 0, "lost_ids": ["r2"],
            "duplicated_ids": ["r3"], "violations": {},
        }
    }  # fmt: skip


def test_a_kind_nothing_can_read_back_is_unverifiable_and_the_check_unknown() -> None:
    ledger = _ledger(records=["a", "b"], orders=["o1"])
    result = audit(PLAN, ledger, _functions(orders=lambda client, ids: ids))
    assert (result.verified, result.unverifiable, result.lost) == (False, 2, 0)
    assert (result.kinds["records"].unverifiable, result.kinds["orders"].unverifiable) == (2, 0)
    assert result.error == "no way to read back 'records': give the locustfile a @brownout.audit('records') function"
    check = check_integrity(history(rows(0, 10), integrity=result), Criteria())
    assert check.status is Status.UNKNOWN


def test_a_read_back_that_raises_names_the_locustfile_line_and_the_log_keeps_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Kinto case: the answer had no "records" key. The message points at the read-back's own line,
    not into json or requests; the log has the whole traceback, down to the line that raised."""

    def read_back(client: AuditClient, ids: list[str]) -> list[str]:
        answer = json.loads('{"data": []}')
        return answer["records"]

    line = read_back.__code__.co_firstlineno + 2
    with caplog.at_level(logging.ERROR, logger="brownout.plugin"):
        result = audit(PLAN, _ledger(records=["a"]), _functions(records=read_back))
    assert result.error == f"read-back of 'records' failed: test_audit.py:{line} in read_back: KeyError('records')"
    assert result.kinds["records"].unverifiable == 1
    [logged] = [r for r in caplog.records if "read-back of 'records'" in r.getMessage()]
    assert logged.exc_info is not None
    text = logging.Formatter().formatException(logged.exc_info)
    assert f'line {line}, in read_back\n    return answer["records"]' in text and "KeyError: 'records'" in text


def test_a_read_back_failing_inside_a_library_points_at_the_locustfile_line_that_called_it() -> None:
    def read_back(client: AuditClient, ids: list[str]) -> list[str]:
        return json.loads("not json")

    line = read_back.__code__.co_firstlineno + 1
    result = audit(PLAN, _ledger(records=["a"]), _functions(records=read_back))
    assert result.error is not None
    expected = f"read-back of 'records' failed: test_audit.py:{line} in read_back: JSONDecodeError("
    assert result.error.startswith(expected)


def test_a_read_back_that_raises_leaves_its_kind_unverifiable_and_others_judged() -> None:
    def broken(client: AuditClient, ids: list[str]) -> list[str]:
        raise ConnectionError("refused")

    ledger = _ledger(records=["a", "b"], orders=["o1", "o2"])
    result = audit(PLAN, ledger, _functions(records=broken, orders=lambda client, ids: ["o1"]))
    assert (result.verified, result.unverifiable, result.lost, result.lost_ids) == (False, 2, 1, ["o2"])
    assert result.kinds["orders"] == KindIntegrity(acknowledged=2, lost=1, lost_ids=("o2",))
    raised_at = f"test_audit.py:{broken.__code__.co_firstlineno + 1} in broken"
    assert result.error == f"read-back of 'records' failed: {raised_at}: ConnectionError('refused')"
    check = check_integrity(history(rows(0, 10), integrity=result), Criteria())
    assert check.status is Status.FAIL  # a lost write fails, whatever else is unknown


def test_nothing_acknowledged_is_nothing_to_read_back() -> None:
    result = audit(PLAN, Ledger(), _functions())
    assert result == Integrity(verified=True)


def test_the_sample_kinds_without_an_endpoint_or_function_are_unverifiable() -> None:
    result = audit(PLAN, _ledger(messages=["m1"]), _functions())
    assert (result.verified, result.unverifiable, result.kinds["messages"].acknowledged) == (False, 1, 1)


def test_integrity_json_keeps_every_kind(tmp_path) -> None:
    kinds = {"messages": KindIntegrity(acknowledged=2), "records": KindIntegrity(acknowledged=3)}
    written = Integrity(verified=True, kinds=kinds)
    write_integrity(tmp_path, written)
    assert read_integrity(tmp_path) == written
    assert read_integrity(tmp_path).acknowledged_total == 5  # type: ignore[union-attr]


def test_the_plan_reads_ready_and_endpoint_from_audit_settings(monkeypatch) -> None:
    monkeypatch.delenv("BROWNOUT_TOKEN", raising=False)
    host = "http://127.0.0.1:8000"
    assert audit_plan(AuditSettings(), host, None, None) == AuditPlan(host, f"{host}/", ready_any_answer=True)
    stack = audit_plan(AuditSettings(), host, host, "t", entry_ready="/readyz")
    assert (stack.ready_url, stack.ready_any_answer) == (f"{host}/readyz", False)
    assert stack.endpoint_url == f"{host}/admin/audit"
    own = audit_plan(AuditSettings(ready="/health", endpoint=""), host, host, None, entry_ready="/readyz")
    assert (own.ready_url, own.endpoint_url) == (f"{host}/health", None)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"direct")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_read_backs_never_go_through_an_http_proxy(loopback_server: str, monkeypatch) -> None:
    # A proxy that does not exist: a client that honoured HTTP_PROXY would fail to connect.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    with AuditClient(loopback_server) as client:
        assert client.get("/anything").text == "direct"
    result = audit(
        AuditPlan(loopback_server, f"{loopback_server}/"), _ledger(records=["x"]),
        _functions(records=lambda client, ids: ids if client.get("/x").ok else []),
    )  # fmt: skip
    assert (result.verified, result.lost) == (True, 0)


class _SampleAudit(http.server.BaseHTTPRequestHandler):
    """The sample's `POST /admin/audit` contract, answering one literal finding of each sort."""

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = {
            "missing": ["m2", "w1"], "duplicated": ["m3"],
            "half_done_workflows": ["w9"], "leaked_reservations": ["res-1", "res-2"],
        }  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_the_sample_audit_answer_becomes_per_kind_counts_and_workflow_violations() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SampleAudit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/admin/audit"
    try:
        ledger = _ledger(messages=["m1", "m2", "m3"], workflows=["w1", "w2"])
        result = audit(AuditPlan("http://127.0.0.1:9", None, endpoint_url=url), ledger, _functions())
    finally:
        server.shutdown()
        server.server_close()
    violations = {"half-done workflows": 1, "leaked reservations": 2}
    assert result == Integrity(
        verified=True,
        kinds={
            "messages": KindIntegrity(acknowledged=3, lost=1, duplicated=1, lost_ids=("m2",), duplicated_ids=("m3",)),
            "workflows": KindIntegrity(acknowledged=2, lost=1, lost_ids=("w1",), violations=violations),
        },
    )
    reasons = check_integrity(history(rows(0, 10), integrity=result), Criteria()).reasons
    assert reasons == (
        "2 lost acknowledged writes (max 0)", "1 duplicated acknowledged writes (max 0)",
        "1 half-done workflows (max 0)", "2 leaked reservations (max 0)",
    )  # fmt: skip
