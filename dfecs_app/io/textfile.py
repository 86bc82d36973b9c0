"""Reading the app's own text files (projects, rating sessions, vote tables) with one set of
clear errors: :func:`read_text_file` and :func:`read_json_file`."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dfecs_app.errors import InputError
from dfecs_app.io.npz import check_regular_file
from dfecs_app.io.schema import LIMITS, check_bytes

__all__ = ["read_text_file", "read_json_file", "parse_json_text", "json_depth"]


def read_text_file(path: str | os.PathLike, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped).

    Parameters
    ----------
    path : str or PathLike
    what : str
        What the file is, for messages (``"no such project file"``).

    Raises
    ------
    InputError
        Missing, unreadable, not UTF-8, or empty (only whitespace) — naming the file.
    """
    path = check_regular_file(path, what)
    size = path.stat().st_size
    if size > LIMITS.text_bytes:
        raise InputError(f"the {what} is too large ({size} bytes; at most {LIMITS.text_bytes})",
                         path)
    check_bytes(size * 5, f"reading the {what}", path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read the {what} ({err.strerror or err})", path) from err
    text = decode_utf8(data, path, what)
    if not text.strip():
        raise InputError(f"the {what} is empty", path)
    return text


def read_json_file(path: str | os.PathLike, what: str = "file") -> Any:
    """The parsed JSON of ``path`` (:func:`read_text_file`, then ``json.loads``).

    Raises
    ------
    InputError
        As :func:`read_text_file`, or not valid JSON (naming the line).
    """
    text = read_text_file(path, what)
    return parse_json_text(text, path)


def decode_utf8(data: bytes, path: str | os.PathLike | None, what: str = "file") -> str:
    """``data`` as UTF-8 text (BOM dropped); a bad byte is reported with its line and offset.

    Raises
    ------
    InputError
        ``"not UTF-8 text: byte 0xff at offset 1234 (line 7); save the file as UTF-8"``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(f"the {what} is not UTF-8 text: byte 0x{data[err.start]:02x} at offset "
                         f"{err.start}; save it as UTF-8", path, line=line) from None
    if "\x00" in text:
        at = text.index("\x00")
        raise InputError(f"the {what} holds a NUL byte (offset {at}): not a text file", path,
                         line=text.count("\n", 0, at) + 1)
    return text


def json_depth(obj: Any, limit: int) -> int:
    """Nesting depth of parsed JSON, stopping (returning > limit) once ``limit`` is exceeded."""
    stack = [(obj, 1)]
    deepest = 0
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def parse_json_text(text: str, path: str | os.PathLike | None, field: str | None = None) -> Any:
    """``json.loads(text)`` with size, depth, NaN/Infinity and syntax errors as InputError.

    Raises
    ------
    InputError
        Invalid JSON (naming the line), nested deeper than ``LIMITS.json_depth``, larger than
        ``LIMITS.json_bytes``, or holding ``NaN``/``Infinity``.
    """
    if len(text) > LIMITS.json_bytes:
        raise InputError(f"JSON text too large ({len(text)} characters; at most "
                         f"{LIMITS.json_bytes})", path, field=field)

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise ValueError(f"{number[:20]} is beyond the finite numbers")
        return value

    try:
        data = json.loads(text, parse_constant=no_constant, parse_float=finite)
    except json.JSONDecodeError as err:
        if path is None:  # inline text (an option's value)
            raise InputError(f"invalid JSON ({err.msg}, line {err.lineno}, column {err.colno})",
                             field=field) from None
        raise InputError(f"not valid JSON ({err.msg}, column {err.colno})", path,
                         line=err.lineno, field=field) from None
    except RecursionError:
        raise InputError(f"JSON nested too deeply (at most {LIMITS.json_depth} levels)", path,
                         field=field) from None
    except ValueError as err:
        raise InputError(f"not valid JSON ({err})", path, field=field) from None
    if json_depth(data, LIMITS.json_depth) > LIMITS.json_depth:
        raise InputError(f"JSON nested too deeply (at most {LIMITS.json_depth} levels)", path,
                         field=field)
    return data

def json_field(data: dict[str, Any], key: str, typ: type | tuple[type, ...], path: Path,
               where: str | None = None) -> Any:
    """``data[key]``, checked to be of type ``typ``; else an InputError naming ``where.key``."""
    if key not in data:
        raise InputError("missing", path, field=f"{where}.{key}" if where else key)
    value = data[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise InputError(f"wrong type {type(value).__name__}", path,
                         field=f"{where}.{key}" if where else key)
    return value


def csv_rows(lines: Iterable[str], path: str | os.PathLike | None) -> list[tuple[int, list[str]]]:
    """Every row of a CSV text as ``(line number, cells)``, fields limited to
    ``LIMITS.csv_field`` characters; InputError naming the line of an unreadable row."""
    reader = csv.reader(lines)
    old_limit = csv.field_size_limit(LIMITS.csv_field)
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise InputError(f"not a readable CSV table ({err}; at most {LIMITS.csv_field} "
                         "characters a field)", path, line=reader.line_num + 1) from None
    finally:
        csv.field_size_limit(old_limit)
