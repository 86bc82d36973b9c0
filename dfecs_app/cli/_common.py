"""Helpers shared by the CLI modules: progress bars and output-path checks."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dfecs_app.core.progress import Progress, TaskState
from dfecs_app.errors import InputError


@contextmanager
def progress_bar(desc: str, total: float = 1.0, disable: bool | None = None) -> Iterator[TaskState]:
    """A :class:`TaskState` whose reports drive a tqdm bar on stderr.

    Reports with a ``fraction`` move the bar; the report ``message`` becomes its postfix.
    The bar hides itself when stderr is not a terminal unless ``disable=False``; a hidden
    bar is no bar at all (tqdm is not even imported: ~45 ms of every command's start-up).
    """
    if disable is None:
        disable = not sys.stderr.isatty()
    if disable:
        yield TaskState(min_interval=0.1)
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
               bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def on_progress(p: Progress) -> None:
        if p.fraction is not None:
            bar.n = min(total, p.fraction * total)
        if p.message:
            bar.set_postfix_str(p.message, refresh=False)
        bar.refresh()

    try:
        yield TaskState(on_progress, min_interval=0.1)
    finally:
        bar.close()


def npz_output(path: str | os.PathLike) -> Path:
    """Check an ``--out`` NPZ file name before any work is done.

    Raises
    ------
    InputError
        ``path`` is a directory or does not end in ``.npz``.
    """
    out = Path(path)
    if out.is_dir():
        raise InputError("is a directory; --out needs a file name", out)
    if out.suffix.lower() != ".npz":
        raise InputError("--out must end in .npz", out)
    return out


# -- option types: bounds declared once (dfecs_app.io.schema.LIMITS) --------------------------
def bounded_int(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse ``type`` accepting ASCII integers in ``low..high`` only.

    ``"1e8"``, ``"abc"``, ``"Infinity"``, ``"1_000"`` and non-ASCII digits are refused with one
    line naming the bounds.
    """
    def parse(text: str) -> int:
        t = text.strip()
        body = t[1:] if t[:1] in "+-" else t
        if not (body.isascii() and body.isdigit()):
            raise argparse.ArgumentTypeError(f"must be a whole number {low}..{high}, got {text!r}")
        value = int(t)
        if not low <= value <= high:
            extra = f" ({what})" if what else ""
            raise argparse.ArgumentTypeError(f"must be {low}..{high}{extra}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def finite_float(low: float | None = None, high: float | None = None, *,
                 low_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` accepting finite numbers in [low, high] (or (low, high])."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or "_" in text:
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, "
                                             f"got {value:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {value:g}")
        return value

    parse.__name__ = "number"
    return parse


#: ``--seed``: 0..2**32-1 (what NumPy's and scikit-learn's seeds take).
seed_int = bounded_int(0, 2**32 - 1)


def batch_arguments(parser) -> None:
    """``--jobs``, ``--scheduler`` and ``--resume`` of a batch command."""
    from dfecs_app.io.batch import SCHEDULER_ENV, default_jobs

    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help=f"worker processes (default: all cores, here {default_jobs()})")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on an existing Dask cluster, e.g. tcp://host:8786 (default: "
                             f"${SCHEDULER_ENV}; unset: local processes)")
    parser.add_argument("--resume", action="store_true",
                        help="skip inputs whose outputs are complete (same inputs and options, "
                             "output unchanged since it was written)")


def run_batch_summary(tasks, args, what: str, failed=()) -> list:
    """Run a batch with a tqdm bar across it and print the summary; the
    :class:`~dfecs_app.io.batch.TaskResult` of every input."""
    from dfecs_app.io.batch import run_batch, summary_lines

    if args.jobs is not None and args.jobs < 1:
        raise InputError("must be 1 or more", field="--jobs")
    with progress_bar(f"{what} {len(tasks) + len(failed)} inputs") as state:
        results = run_batch(tasks, jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
                            progress=state, failed=failed)
    for line in summary_lines(results):
        print(line, file=sys.stderr)
    return results


def run_batch_cli(tasks, args, what: str, failed=()) -> int:
    """Run a batch with a tqdm bar across it; print the summary; 1 if any input failed."""
    results = run_batch_summary(tasks, args, what, failed)
    return 1 if any(r.status == "failed" for r in results) else 0
