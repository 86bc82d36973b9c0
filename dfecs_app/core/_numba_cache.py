"""Numba's on-disk cache and kernels of other modules.

Numba keys a module's cached kernels on that module's own source file only: when a kernel
calls (and so compiles in) a kernel of another module that has changed since, the cache still
serves the old code. :func:`drop_stale` deletes a module's cache files older than any module
it calls, at import, before numba looks at them.
"""

from __future__ import annotations

import os


def drop_stale(module_file: str, *calls: str) -> None:
    """Delete ``module_file``'s numba cache files older than any of ``calls``.

    Parameters
    ----------
    module_file : str
        ``__file__`` of the module whose kernels are cached (``cache=True``).
    *calls : str
        File names, beside ``module_file``, of the modules whose kernels it calls.
    """
    here = os.path.dirname(os.path.abspath(module_file))
    stem = os.path.splitext(os.path.basename(module_file))[0] + "."
    cache_dir = os.path.join(here, "__pycache__")
    try:
        newest = max(os.stat(os.path.join(here, name)).st_mtime for name in calls)
        names = os.listdir(cache_dir)
    except (OSError, ValueError):
        return
    for name in names:
        if name.startswith(stem) and name.endswith((".nbi", ".nbc")):
            path = os.path.join(cache_dir, name)
            try:
                if os.stat(path).st_mtime < newest:
                    os.unlink(path)
            except OSError:
                pass
