"""Entry point of the frozen bundle: one program, two executables.

The PyInstaller spec (``dfecs.spec``) builds two executables from this one script;
the executable's own name picks the program: ``dfecs-studio`` (the desktop app,
:func:`dfecs_app.gui.app.main`) or ``dfecs`` (the command line, :func:`dfecs_app.cli.main.main`).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _program() -> str:
    return "studio" if Path(sys.executable).stem.lower().startswith("dfecs-studio") else "cli"


def main() -> int:
    multiprocessing.freeze_support()
    # PyInstaller's matplotlib hook gives every run a fresh temporary config folder (so the
    # font cache is rebuilt each time); a one-folder bundle can keep it in the user cache.
    cache = os.environ.get("DFECS_CACHE_DIR")
    if cache:
        os.environ["MPLCONFIGDIR"] = os.path.join(cache, "matplotlib")
    if _program() == "studio":
        from dfecs_app.gui.app import main as studio_main

        return studio_main()
    from dfecs_app.cli.main import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
