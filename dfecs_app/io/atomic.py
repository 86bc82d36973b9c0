"""Atomic file writes: write to a temporary file beside the target, fsync, then rename.

A crash at any moment leaves either the old file or the new one, never a half-written one.

What is at the path decides how it is written:

* nothing, or a regular file: the atomic temp-file-and-rename;
* a symlink: the file it points to is written (atomically) and the link stays;
* a character device (``/dev/null``, a terminal) or a named pipe (FIFO) with a reader:
  written in place, as a shell redirection would — never replaced by a regular file. A FIFO
  nobody reads is refused (:class:`~dfecs_app.errors.InputError`) rather than waited on;
* a folder, a block device or a socket: refused with one line naming the path.

Temporary files are hidden, beside the target: ``.NAME.dfecs<pid>-<host>.<random>.tmp``. A
process killed mid-write (kill -9, power loss) leaves its temporary file behind; the next
write to the same folder deletes the temporary files of processes of this machine that no
longer run (:func:`remove_stale_temps`). Temporary files of running processes, of other
machines (a shared folder) and files of any other name are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from dfecs_app.errors import InputError

#: This machine, in temporary file names (pids mean nothing on another machine).
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_TEMP_RE = re.compile(r"^\..+\.dfecs(\d+)-([0-9a-f]{6})\.[^.]+\.tmp$")
#: A folder is searched for stale temporary files at most this often (seconds) per process.
STALE_SCAN_INTERVAL = 60.0
_last_scan: dict[str, float] = {}


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` only when the block succeeds
    (devices and FIFOs are written in place; see the module docstring).

    Raises
    ------
    InputError
        ``path`` is a folder, a block device, a socket, or a FIFO nobody reads.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    binary = "b" in mode
    text_args = {} if binary else {"encoding": encoding, "newline": ""}
    special = _open_special(path, mode)
    if special is not None:
        with os.fdopen(special, mode, **text_args) as fh:
            yield fh
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:120]}.dfecs{os.getpid()}-{_HOST}.",
                               suffix=".tmp", dir=path.parent)
    os.chmod(tmp, _target_mode(path))  # mkstemp makes 0600 files; a new file follows the umask
    try:
        with os.fdopen(fd, mode, **text_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _open_special(path: Path, mode: str) -> int | None:
    """A descriptor open for writing in place when ``path`` is a character device or a FIFO
    with a reader; None for a regular or missing file; InputError for anything else."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    what = None
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        what = "a folder"
    elif stat.S_ISBLK(st.st_mode):
        what = "a block device (a disk)"
    elif stat.S_ISSOCK(st.st_mode):
        what = "a socket"
    if what is not None:
        raise InputError(f"is {what}, not a file; refusing to write to it", path)
    flags = os.O_WRONLY | (os.O_APPEND if "a" in mode else 0)
    if stat.S_ISFIFO(st.st_mode):
        try:
            fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
        except OSError as err:
            if err.errno == errno.ENXIO:
                raise InputError("is a named pipe (FIFO) that no program is reading; refusing "
                                 "to wait for one or to replace it with a file", path) from None
            raise
        os.set_blocking(fd, True)
        return fd
    return os.open(path, flags)  # a character device: /dev/null, a terminal


def remove_stale_temps(folder: str | os.PathLike, *, force: bool = False) -> list[Path]:
    """Delete the temporary files that processes of this machine which no longer run left
    in ``folder`` (see the module docstring). Scans a folder at most every
    :data:`STALE_SCAN_INTERVAL` seconds unless ``force``; returns the files deleted."""
    key = os.path.abspath(folder)
    now = time.monotonic()
    if not force and now - _last_scan.get(key, -STALE_SCAN_INTERVAL) < STALE_SCAN_INTERVAL:
        return []
    _last_scan[key] = now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or m.group(2) != _HOST or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap, safe check: keep the file
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _read_umask() -> int:
    """The process umask, read once at import (reading it means setting it for an instant)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _target_mode(path: Path) -> int:
    """The mode the replaced file had, or what a plain ``open`` would give under the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def save_npz_atomic(path: str | os.PathLike, compressed: bool = True, **arrays: Any) -> None:
    """``np.savez`` to ``path`` atomically. Arrays must not be object arrays (no pickles)."""
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; NPZ files here never hold pickles")
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue())


def check_output_path(path: str | os.PathLike, option: str | None = None) -> Path:
    """Refuse, before any work, an output path nothing could be written to.

    Raises
    ------
    InputError
        ``path`` is a folder, a block device or a socket, or its folder is a file (named with
        ``option``, e.g. ``--curves``). FIFOs and character devices pass (written in place).
    """
    path = Path(path)
    what = f"{option}: " if option else ""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(f"{what}cannot write here: {parent} is not a folder", path) from None
        return path
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what}is a folder, not a file", path)
    if stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        raise InputError(f"{what}is a {'block device' if stat.S_ISBLK(st.st_mode) else 'socket'}, "
                         "not a file; refusing to write to it", path)
    return path


def write_files_atomic(files: list[tuple[str | os.PathLike, bytes]]) -> list[Path]:
    """Write several outputs of one run all together: every regular file is first written to
    its temporary file, and only when all of them are complete do they replace their targets
    (then devices and FIFOs are written in place). A failure before that leaves every
    existing output as it was.

    Returns
    -------
    list of Path
        The written paths, in order.
    """
    staged: list[tuple[Path, str]] = []
    in_place: list[tuple[Path, bytes]] = []
    targets = [Path(os.path.realpath(p)) if Path(p).is_symlink() else Path(p) for p, _ in files]
    if len({os.path.abspath(t) for t in targets}) < len(targets):
        raise InputError("two outputs of one run name the same file", targets[0])
    try:
        for target, (_, data) in zip(targets, files):
            check_output_path(target)
            if target.exists() and not target.is_file():
                in_place.append((target, data))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(target.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:120]}.dfecs{os.getpid()}-{_HOST}.",
                                       suffix=".tmp", dir=target.parent)
            staged.append((target, tmp))
            os.chmod(tmp, _target_mode(target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        for _, tmp in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    for target, tmp in staged:
        os.replace(tmp, target)
    for target, data in in_place:
        write_bytes_atomic(target, data)
    return targets
