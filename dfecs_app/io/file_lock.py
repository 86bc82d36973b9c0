"""An advisory lock shared by every writer of one file: :func:`folder_lock`.

The lock is ``flock`` on the file's folder (no lock file is left behind, and atomic renames of
the file itself do not break it). It excludes other processes and other open sessions in the
same process; where ``flock`` is not available (Windows) it is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from dfecs_app.errors import DfecsError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockTimeout", "folder_lock"]


class LockTimeout(DfecsError):
    """Another program held the lock too long."""


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, timeout: float = 20.0) -> Iterator[None]:
    """Hold an exclusive lock on the folder of ``path`` for the block.

    Raises
    ------
    LockTimeout
        Still held by another writer after ``timeout`` seconds.
    """
    folder = Path(path).parent
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # an unreadable or missing folder: the write will report it
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"{path}: another program has been writing this file for "
                                      f"{timeout:.0f} s; try again") from None
                time.sleep(0.005)
            except OSError:  # file systems without flock
                break
        yield
    finally:
        os.close(fd)  # closing releases the lock
