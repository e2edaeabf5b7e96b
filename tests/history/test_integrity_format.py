"""integrity.json, results format 2 (per kind) and 1 (the sample's nouns as fields, still read): literal
files in, the exact record out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from brownout.errors import InputError
from brownout.history import (
    FaultsWriter,
    Integrity,
    KindIntegrity,
    Manifest,
    StreamIntegrity,
    TimelineWriter,
    UsersWriter,
    load_history,
    read_integrity,
    write_integrity,
    write_manifest,
)

FORMAT1 = Path(__file__).parent / "format1"  # integrity.json as format 1 wrote it (all of its fields in use)

# Format 1 counted lost / duplicated / unverifiable over all kinds: they stay unattributed. Its kinds come
# as its reports listed them (messages, workflows, then the others by name), and its workflow findings
# become the workflows kind's violations.
FORMAT1_RECORD = Integrity(
    verified=False,
    error="read-back of 'records' failed: boom",
    kinds={
        "messages": KindIntegrity(acknowledged=40),
        "workflows": KindIntegrity(acknowledged=7, violations={"half-done workflows": 1, "leaked reservations": 2}),
        "orders": KindIntegrity(acknowledged=2),
        "records": KindIntegrity(acknowledged=5),
    },
    stream=StreamIntegrity(users=2, gaps=1, duplicates=0),
    unattributed=KindIntegrity(lost=2, duplicated=1, unverifiable=5, lost_ids=("m1", "w2"), duplicated_ids=("m3",)),
)


def test_a_format_1_file_reads_as_the_generic_record() -> None:
    record = read_integrity(FORMAT1, format_version=1)
    assert record == FORMAT1_RECORD
    assert list(record.kinds) == ["messages", "workflows", "orders", "records"]  # type: ignore[union-attr]
    assert (record.acknowledged_total, record.lost, record.duplicated, record.unverifiable) == (54, 2, 1, 5)  # type: ignore[union-attr]
    assert record.violations == {"half-done workflows": 1, "leaked reservations": 2}  # type: ignore[union-attr]


def test_a_format_1_directory_is_read_by_its_manifest_version(tmp_path: Path) -> None:
    write_manifest(tmp_path, Manifest(started_at=0.0, ended_at=1.0, format_version=1))
    for writer in (TimelineWriter, UsersWriter, FaultsWriter):
        writer(tmp_path).close()
    shutil.copy(FORMAT1 / "integrity.json", tmp_path)
    assert load_history(tmp_path).integrity == FORMAT1_RECORD


def test_a_format_1_file_with_fields_left_out_reads_as_format_1_reported_it(tmp_path: Path) -> None:
    (tmp_path / "integrity.json").write_text('{"verified": true, "lost": 0, "duplicated": 0, "unverifiable": 0}')
    assert read_integrity(tmp_path, format_version=1) == Integrity(
        verified=True,
        kinds={
            "messages": KindIntegrity(),
            "workflows": KindIntegrity(violations={"half-done workflows": 0, "leaked reservations": 0}),
        },
    )


def test_format_2_writes_every_kind_alike_and_reads_back_identically(tmp_path: Path) -> None:
    record = Integrity(
        verified=True,
        kinds={
            "records": KindIntegrity(acknowledged=3, lost=1, lost_ids=("r2",)),
            "workflows": KindIntegrity(acknowledged=2, violations={"half-done workflows": 1}),
        },
        stream=StreamIntegrity(users=1, gaps=2),
    )
    write_integrity(tmp_path, record)
    assert json.loads((tmp_path / "integrity.json").read_text()) == {
        "verified": True,
        "error": None,
        "kinds": {
            "records": {
                "acknowledged": 3, "lost": 1, "duplicated": 0, "unverifiable": 0,
                "lost_ids": ["r2"], "duplicated_ids": [], "violations": {},
            },
            "workflows": {
                "acknowledged": 2, "lost": 0, "duplicated": 0, "unverifiable": 0,
                "lost_ids": [], "duplicated_ids": [], "violations": {"half-done workflows": 1},
            },
        },
        "stream": {"users": 1, "gaps": 2, "duplicates": 0},
    }  # fmt: skip
    assert read_integrity(tmp_path) == record


def test_a_format_1_record_written_again_keeps_its_unattributed_counts(tmp_path: Path) -> None:
    write_integrity(tmp_path, FORMAT1_RECORD)
    assert json.loads((tmp_path / "integrity.json").read_text())["unattributed"]["lost_ids"] == ["m1", "w2"]
    assert read_integrity(tmp_path) == FORMAT1_RECORD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"verified": true, "kinds": {"records": {"acknowledged": 1, "lost": -1, "duplicated": 0,'
            ' "unverifiable": 0}}, "stream": {"users": 0, "gaps": 0, "duplicates": 0}}',
            "integrity.json: field 'kinds.records.lost' must not be negative, got -1",
        ),
        (
            '{"verified": true, "kinds": {"records": {"acknowledged": 1, "lost": 0, "duplicated": 0,'
            ' "unverifiable": 0, "violations": {"leaks": "x"}}}, "stream": {"users": 0, "gaps": 0, "duplicates": 0}}',
            "integrity.json: field 'kinds.records.violations.leaks' must be an integer, got 'x'",
        ),
        (
            '{"verified": true, "kinds": {}, "stream": {"users": 0, "gaps": 0}}',
            "integrity.json: field 'stream.duplicates' is missing",
        ),
    ],
)
def test_format_2_defects_name_the_dotted_field(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "integrity.json").write_text(text)
    with pytest.raises(InputError) as caught:
        read_integrity(tmp_path)
    assert str(caught.value) == f"{tmp_path / message}"
