"""Rater mode: a window that opens a rating pack and shows only the rating screen.

A volunteer on another machine opens the pack folder the coordinator sent, rates every AU
(votes autosave into the pack's ``ratings.json``) and sends that file (or the folder) back.
Run it with ``dfecs-studio --rate PACK_DIR`` (or ``python -m dfecs_app.gui.rating PACK_DIR``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow

from dfecs_app.errors import DfecsError
from dfecs_app.gui.rating.screen import RatingMaterial, RatingScreen
from dfecs_app.io.rating_pack import RatingPack


class RaterWindow(QMainWindow):
    """The rater-mode main window (rating screen only)."""

    def __init__(self, pack: str | Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("DFECS Studio — rater mode")
        self.pack: RatingPack | None = None
        self.screen = RatingScreen(self)
        self.setCentralWidget(self.screen)
        self.saved_label = QLabel()
        self.statusBar().addPermanentWidget(self.saved_label)
        self.screen.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.screen.raterFinished.connect(self._finished)
        menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open rating pack…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._open_dialog)
        menu.addAction(open_action)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        keys_action = QAction("&Keyboard shortcuts", self)
        keys_action.triggered.connect(self.screen.show_help)
        help_menu.addAction(keys_action)
        self.resize(1200, 760)
        if pack is not None:
            self.open_pack(pack)

    def open_pack(self, path: str | Path) -> RatingPack:
        """Open a pack folder (raises DfecsError for anything that is not a valid pack)."""
        pack = RatingPack(path)
        material = RatingMaterial(list(pack.names), pack.neutral_points, pack.components,
                                  pack.scales, images=dict(pack.au_images),
                                  neutral_image=pack.neutral_image)
        self.pack = pack
        self.screen.set_session(pack.session, pack.rater, material)
        self.screen.setFocus()
        self.setWindowTitle(f"DFECS Studio — rating as {pack.rater}")
        self.saved_label.setText(f"saved automatically to {pack.session.path}")
        return pack

    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open rating pack")
        if path:
            try:
                self.open_pack(path)
            except DfecsError as err:
                self.statusBar().showMessage(str(err))

    def _finished(self, rater: str) -> None:
        if self.pack is not None:
            self.statusBar().showMessage(
                f"All AUs rated — thank you. Send {self.pack.session.path} back to the "
                "coordinator.")



def main(argv: list[str] | None = None) -> int:
    """``python -m dfecs_app.gui.rating [PACK_DIR]``: ``dfecs-studio --rate [PACK_DIR]``."""
    from dfecs_app.gui.app import main as app_main

    argv = list(sys.argv[1:] if argv is None else argv)
    return app_main(["--rate", *argv])
