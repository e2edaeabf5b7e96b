"""Reading input files: one TOML loader and one validator whose errors name the file, the place and the field.

Every scenario, stack-file, criteria or tolerance mistake must point at exactly what to fix, so all reads go
through `TomlTable`, which remembers where it is (`faults[2] "upstream-down"`, `criteria`), checks each value
against a declared `Field` (a kind and its bounds), and rejects unknown keys with the closest known one as a
suggestion. `load_toml` is the one way a TOML file is read; its failures name the file (and the line).

    table = TomlTable(load_toml(path, "tolerance file"), file=path, where="[stats]")
    replicates = table.read("replicates", Field("integer", minimum=100, maximum=100_000))

A frozen dataclass declares its fields with `declared` (`availability_min: float = declared("number", 0.6,
ratio=True)`) and is read whole by `TomlTable.read_into(cls)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from brownout.errors import InputError

T = TypeVar("T")

# --- files ------------------------------------------------------------------------------------------


def read_text(path: Path | str, what: str = "file") -> str:
    """A UTF-8 input file's text; `what` ("scenario file") is how the errors call it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read the {what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def loads_toml(text: str, path: Path | str) -> dict[str, Any]:
    """Parse TOML text read from `path`; the decode error's own text says the line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def load_toml(path: Path | str, what: str = "file") -> dict[str, Any]:
    return loads_toml(read_text(path, what), path)


# --- durations --------------------------------------------------------------------------------------
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


def format_duration(seconds: float) -> str:
    """120.0 -> '2m', 90 -> '1m30s', 0.5 -> '500ms': how errors show offsets."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{int(minutes)}m" if minutes else ""
    if rest or not text:
        text += f"{rest:g}s"
    return text


# --- declared fields --------------------------------------------------------------------------------
# number, integer, string, bool; duration ("1m30s" or seconds); argv (a command's non-empty list of strings);
# names (a list of non-empty strings, each one of `choices` if given); numbers (a table of name -> number,
# the bounds apply to each number)
Kind = Literal["number", "integer", "string", "bool", "duration", "argv", "names", "numbers"]


@dataclass(frozen=True)
class Field:
    """What one field takes: its kind and bounds. Bounds are inclusive; `positive` means greater than 0."""

    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    ratio: bool = False  # a share: 0..1
    finite: bool = False  # refuse inf too (nan is never a number)
    choices: tuple[str, ...] = ()
    strip: bool = False  # a string is kept without surrounding blanks


def declared(kind: Kind, default: T, **bounds: Any) -> T:
    """A dataclass field that `TomlTable.read_into` reads: `limit_s: float = declared("number", 30.0, minimum=0)`."""
    metadata = {"input": Field(kind, **bounds)}
    if isinstance(default, dict):  # a mutable default: each instance gets its own copy
        copied: T = dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)  # type: ignore[assignment]
        return copied
    return dataclasses.field(default=default, metadata=metadata)


class _Invalid(ValueError):
    """What is wrong with a value; the table adds the file, the place and the field."""


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def suggest(value: str, known: Collection[str], shown: Mapping[str, str] | None = None) -> str:
    """"did you mean 'x'?" for the closest of `known` (shown as `shown` maps it), or ""."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"did you mean {(shown or {}).get(close[0], close[0])!r}?" if close else ""


# --- names known only after the run -----------------------------------------------------------------
# Locust names an operation "TYPE name" ("GET /x"; with name="PUT /v1/x" on a PUT, "PUT PUT /v1/x"), and
# criteria and tolerances key operations by that name. A key without the type is accepted too: it is how
# the user wrote the name in the locustfile, and the doubled type is easy to miss.


def untyped(operation: str) -> str:
    """An operation's name without Locust's request type: "PUT PUT /v1/x" -> "PUT /v1/x"."""
    return operation.split(" ", 1)[1] if " " in operation else operation


def names_operation(key: str, operation: str) -> bool:
    return key in (operation, untyped(operation))


def for_operation(table: Mapping[str, T], operation: str) -> T | None:
    """`table`'s value for an operation: by its whole name, else by its name without the type."""
    own = table.get(operation)
    return table.get(untyped(operation)) if own is None else own


def unmatched_operation(key: str, operations: Collection[str], of: str = "the run") -> str | None:
    """None when `key` names an operation of `operations`; else why not, with the closest one."""
    if any(names_operation(key, operation) for operation in operations):
        return None
    # Compared with the whole names and the names without the type; suggested as a whole name.
    shown = {untyped(op): op for op in operations} | {op: op for op in operations}
    hint = suggest(key, shown, shown)
    return f"{key!r} matches no operation of {of}" + (f" ({hint})" if hint else "")


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        hint = suggest(value, choices)
        raise _Invalid(f"unknown value {value!r}{f' ({hint})' if hint else ''}; expected one of {', '.join(choices)}")
    return value


def _bounded(value: float, field: Field) -> None:
    if field.positive and value <= 0:
        raise _Invalid(f"must be greater than 0, got {value}")
    if field.minimum is not None and value < field.minimum:
        raise _Invalid(
            f"must not be negative, got {value}"
            if field.minimum == 0
            else f"must be at least {field.minimum}, got {value}"
        )
    if field.maximum is not None and value > field.maximum:
        raise _Invalid(f"must be at most {field.maximum}, got {value}")
    if field.ratio and not 0 <= value <= 1:
        raise _Invalid(f"is a ratio, must be within 0..1, got {value}")


def _number(value: Any, field: Field) -> float:
    # a NaN would pass every bound unnoticed, so it is refused as not a number at all
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        shown = "nan" if isinstance(value, float) else f"{_type_name(value)} {value!r}"
        raise _Invalid(f"must be a number, got {shown}")
    if field.finite and math.isinf(value):
        raise _Invalid(f"must be a finite number, got {value}")
    _bounded(value, field)
    return float(value)


