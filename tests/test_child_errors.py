"""ErrorTail passes a child's stderr through unchanged and keeps its last error message."""

from __future__ import annotations

import io

from brownout.run.child_errors import ErrorTail

LOG = (
    "[2026-11-30 02:27:47,100] vm/INFO/locust.main: Starting Locust 2.47.0\n"
    "[2026-11-30 02:27:47,200] vm/ERROR/locust.main: first problem\n"
    "a traceback line: ERROR/ not in the log format\n"
    "[2026-11-30 02:27:47,392] vm/ERROR/brownout.plugin: brownout: faults[0] \"x\": needs the fault proxy\n"
    "[2026-11-30 02:27:47,400] vm/INFO/locust.main: Shutting down (exit code 2)\n"
)


def test_the_last_error_message_is_kept_and_everything_passes_through() -> None:
    sink = io.StringIO()
    tail = ErrorTail(io.StringIO(LOG), sink)
    assert tail.join() == 'faults[0] "x": needs the fault proxy'
    assert sink.getvalue() == LOG


def test_no_error_is_an_empty_message() -> None:
    assert ErrorTail(io.StringIO("all fine\n"), io.StringIO()).join() == ""


def test_the_indented_lines_of_a_multi_line_error_are_joined_on_but_not_a_traceback() -> None:
    log = (
        "[2026-11-30 02:27:47,392] vm/ERROR/brownout.plugin: brownout: pre-flight: 2 problem(s) before any load:\n"
        "  s.toml: [target] host: nothing answers\n"
        "  s.toml: faults[0] \"x\": no such proxy\n"
        "[2026-11-30 02:27:47,400] vm/INFO/locust.main: Shutting down (exit code 2)\n"
        "  an indented line after an INFO one\n"
    )
    assert ErrorTail(io.StringIO(log), io.StringIO()).join() == (
        'pre-flight: 2 problem(s) before any load: s.toml: [target] host: nothing answers; s.toml: faults[0] "x": '
        "no such proxy"
    )
    traceback = (
        "[2026-11-30 02:27:47,392] vm/ERROR/locust.main: it broke\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
    )
    assert ErrorTail(io.StringIO(traceback), io.StringIO()).join() == "it broke"
