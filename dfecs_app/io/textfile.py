"""Reading the app's own text files (projects, rating sessions, vote tables) with one set of
clear errors: :func:`read_text_file` and :func:`read_json_file`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dfecs_app.errors import InputError

__all__ = ["read_text_file", "read_json_file"]


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
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise InputError(f"no such {what}", path) from err
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the {what} ({err})", path) from err
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
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg}, column {err.colno})", path,
                         line=err.lineno) from err

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
