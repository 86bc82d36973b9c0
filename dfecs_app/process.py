"""Process-wide settings of the ``dfecs`` and ``dfecs-studio`` entry points (not of the API).

numpy asks the kernel for transparent huge pages on every large array (``madvise``). Where the
kernel's THP ``defrag`` setting is ``madvise`` (a common default, and this project's CI and
development machines), each first touch of such an array may stall on memory compaction: on a
256 MB landmark CSV, laying out the (n, 68, 2) points of 100,000 frames took 1.3–1.5 s with
huge pages and 0.16 s without (``benchmarks/bench_encode.py``). Numbers are unchanged; only
how memory is mapped.

A ``dfecs`` command run as its own process (:func:`command_process`) also tunes Python's cyclic
garbage collector: importing numpy, pandas, scipy, pydantic and numba builds ~150,000 objects
that live to the end, yet young-generation collections every 700 allocations walk each of them
while it is young and the older generations' collections walk them again; at exit the
interpreter walks the whole heap once more. On a 700-frame ``dfecs encode`` (2 cores) that was
0.18 s of collections during the run (0.10 s with :data:`COMMAND_GC_THRESHOLD`) and 0.3–0.4 s
at exit (~0.1 s once frozen), out of ~2.1 s. Results are unchanged; only when garbage is
looked for.

Such a command also keeps freed memory (:func:`keep_freed_memory`): glibc's ``malloc`` gives
every block of 32 MB or more its own mapping and unmaps it when freed, so each large numpy
array is fresh memory whose every page faults on its first touch. A 100,000-frame ``dfecs
encode`` (256 MB CSV) faulted 677 MB that way (0.57–0.64 s of system time); served from the
heap, where later arrays reuse what earlier ones freed (the file's bytes once parsed, the
temporaries of the corrections), 488 MB, and the run took 1.86–1.91 s instead of 1.97–2.08 s
(peak memory 655 MB instead of 620 MB).
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Young-generation threshold of the cyclic collector in a ``dfecs`` process (CPython: 700).
#: The older generations keep CPython's ratios (every 10 collections of the one below).
COMMAND_GC_THRESHOLD = 50_000
#: ``mallopt`` parameters of glibc's ``malloc.h``.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def no_huge_pages() -> None:
    """Stop numpy from advising huge pages for new arrays (as ``NUMPY_MADVISE_HUGEPAGE=0``).

    The user's own ``NUMPY_MADVISE_HUGEPAGE`` setting wins when set.
    """
    import os

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - numpy without the switch
        return
    _set_madvise_hugepage(False)


def keep_freed_memory() -> bool:
    """Serve large blocks from glibc's heap and keep freed memory for reuse (Linux/glibc only).

    ``mallopt(M_MMAP_MAX, 0)`` and a trim threshold of 2 GB: memory freed by one array is given
    to the next instead of back to the kernel. For a process that ends after one command; the
    setting cannot be undone for blocks already served. Returns whether it was applied (False
    on other platforms or C libraries).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and other C libraries
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


@contextmanager
def command_process() -> Iterator[None]:
    """The memory and garbage-collector settings of one ``dfecs`` command that is the whole
    process: :func:`keep_freed_memory`, and the collector's below.

    Inside, the young generation is collected every :data:`COMMAND_GC_THRESHOLD` allocations
    instead of 700 (start-up builds objects that all live to the end; cyclic garbage is still
    collected, a little later). On leaving, every object is frozen (:func:`gc.freeze`), so the
    interpreter's exit does not walk the heap again looking for cycles: exit handlers
    (:mod:`atexit`) still run and every file the command wrote is closed already. Only for a
    process that ends after the command — not for ``main(argv)`` called from Python.
    """
    keep_freed_memory()
    before = gc.get_threshold()
    gc.set_threshold(COMMAND_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.freeze()
