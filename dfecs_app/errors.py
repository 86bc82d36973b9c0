"""User-facing errors: one clear line naming the file (and line or field) at fault.

The CLI prints ``str(error)`` and exits non-zero without a traceback; the GUI shows it in a
dialog. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from os import PathLike


class DfecsError(Exception):
    """Base class of every error caused by the user's input or environment."""


class InputError(DfecsError, ValueError):
    """Malformed or unusable input, located as precisely as known.

    Parameters
    ----------
    message : str
        What is wrong, in words a researcher understands.
    path : str or PathLike, optional
        The file at fault.
    line : int, optional
        1-based line number in that file.
    field : str, optional
        Column, array or JSON key at fault.
    """

    def __init__(
        self,
        message: str,
        path: str | PathLike | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        if self.field is not None:
            where += f"[{self.field}] "
        return where + self.message


class FormatVersionError(InputError):
    """A model, session or project file written by an incompatible format version."""


class MissingResourceError(DfecsError):
    """An optional resource (weights, tracker model) is unavailable; the message says how to get it."""


class Cancelled(DfecsError):
    """A long computation was cancelled by the user between two steps."""