def _integer(value: Any, field: Field) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"must be an integer, got {_type_name(value)} {value!r}")
    _bounded(value, field)
    return value


def _string(value: Any, field: Field) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, got {_type_name(value)}")
    if not value.strip():
        raise _Invalid("must not be empty")
    if field.choices:
        _one_of(value, field.choices)
    return value.strip() if field.strip else value


def _boolean(value: Any, field: Field) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, got {_type_name(value)}")
    return value


def _duration(value: Any, field: Field) -> float:
    """A duration as "1m30s" / "500ms", or a plain number of seconds; 0 only when not `positive`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Invalid(f'must be a duration like "45s", got {_type_name(value)}')
    try:
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    if seconds < 0 or (seconds == 0 and field.positive):
        raise _Invalid(f"must be {'greater than 0' if field.positive else 'at least 0'}, got {value!r}")
    return seconds


def _argv(value: Any, field: Field) -> tuple[str, ...]:
    if isinstance(value, str):
        raise _Invalid(f'must be an argv list like ["prog", "arg"], never a shell string (got {value!r})')
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _Invalid("must be a non-empty list of strings (an argv list)")
    return tuple(value)


def _names(value: Any, field: Field) -> tuple[str, ...]:
    # a tuple too: a mapping may come from a dataclass's own to_json rather than from TOML
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
        raise _Invalid(f"must be a list of non-empty strings, got {value!r}")
    return tuple(_one_of(item, field.choices) if field.choices else item for item in value)


_CHECKS: dict[str, Callable[[Any, Field], Any]] = {
    "number": _number,
    "integer": _integer,
    "string": _string,
    "bool": _boolean,
    "duration": _duration,
    "argv": _argv,
    "names": _names,
}


# --- the table --------------------------------------------------------------------------------------
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

    def _present(self, key: str, required: bool) -> Any:
        self._seen.add(key)
        if required and key not in self._data:
            raise self._error(f"field {key!r} is missing")
        return self._data.get(key)

    # --- declared reads ---------------------------------------------------------------------------
    def read(self, key: str, field: Field, *, required: bool = False) -> Any:
        """`key`'s value checked against `field`; None when absent (a JSON null counts as absent)."""
        value = self._present(key, required)
        if value is None:
            return None
        if field.kind == "numbers":
            return self._numbers(key, field)
        try:
            return _CHECKS[field.kind](value, field)
        except _Invalid as exc:
            raise self.error(key, str(exc)) from None

    def _numbers(self, key: str, field: Field) -> dict[str, float]:
        """A table of name -> number, each number named in errors as a field of `where.key`."""
        table = self.table(key)
        assert table is not None
        item = dataclasses.replace(field, kind="number")
        return {name: table.read(name, item) for name in table.keys()}  # noqa: SIM118 (a TomlTable, not a dict)

    def read_into(self, cls: Callable[..., T], *, noun: str = "field") -> T:
        """A dataclass from its declared fields (see `declared`); fields not given keep their defaults."""
        declared = {f.name: f.metadata["input"] for f in dataclasses.fields(cls) if "input" in f.metadata}  # type: ignore[arg-type]
        self.only(*declared, noun=noun)
        values = {name: self.read(name, field) for name, field in declared.items()}
        return cls(**{name: value for name, value in values.items() if value is not None})

    # --- typed reads ------------------------------------------------------------------------------
    def string(
        self, key: str, *, required: bool = False, default: str | None = None, choices: tuple[str, ...] = ()
    ) -> str | None:
        value = self.read(key, Field("string", choices=choices), required=required)
        return default if value is None else value

    def required_string(self, key: str, *, choices: tuple[str, ...] = ()) -> str:
        value: str = self.read(key, Field("string", choices=choices), required=True)
        return value

    def boolean(self, key: str, *, default: bool = False) -> bool:
        value = self.read(key, Field("bool"))
        return default if value is None else value

    def integer(
        self, key: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None,
        default: int | None = None,
    ) -> int | None:  # fmt: skip
        value = self.read(key, Field("integer", minimum=minimum, maximum=maximum), required=required)
        return default if value is None else value

    def number(
        self, key: str, *, required: bool = False, minimum: float | None = None, maximum: float | None = None,
        positive: bool = False, default: float | None = None,
    ) -> float | None:  # fmt: skip
        field = Field("number", minimum=minimum, maximum=maximum, positive=positive)
        value = self.read(key, field, required=required)
        return default if value is None else value

    def duration(self, key: str, *, required: bool = False, allow_zero: bool = False) -> float | None:
        """A duration as "1m30s" / "500ms", or a plain number of seconds."""
        value: float | None = self.read(key, Field("duration", positive=not allow_zero), required=required)
        return value

    def string_list(self, key: str, *, required: bool = False) -> tuple[str, ...] | None:
        value: tuple[str, ...] | None = self.read(key, Field("argv"), required=required)
        return value

    def table(self, key: str, *, required: bool = False) -> TomlTable | None:
        value = self._present(key, required)
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
    def only(self, *known: str, noun: str = "field") -> None:
        """Reject unknown keys before reading, so a typo gets a suggestion, not a 'missing' error."""
        for key in self._data:
            if key not in known:
                hint = suggest(key, known) or f"known: {', '.join(sorted(known))}"
                raise self._error(f"unknown {noun} {key!r} ({hint})")

    def finish(self, extra_known: tuple[str, ...] = ()) -> None:
        """Reject keys nobody read: they are typos or options that do not exist."""
        self.only(*sorted(self._seen | set(extra_known)))
