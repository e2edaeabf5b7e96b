"""JSON in and out as Toxiproxy's Go server reads and writes it (encoding/json into structs).

Reading, as Go's decoder fills a struct: only the first JSON value of a body counts (anything after it is
never read); a key names a field exactly or in any letter case (`"Upstream"`, `"TYPE"`), the later key
winning; and `null` leaves a field as it was (the default, or the current value in an update).

Writing, as Go's `json.Marshal`: compact, `<`, `>`, `&` (and U+2028/U+2029) escaped, other characters as
UTF-8, no trailing newline; an error body ends in one, as Go's `http.Error` writes it. So a script that
greps `"enabled":true` out of a response finds it in both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from brownout.proxy.errors import ApiError

_DECODER = json.JSONDecoder()
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def decode(raw: bytes) -> object:
    """The first JSON value of a request body; ApiError(400) when there is none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(f"bad request body: not UTF-8 ({exc})") from None
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise ApiError("bad request body: EOF (the body is empty; send a JSON object)")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ApiError(f"bad request body: not valid JSON ({exc})") from None
    return value


def fields(body: Mapping[str, object], names: Iterable[str]) -> dict[str, object]:
    """The values `body` gives for `names` (in any letter case), as Go sets struct fields; nulls left out."""
    by_folded = {name.casefold(): name for name in names}
    found: dict[str, object] = {}
    for key, value in body.items():
        name = key if key in by_folded.values() else by_folded.get(key.casefold())
        if name is not None and value is not None:
            found[name] = value
    return found


def extra_keys(body: Mapping[str, object], names: Iterable[str]) -> list[str]:
    """The keys of `body` with a value that name none of `names` in any letter case (Go ignores them)."""
    folded = {name.casefold() for name in names}
    return [key for key, value in body.items() if value is not None and key.casefold() not in folded]


def encode(payload: object) -> str:
    """`payload` as Go's json.Marshal writes it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).translate(_GO_ESCAPES)
