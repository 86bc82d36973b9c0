"""The core, io, render and CLI layers import and run with Qt unavailable (napari's headless rule)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
for name in ("PySide6", "pyqtgraph", "shiboken6"):
    sys.modules[name] = None  # any import of Qt now raises ImportError
import dfecs_app
bad = []
for pkg in ("dfecs_app.core", "dfecs_app.io", "dfecs_app.render", "dfecs_app.cli"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        try:
            importlib.import_module(info.name)
        except ImportError as err:
            bad.append(f"{info.name}: {err}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
"""


def test_non_gui_layers_never_need_qt():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_help_lists_every_command():
    proc = subprocess.run([sys.executable, "-m", "dfecs_app.cli.main", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for cmd in ("kpm", "track", "train", "baseline", "evaluate", "compare", "ratings"):
        assert cmd in proc.stdout
