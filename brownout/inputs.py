"""Typed reading of one TOML table, with errors that name the file, the place and the field.

Every scenario or stack-file mistake must point at exactly what to fix, so all reads go through `TomlTable`, which
remembers where it is (`faults[2] "upstream-down"`), and `TomlTable.finish()` rejects unknown keys with
the closest known one as a suggestion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brownout.errors import InputError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """'45s', '2m', '1m30s', '500ms', '1h' -> seconds. Raises ValueError with a hint."""
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("empty duration")
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(compact):
        raise ValueError(f'cannot read duration {text!r}: write it like "45s", "2m", "1m30s" or "500ms"')
    return total


def _type_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


class TomlTable:
    """One TOML table being read; `where` is how errors name it, e.g. 'faults[2] "upstream-down"'."""

    def __init__(self, data: object, *, file: Path | str, where: str) -> None:
        self.file = str(file)
        self.where = where
        if not isinstance(data, Mapping):
            raise self._error(f"must be a table, got {_type_name(data)}")
        self._data: Mapping[str, Any] = data
        self._seen: set[str] = set()

    # --- errors -----------------------------------------------------------------------------------
    def _error(self, message: str) -> InputError:
        place = f"{self.where}: " if self.where else ""
        return InputError(f"{self.file}: {place}{message}")

    def error(self, field: str, message: str) -> InputError:
        return self._error(f"field {field!r}: {message}")

    def missing(self, field: str, hint: str) -> InputError:
        return self._error(f"field {field!r} is missing: {hint}")

    # --- presence ---------------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> list[str]:
        return list(self._data)

    def as_dict(self) -> dict[str, Any]:
        self._seen.update(self._data)
        return dict(self._data)

    def raw(self, key: str, default: Any = None) -> Any:
        self._seen.add(key)
        return self._data.get(key, default)

    def _required(self, key: str) -> Any:
        self._seen.add(key)
        if key not in self._data:
            raise self._error(f"field {key!r} is missing")
        return self._data[key]

    def _get(self, key: str, required: bool) -> Any:
        return self._required(key) if required else self.raw(key)

    # --- typed reads ------------------------------------------------------------------------------
    def string(
        self, key: str, *, required: bool = False, default: str | None = None, choices: tuple[str, ...] = ()
    ) -> str | None:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_type_name(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        if choices and value not in choices:
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error(key, f"unknown value {value!r}{hint}; expected one of {', '.join(choices)}")
        return value

    def required_string(self, key: str, *, choices: tuple[str, ...] = ()) -> str:
        value = self.string(key, required=True, choices=choices)
        assert value is not None
        return value

    def boolean(self, key: str, *, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_type_name(value)}")
        return value

    def integer(
        self, key: str, *, required: bool = False, minimum: int | None = None, default: int | None = None
    ) -> int | None:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_type_name(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
        default: float | None = None,
    ) -> float | None:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {_type_name(value)} {value!r}")
        if positive and value <= 0:
            raise self.error(key, f"must be greater than 0, got {value}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value}")
        return float(value)

    def duration(self, key: str, *, required: bool = False, allow_zero: bool = False) -> float | None:
        """A duration as "1m30s" / "500ms", or a plain number of seconds."""
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(key, f'must be a duration like "45s", got {_type_name(value)}')
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise self.error(key, str(exc)) from None
        else:
            seconds = float(value)
        if seconds < 0 or (seconds == 0 and not allow_zero):
            bound = "at least 0" if allow_zero else "greater than 0"
            raise self.error(key, f"must be {bound}, got {value!r}")
        return seconds

    def string_list(self, key: str, *, required: bool = False) -> tuple[str, ...] | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, str):
            raise self.error(key, f'must be an argv list like ["prog", "arg"], never a shell string (got {value!r})')
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a non-empty list of strings (an argv list)")
        return tuple(value)

    def table(self, key: str, *, required: bool = False) -> TomlTable | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {_type_name(value)}")
        return TomlTable(value, file=self.file, where=f"{self.where}.{key}" if self.where else key)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {_type_name(value)}")
        return dict(value)

    # --- unknown keys -----------------------------------------------------------------------------
    def only(self, *known: str) -> None:
        """Reject unknown keys before reading, so a typo gets a suggestion, not a 'missing' error."""
        for key in self._data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(sorted(known))}"
                raise self._error(f"unknown field {key!r} ({hint})")

    def finish(self, extra_known: tuple[str, ...] = ()) -> None:
        """Reject keys nobody read: they are typos or options that do not exist."""
        self.only(*sorted(self._seen | set(extra_known)))


def format_duration(seconds: float) -> str:
    """120.0 -> '2m', 90 -> '1m30s', 0.5 -> '500ms': how errors show offsets."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{int(minutes)}m" if minutes else ""
    if rest or not text:
        text += f"{rest:g}s"
    return text
