"""Helpers shared by the CLI modules: progress bars and output-path checks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from dfecs_app.core.progress import Progress, TaskState
from dfecs_app.errors import InputError


@contextmanager
def progress_bar(desc: str, total: float = 1.0, disable: bool | None = None) -> Iterator[TaskState]:
    """A :class:`TaskState` whose reports drive a tqdm bar on stderr.

    Reports with a ``fraction`` move the bar; the report ``message`` becomes its postfix.
    The bar hides itself when stderr is not a terminal unless ``disable=False``.
    """
    if disable is None:
        disable = not sys.stderr.isatty()
    bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=disable, leave=False,
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


def run_batch_cli(tasks, args, what: str, failed=()) -> int:
    """Run a batch with a tqdm bar across it; print the summary; 1 if any input failed."""
    from dfecs_app.io.batch import run_batch, summary_lines

    if args.jobs is not None and args.jobs < 1:
        raise InputError("must be 1 or more", field="--jobs")
    with progress_bar(f"{what} {len(tasks) + len(failed)} inputs") as state:
        results = run_batch(tasks, jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
                            progress=state, failed=failed)
    for line in summary_lines(results):
        print(line, file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0
