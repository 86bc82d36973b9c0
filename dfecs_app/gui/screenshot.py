"""``dfecs-studio --screenshot``: drive the window to a state worth showing, grab it, exit.

With ``--demo``: a short training run on the demo KPMs, then the AUs panel with its grid and
the first AU's projected image in the large view.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget


def save_grab(widget: QWidget, path: Path) -> bool:
    """Grab ``widget`` as it is shown and write it to ``path`` as PNG, atomically.

    Returns
    -------
    bool
        False when the grab could not be encoded or written (reported on stderr).
    """
    from dfecs_app.io.atomic import write_bytes_atomic

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buf, "PNG"):
        return False
    try:
        write_bytes_atomic(path, bytes(buf.data()))
    except OSError as err:
        print(f"dfecs-studio --screenshot: cannot write {path}: {err}", file=sys.stderr)
        return False
    return True


class ScreenshotRunner(QObject):
    """Drives the window to the screenshot state, grabs it and reports an exit code.

    Signals
    -------
    done(int)
        Exit code (0: screenshot written).
    """

    done = Signal(int)

    def __init__(self, window, path: Path, train: bool, timeout_s: float) -> None:  # noqa: ANN001
        super().__init__(window)
        self.window = window
        self.path = path
        self.train = train
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(int(timeout_s * 1000))
        self._timeout.timeout.connect(self._on_timeout)
        self._finished = False

    def start(self) -> None:
        self._timeout.start()
        w = self.window
        if self.train and w.document.kpm is not None:
            train = w.panels["train"]
            train.trained.connect(self._after_training)
            train.failed.connect(lambda msg: self._finish(1, f"training failed: {msg}"))
            w.raise_panel("train")
            if train.start_training(quick=True) is None:
                self._finish(1, "training could not start")
        else:
            self._after_training()

    def _after_training(self, *_: object) -> None:
        w = self.window
        if w.document.model is None:
            QTimer.singleShot(300, self._grab)
            return
        w.raise_panel("aus")
        aus = w.panels["aus"]
        projected = w.panels["projected"]
        if w.document.neutral_image is None:
            QTimer.singleShot(500, self._grab)
            return
        projected.imageReady.connect(self._on_image)
        aus.select(aus.current if aus.current is not None else int(aus.order[0]))

    def _on_image(self, comp: int, *_: object) -> None:
        aus = self.window.panels["aus"]
        if comp == aus.current:
            QTimer.singleShot(600, self._grab)

    def _grab(self) -> None:
        if self._finished:
            return
        ok = save_grab(self.window, self.path)
        self._finish(0 if ok else 1, "" if ok else f"could not write {self.path}")

    def _on_timeout(self) -> None:
        self._grab_or_fail()

    def _grab_or_fail(self) -> None:
        if not self._finished:
            self.window.cancel_work()
            save_grab(self.window, self.path)
            self._finish(1, "timed out before the window was ready")

    def _finish(self, rc: int, why: str = "") -> None:
        if self._finished:
            return
        self._finished = True
        self._timeout.stop()
        if why:
            print(f"dfecs-studio --screenshot: {why}", file=sys.stderr)
        self.window.document.set_dirty(False)
        self.done.emit(rc)

