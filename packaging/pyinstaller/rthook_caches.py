"""PyInstaller run-time hook: writable cache folders for the frozen bundle.

The bundle folder may be read-only (installed under /opt or Program Files), so numba cannot
keep its compiled kernels beside the sources as it does in a checkout. Before anything is
imported, ``NUMBA_CACHE_DIR`` (unless the user set it) points at ``<user cache>/numba`` and
``DFECS_CACHE_DIR`` at ``<user cache>``, where ``<user cache>`` is
``$XDG_CACHE_HOME/dfecs-studio`` (default ``~/.cache/dfecs-studio``) on Linux,
``~/Library/Caches/dfecs-studio`` on macOS and ``%LOCALAPPDATA%\\dfecs-studio`` on Windows.
"""

import os
import sys


def _user_cache() -> str:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "dfecs-studio")


_cache = os.environ.setdefault("DFECS_CACHE_DIR", _user_cache())
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(_cache, "numba"))
