"""Process-wide settings of the ``dfecs`` and ``dfecs-studio`` entry points (not of the API).

numpy asks the kernel for transparent huge pages on every large array (``madvise``). Where the
kernel's THP ``defrag`` setting is ``madvise`` (a common default, and this project's CI and
development machines), each first touch of such an array may stall on memory compaction: on a
256 MB landmark CSV, laying out the (n, 68, 2) points of 100,000 frames took 1.3–1.5 s with
huge pages and 0.16 s without (``benchmarks/bench_encode.py``). Numbers are unchanged; only
how memory is mapped.
"""

from __future__ import annotations


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
