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
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Young-generation threshold of the cyclic collector in a ``dfecs`` process (CPython: 700).
#: The older generations keep CPython's ratios (every 10 collections of the one below).
COMMAND_GC_THRESHOLD = 50_000


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


@contextmanager
def command_process() -> Iterator[None]:
    """The garbage-collector settings of one ``dfecs`` command that is the whole process.

    Inside, the young generation is collected every :data:`COMMAND_GC_THRESHOLD` allocations
    instead of 700 (start-up builds objects that all live to the end; cyclic garbage is still
    collected, a little later). On leaving, every object is frozen (:func:`gc.freeze`), so the
    interpreter's exit does not walk the heap again looking for cycles: exit handlers
    (:mod:`atexit`) still run and every file the command wrote is closed already. Only for a
    process that ends after the command — not for ``main(argv)`` called from Python.
    """
    before = gc.get_threshold()
    gc.set_threshold(COMMAND_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.freeze()
