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
