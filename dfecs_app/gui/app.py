"""``dfecs-studio [PROJECT] [--demo] [--rate PACK_DIR] [--screenshot PATH]``: the desktop
app's entry point.

With no project on first run (or with ``--demo``) the built-in demo project opens.
``--rate PACK_DIR`` (or the pack's ``pack.json``) opens a rating pack in rater mode instead
(:class:`~dfecs_app.gui.rating.rater_window.RaterWindow`: the rating screen only) — what a
volunteer runs on the pack the coordinator sent; ``python -m dfecs_app.gui.rating PACK_DIR``
is the same.
``--screenshot PATH`` renders the window to a PNG and exits: with ``--demo`` after a
short training run, with the AUs panel showing the AU grid and a projected AU image; with
``--rate`` the rating screen on the pack's first AU. It is how README images are made and how
a script checks the window (exit code 0 on success).
``--rate PACK_DIR --self-test`` (hidden) presses ✓ once through the rating screen, checks that
the pack's ``ratings.json`` holds it and exits (:mod:`dfecs_app.gui.rater_self_test`; how the
frozen bundle is tested — it records a vote, so use it on a copy of a pack).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dfecs_app import __version__
from dfecs_app.process import no_huge_pages

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dfecs-studio",
                                description="DFECS Studio: learn, inspect and rate a "
                                            "Data-driven Facial Expression Coding System.")
    p.add_argument("project", nargs="?", help="a project file to open (.dfecs.json)")
    p.add_argument("--demo", action="store_true", help="open the built-in demo project")
    p.add_argument("--rate", nargs="?", const="", metavar="PACK_DIR",
                   help="rater mode: open a rating pack folder (from the coordinator) and "
                        "show only the rating screen")
    p.add_argument("--screenshot", metavar="PATH",
                   help="render the window to PATH (PNG) and exit; with --demo after a short "
                        "training run")
    p.add_argument("--screenshot-timeout", type=float, default=300.0, metavar="S",
                   help=argparse.SUPPRESS)
    # with --rate: press ✓ once, check ratings.json on disk, exit (gui/rater_self_test.py)
    p.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--version", action="version", version=f"dfecs-studio {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.rate is not None and (args.project or args.demo):
        parser.error("--rate opens a rating pack; it does not take a project or --demo")
    if args.self_test and not args.rate:
        parser.error("--self-test checks rater mode: give it --rate PACK_DIR")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    no_huge_pages()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dfecs_app.gui import dialogs, settings

    settings.ensure_identity()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "dfecs-studio"])
    app.setApplicationDisplayName("DFECS Studio")
    if args.screenshot:
        dialogs.set_test_mode(True)  # nothing modal may block an unattended run
    if args.rate is not None:
        return run_rater_mode(app, args.rate or None, args.screenshot, self_test=args.self_test)

    from dfecs_app.gui.main_window import MainWindow
    from dfecs_app.gui.train_panel import warm_up_training

    warm_up_training()  # before the window shows: no stall when training starts
    window = MainWindow(keep_layout=not args.screenshot)
    first_run = not settings.get("app/first_run_done")
    opened = False
    if args.project:
        opened = window.open_project(args.project)
        if not opened and args.screenshot:
            _cleanup(window, app)
            print(f"dfecs-studio: cannot open {args.project}", file=sys.stderr)
            return 2
    if not opened and (args.demo or first_run):
        window.open_demo(ask=False)
        settings.set("app/first_run_done", True)
    window.show()

    result = {"rc": 0}
    if args.screenshot:
        from dfecs_app.gui.screenshot import ScreenshotRunner

        runner = ScreenshotRunner(window, Path(args.screenshot), train=args.demo,
                                  timeout_s=args.screenshot_timeout)
        runner.done.connect(lambda rc: (result.__setitem__("rc", rc), window.close()))
        QTimer.singleShot(100, runner.start)
    rc = app.exec()
    _cleanup(window, app)
    return int(result["rc"] or rc)


def run_rater_mode(app, pack: str | Path | None, screenshot: str | Path | None = None,  # noqa: ANN001
                   *, self_test: bool = False) -> int:
    """Rater mode: a :class:`RaterWindow` on ``pack`` until it is closed.

    Parameters
    ----------
    app : QApplication
    pack : path or None
        The rating pack folder, or its ``pack.json`` (what a file manager passes on a
        double-click); None: an empty window with File ▸ Open.
    screenshot : path, optional
        Grab the window to this PNG once it shows, then exit.
    self_test : bool
        Press ✓ once, check that ``ratings.json`` holds it, exit
        (:mod:`dfecs_app.gui.rater_self_test`; exit code 1 when it does not).

    Returns
    -------
    int
        Exit code: 0, or 2 with one line on stderr when the pack cannot be opened.
    """
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer

    from dfecs_app.errors import DfecsError
    from dfecs_app.gui.rating.rater_window import RaterWindow

    if pack is not None and Path(pack).name == "pack.json" and Path(pack).is_file():
        pack = Path(pack).parent
    try:
        window = RaterWindow(pack)
    except DfecsError as err:
        print(f"dfecs-studio: cannot open the rating pack: {err}", file=sys.stderr)
        return 2
    window.show()
    result = {"rc": 0}
    if screenshot:
        from dfecs_app.gui.screenshot import save_grab

        def grab() -> None:
            result["rc"] = 0 if save_grab(window, Path(screenshot)) else 1
            window.close()

        QTimer.singleShot(500, grab)
    elif self_test:
        from dfecs_app.gui.rater_self_test import vote_and_check

        def check() -> None:
            result["rc"] = 0 if vote_and_check(window) else 1
            window.close()

        QTimer.singleShot(300, check)
    rc = app.exec()
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    return int(result["rc"] or rc)


def _cleanup(window, app) -> None:  # noqa: ANN001
    """Stop background work and delete every top-level widget before the interpreter exits."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QDialog, QMainWindow

    window.shutdown()
    window.document.set_dirty(False)
    # our windows only: pyqtgraph's parentless context menus belong to their Python items
    for w in app.topLevelWidgets():
        if isinstance(w, (QMainWindow, QDialog)) and w.parent() is None:
            w.close()
            w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
