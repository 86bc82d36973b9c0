"""``dfecs``: the command line of DFECS Studio.

Each sub-command group lives in its own module of this package exposing
``register(subparsers)``, which adds its parser(s) with ``set_defaults(func=handler)``;
``handler(args) -> int`` returns the exit code. User errors (:class:`DfecsError`) print one
line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from dfecs_app import __version__
from dfecs_app.errors import Cancelled, DfecsError
from dfecs_app.process import command_process, no_huge_pages

#: Sub-command modules, in the order of ``dfecs --help``.
COMMAND_MODULES = ("kpm", "track", "train", "baseline", "evaluate", "compare", "ratings",
                   "morph", "encode")


class UsageError(DfecsError):
    """A command-line option or argument that does not parse (one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line ``dfecs CMD: error: [--opt] what is wrong``."""

    def error(self, message: str) -> NoReturn:
        m = re.match(r"argument ([^:]+): (.*)", message, re.S)
        if m:
            message = f"[{m.group(1).split('/')[0]}] {m.group(2)}"
        raise UsageError(f"{self.prog}: error: {' '.join(message.split())} "
                         f"(see {self.prog} --help)")


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The ``dfecs`` parser with the sub-commands ``commands`` (default: all of them)."""
    parser = _Parser(
        prog="dfecs",
        description="Learn and evaluate a Data-driven Facial Expression Coding System (DFECS).",
    )
    parser.add_argument("--version", action="version", version=f"dfecs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in commands:
        module = importlib.import_module(f"dfecs_app.cli.{name}")
        module.register(sub)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names (its first word not starting with '-'), if a known one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


@functools.cache
def _cached_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, built once per process and command (building it costs ~40 ms of gettext
    look-ups). A known command builds only its own sub-parser, so ``dfecs encode`` imports
    only what encoding needs (not scikit-learn, the rating statistics, ...); ``dfecs --help``
    or an unknown command builds them all."""
    return build_parser(COMMAND_MODULES if command is None else (command,))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dfecs`` with ``argv`` (default: ``sys.argv[1:]``); the exit status.

    Without ``argv`` (the ``dfecs`` script, ``python -m dfecs_app.cli.main``) the command is the
    whole process and runs under :func:`dfecs_app.process.command_process`; ``main(argv)``
    called from Python leaves the garbage collector alone.
    """
    if argv is None:
        with command_process():
            return _run(sys.argv[1:])
    return _run(list(argv))


def _run(argv: list[str]) -> int:
    no_huge_pages()
    parser = _cached_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("dfecs: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("dfecs: interrupted", file=sys.stderr)
        return 130
    except DfecsError as err:
        print(f"dfecs {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unreadable/unwritable paths: name them, no traceback
        name = getattr(err, "filename", None)
        where = f"{name}: " if name else ""
        print(f"dfecs {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
