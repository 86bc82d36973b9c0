"""``dfecs-studio --screenshot``: drive the window to a state worth showing, grab it, exit.

With ``--demo``: a short training run on the demo KPMs, then the AUs panel with its grid and
the first AU's projected image in the large view.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal


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
        pix = self.window.grab()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = pix.save(str(self.path), "PNG")
        self._finish(0 if ok else 1, "" if ok else f"could not write {self.path}")

    def _on_timeout(self) -> None:
        self._grab_or_fail()

    def _grab_or_fail(self) -> None:
        if not self._finished:
            self.window.cancel_work()
            pix = self.window.grab()
            pix.save(str(self.path), "PNG")
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

