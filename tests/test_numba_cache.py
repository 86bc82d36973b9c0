"""Numba cache files of a module are dropped when a module it calls is newer (real files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dfecs_app.core._numba_cache import drop_stale


def _touch(path: Path, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))
    return path


def test_cache_older_than_a_called_module_is_dropped(tmp_path):
    pkg = tmp_path / "pkg"
    caller = _touch(pkg / "caller.py", 1000.0)
    _touch(pkg / "callee.py", 2000.0)
    old = [_touch(pkg / "__pycache__" / f"caller.kernel-10.py311{ext}", 1500.0)
           for ext in (".nbi", ".1.nbc")]
    fresh = _touch(pkg / "__pycache__" / "caller.other-20.py311.nbi", 2500.0)
    neighbour = _touch(pkg / "__pycache__" / "callee.kernel-5.py311.nbi", 1500.0)
    pyc = _touch(pkg / "__pycache__" / "caller.cpython-311.pyc", 1500.0)
    drop_stale(str(caller), "callee.py")
    assert not any(p.exists() for p in old)
    assert fresh.exists() and neighbour.exists() and pyc.exists()
    drop_stale(str(caller), "missing.py")  # a file that is not there: nothing happens
    assert fresh.exists()


def test_a_changed_kernel_module_is_used_by_its_callers_next_run(tmp_path):
    """Two real modules with cache=True: after the called kernel changes, the caller's next
    process returns the new value, not the cached old one."""
    pkg = tmp_path / "kpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "callee.py").write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef value():\n    return 1\n")
    (pkg / "caller.py").write_text(
        "from dfecs_app.core._numba_cache import drop_stale\n"
        "from numba import njit\nfrom kpkg.callee import value\n\n"
        "drop_stale(__file__, 'callee.py')\n\n"
        "@njit(cache=True)\ndef twice():\n    return 2 * value()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
    run = [sys.executable, "-c", "from kpkg.caller import twice; print(twice())"]
    assert subprocess.run(run, env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "2"
    callee = pkg / "callee.py"
    callee.write_text(callee.read_text().replace("return 1", "return 5"))
    later = (pkg / "caller.py").stat().st_mtime + 10
    os.utime(callee, (later, later))
    assert subprocess.run(run, env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "10"
