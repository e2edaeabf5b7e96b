"""The column-wise timeline reader reads exactly what the row-by-row reader reads, or declines the file."""

import random
from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.history import (
    LatencyHistogram,
    Manifest,
    Timeline,
    TimelineRow,
    TimelineWriter,
    fast_reader,
    iter_timeline,
    load_history,
    write_manifest,
)
from brownout.history.fast_reader import read_timeline_columns

HEADER = "t,type,name,ok,degraded,failed,hist\n"


def _row_by_row(directory: Path) -> Timeline:
    return Timeline.from_rows(iter_timeline(directory), 0.25)


def _same(a: Timeline, b: Timeline) -> None:
    assert list(a.series) == list(b.series)
    for name, one in a.series.items():
        other = b.series[name]
        assert (one.times, one.ok, one.degraded, one.failed) == (
            other.times,
            other.ok,
            other.degraded,
            other.failed,
        )
        assert one.hists == other.hists
    merged, other_merged = a.all_operations(), b.all_operations()
    assert (merged.times, merged.ok, merged.hists) == (other_merged.times, other_merged.ok, other_merged.hists)


def _write(directory: Path, text: str | bytes) -> Path:
    path = directory / "timeline.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return directory


def test_what_the_writer_writes_takes_the_fast_path_and_reads_identically(tmp_path, monkeypatch):
    rng = random.Random(9)
    operations = [("GET", "/a"), ("POST", "/b, quoted"), ("WS", "/s")]
    with TimelineWriter(tmp_path) as writer:
        for index in range(400):
            for request_type, name in rng.sample(operations, rng.randint(1, 3)):
                hist = LatencyHistogram.of(rng.lognormvariate(3, 1.5) for _ in range(rng.randrange(0, 30)))
                failed = rng.randrange(hist.count + 1)
                row = TimelineRow(1000.0 + index * 0.25, request_type, name, hist.count - failed, 0, failed, hist)
                writer.append(row)
                if rng.random() < 0.05:  # a late request: a second row for an already written bucket
                    writer.append(TimelineRow(row.t, request_type, name, 1, 0, 0, LatencyHistogram.of([7])))
    columns = read_timeline_columns(tmp_path)
    assert columns is not None
    _same(Timeline.from_columns(columns, 0.25), _row_by_row(tmp_path))
    # read in chunks of a few lines, converted one after the other: the same columns
    monkeypatch.setattr(fast_reader, "_CHUNK_BYTES", 200)
    chunked = read_timeline_columns(tmp_path)
    assert chunked is not None
    _same(Timeline.from_columns(chunked, 0.25), _row_by_row(tmp_path))


ACCEPTED = {
    "plain": HEADER + "1.0,GET,/a,2,0,1,5:1 900:2\n1.25,GET,/a,0,0,0,\n",
    "no final newline, blank lines": HEADER + "\n1.0,GET,/a,2,0,1,5:1 900:2\n\n1.25,GET,/a,1,0,0,3:1",
    "out of order, one bucket twice": HEADER
    + "2.0,GET,/a,1,0,0,5:1\n1.0,GET,/a,1,0,0,5:1\n2.0,POST,/b,1,0,0,9:1\n2.0,GET,/a,0,1,0,5:1 6:3\n",
    "duplicate keys and zero counts": HEADER + "1.0,GET,/a,1,0,0,9:1 5:2 5:0 7:0\n1.25,GET,/a,0,0,0,7:0\n",
    "quoted cells and CRLF": '"t","type","name","ok","degraded","failed","hist"\r\n'
    '1.0,GET,"/a, b",1,0,0,"5:1"\r\n1.0,"GET /a,",b,1,0,0,5:2\r\n',
    "numbers int() and float() accept": HEADER + "1e0,GET,/a,+1,0,0,005:01\n",
    "one operation name from two type/name pairs": HEADER + "1.0,GET a,b,1,0,0,5:1\n1.0,GET,a b,1,0,0,6:1\n",
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_valid_files_in_unusual_forms_read_identically_on_the_fast_path(tmp_path, case):
    directory = _write(tmp_path, ACCEPTED[case])
    columns = read_timeline_columns(directory)
    assert columns is not None
    _same(Timeline.from_columns(columns, 0.25), _row_by_row(directory))


DECLINED = {
    "spaces around pairs": HEADER + "1.0,GET,/a,1,0,0, 5:1  6:1\n",
    "a pair without a count": HEADER + "1.0,GET,/a,1,0,0,5:1 7\n",
    "a count without a key": HEADER + "1.0,GET,/a,1,0,0,:1\n",
    "two colons": HEADER + "1.0,GET,/a,1,0,0,5:1:2\n",
    "a number without a pair": HEADER + "1.0,GET,/a,1,0,0,5\n",
    "wide digits": HEADER + "1.0,GET,/a,1,0,0,\uff15:1\n",
    "nineteen digits": HEADER + "1.0,GET,/a,1,0,0,5:1234567890123456789\n",
    "a newline inside a quoted cell": HEADER + '1.0,GET,/a,1,0,0,"5:1\n6:1"\n',
    "negative count": HEADER + "1.0,GET,/a,-1,0,0,5:1\n",
    "not a number": HEADER + "1.0,GET,/a,one,0,0,5:1\n",
    "infinite time": HEADER + "inf,GET,/a,1,0,0,5:1\n",
    "short row": HEADER + "1.0,GET,/a,1,0,0\n",
    "wrong header": "t,type,name,ok,degraded,failed,histogram\n1.0,GET,/a,1,0,0,5:1\n",
    "header only": HEADER,
    "a blank line before the header": "\n" + HEADER + "1.0,GET,/a,1,0,0,5:1\n",
    "a blank line before a quoted header": '\n"t",type,name,ok,degraded,failed,hist\n1.0,GET,/a,1,0,0,5:1\n',
    "empty file": "",
    "unterminated quote": HEADER + '1.0,GET,"/a,1,0,0,5:1\n',
    "implausible count": HEADER + "1.0,GET,/a,1099511627776,0,0,5:1\n",
    "implausible histogram": HEADER + "1.0,GET,/a,1,0,0,5:1099511627775 6:1\n",
    "a time far out": HEADER + "1e300,GET,/a,1,0,0,5:1\n2.0,GET,/a,1,0,0,5:1\n",
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_odd_or_damaged_files_are_left_to_the_row_by_row_reader(tmp_path, case):
    directory = _write(tmp_path, DECLINED[case])
    write_manifest(directory, Manifest(started_at=0.0, ended_at=2.0))
    for name in ("users.csv", "faults.csv"):
        (directory / name).write_text(
            {"users.csv": "t,users,step\n", "faults.csv": "name,target,kind,params,planned_start,"
             "planned_end,actual_start,actual_end,outcome,error\n"}[name]
        )  # fmt: skip
    assert read_timeline_columns(directory) is None
    try:
        expected: Timeline | str = _row_by_row(directory)
    except InputError as exc:
        expected = str(exc)
    try:
        found: Timeline | str = load_history(directory).timeline
    except InputError as exc:
        found = str(exc)
    if isinstance(expected, str):
        assert found == expected
    else:
        assert isinstance(found, Timeline)
        _same(found, expected)


def test_a_file_that_is_not_utf8_is_declined(tmp_path):
    assert read_timeline_columns(_write(tmp_path, HEADER.encode() + b"1.0,GET,/\xff,1,0,0,5:1\n")) is None
    assert read_timeline_columns(tmp_path / "missing") is None
