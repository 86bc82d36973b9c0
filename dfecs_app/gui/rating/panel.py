"""``RatingPanel``: the whole rating workflow as one widget the main window embeds as a tab.

API for the main window::

    panel = RatingPanel()
    panel.set_model(model, neutral_image, neutral_points, session_path, model_path=None)
    panel.shutdown()            # before the window closes (stops the image worker)

``set_model`` takes an :class:`~dfecs_app.core.aumodel.AUModel`, the neutral face
(``(H, W, 3)`` uint8 or None), its landmarks ``(68, 2)`` (pixels, or None) and the session file
to use (``Path`` or None). An existing file there is resumed (refused, with the reason in the
Session tab, when it rates another model); otherwise *Start new session* creates it. Projected
AU images render once in the background (:class:`AUImageRenderer`) and are cached.

Tabs: *Session* (:class:`SessionSetupWidget`), *Rate* (:class:`RatingScreen`), *Results*
(:class:`ResultsWidget`, filled when the session is closed).

Signals
-------
sessionChanged(str)
    The session file now in use (after start, open, close or a merge).
message(str)
    A status line for the host's status bar.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QTabWidget, QVBoxLayout, QWidget

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.ratings import DEFAULT_TIE_RULE
from dfecs_app.errors import DfecsError
from dfecs_app.gui.rating.images import AUImageRenderer
from dfecs_app.gui.rating.results import ResultsWidget
from dfecs_app.gui.rating.screen import RatingMaterial, RatingScreen
from dfecs_app.gui.rating.setup import SessionSetupWidget
from dfecs_app.io.rating_export import au_scales
from dfecs_app.io.rating_pack import export_pack, import_returned_ratings
from dfecs_app.io.rating_session import ModelChangedWarning, RatingSession


class RatingPanel(QWidget):
    """Session setup, rating screen and results for one model; see the module docstring."""

    sessionChanged = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: AUModel | None = None
        self.model_path: Path | None = None
        self.neutral_image: np.ndarray | None = None
        self.neutral_points: np.ndarray | None = None
        self.session_path: Path | None = None
        self.session: RatingSession | None = None
        self.material: RatingMaterial | None = None
        self.au_images: dict[int, np.ndarray] = {}
        self.setup = SessionSetupWidget()
        self.screen = RatingScreen()
        self.results = ResultsWidget()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.setup, "&Session")
        self.tabs.addTab(self.screen, "&Rate")
        self.tabs.addTab(self.results, "Res&ults")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.renderer = AUImageRenderer(self)
        self.renderer.imageReady.connect(self._on_image)
        self.renderer.failed.connect(lambda m: self._status(f"AU images: {m}", error=True))
        self.renderer.imageFailed.connect(self.screen.set_au_image)
        self.setup.startRequested.connect(self._on_start)
        self.setup.openRequested.connect(self._on_open_dialog)
        self.setup.rateRequested.connect(self.rate_as)
        self.setup.closeRequested.connect(self.close_session)
        self.setup.packRequested.connect(self._on_pack_dialog)
        self.setup.mergeRequested.connect(self._on_merge_dialog)
        self.screen.voteChanged.connect(lambda *_: self.setup.set_session(self.session))
        self.screen.message.connect(self.message)
        self._update_tabs()

    # -- public API -----------------------------------------------------------------------
    def set_model(self, model: AUModel | None, neutral_image: np.ndarray | None,
                  neutral_points: np.ndarray | None, session_path: str | Path | None,
                  model_path: str | Path | None = None) -> None:
        """Rate ``model`` on this neutral face, with the session file ``session_path``."""
        self.renderer.stop()
        self.model = model
        self.model_path = Path(model_path) if model_path else None
        self.neutral_image = None if neutral_image is None else np.asarray(neutral_image)
        self.neutral_points = (None if neutral_points is None
                               else np.asarray(neutral_points, dtype=float))
        self.session_path = Path(session_path) if session_path else None
        self.session = None
        self.au_images = {}
        self.material = None
        if model is not None:
            scales = au_scales(model)  # the unit the AUs and Projected panels use
            self.material = RatingMaterial(list(model.names), self.neutral_points,
                                           model.components, scales)
            if self.neutral_image is not None and self.neutral_points is not None:
                self.renderer.start(model.content_hash(), self.neutral_image,
                                    self.neutral_points, model.components, scales)
        self.setup.set_can_start(model is not None and self.session_path is not None)
        if self.session_path is not None and self.session_path.exists() and model is not None:
            self.open_session(self.session_path)
        else:
            self._show_session()

    def open_session(self, path: str | Path) -> RatingSession | None:
        """Resume the session at ``path`` for the current model (None, with a reason, if refused)."""
        path = Path(path)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ModelChangedWarning)
                session = RatingSession.open(path, model=self.model, model_path=self.model_path)
        except DfecsError as err:
            self.session = None
            self._show_session()
            self._status(f"Cannot resume: {err}", error=True)
            return None
        self.session, self.session_path = session, path
        self._show_session()
        note = "; ".join(str(w.message) for w in caught)
        self._status(f"Warning: {note}" if note else f"Resumed {path.name}", error=bool(note))
        self.sessionChanged.emit(str(path))
        return session

    def start_session(self, raters: list[str] | None = None, seed: int | None = None,
                      tie: str = DEFAULT_TIE_RULE, blinded: bool = True,
                      overwrite: bool = False) -> RatingSession | None:
        """Create the session file for the current model (refused if the file exists)."""
        if self.model is None or self.session_path is None:
            self._status("Load a model first (and give the session a file).", error=True)
            return None
        try:
            session = RatingSession.create(self.session_path, self.model,
                                           raters or self.setup.rater_names(), seed=seed,
                                           tie=tie, blinded=blinded, model_path=self.model_path,
                                           overwrite=overwrite)
        except DfecsError as err:
            self._status(str(err), error=True)
            return None
        self.session = session
        self._show_session()
        self._status(f"Started {self.session_path.name} with {len(session.raters)} raters")
        self.sessionChanged.emit(str(self.session_path))
        return session

    def rate_as(self, rater: str) -> None:
        """Show the rating screen for ``rater`` (only their own votes)."""
        if self.session is None or rater not in self.session.raters:
            self._status(f"unknown rater {rater!r}", error=True)
            return
        self.screen.set_session(self.session, rater, self.material)
        for c, img in self.au_images.items():
            self.screen.set_au_image(c, img)
        self.tabs.setCurrentWidget(self.screen)
        self.screen.setFocus()
        self._status(f"Rating as {rater}: Y ✓, N ×, arrows move, Ctrl+Z undo (F1: all keys)")

    def close_session(self) -> None:
        """Close the session: votes freeze, results show."""
        if self.session is None:
            return
        self.session.close()
        self._show_session()
        self.tabs.setCurrentWidget(self.results)
        self._status(f"Closed {self.session.path.name}")
        self.sessionChanged.emit(str(self.session.path))

    def export_pack(self, rater: str, folder: str | Path) -> Path | None:
        """Write a rating pack for ``rater`` (waits for the AU images being rendered)."""
        if self.session is None or self.model is None or self.neutral_points is None:
            self._status("A pack needs a session, the model and the neutral face", error=True)
            return None
        self.renderer.wait()
        try:
            out = export_pack(self.session, rater, folder, model=self.model,
                              neutral_points=self.neutral_points,
                              neutral_image=self.neutral_image, au_images=self.au_images,
                              scales=self.material.scales)
        except DfecsError as err:
            self._status(str(err), error=True)
            return None
        self._status(f"Wrote the rating pack for {rater} to {out}")
        return out

    def merge_returned(self, path: str | Path) -> int | None:
        """Merge a returned ratings file or pack folder (None, with the reason, if refused)."""
        if self.session is None:
            self._status("No session to merge into", error=True)
            return None
        try:
            n = import_returned_ratings(self.session, path)
        except DfecsError as err:
            self._status(f"Refused: {err}", error=True)
            return None
        self._show_session()
        self._status(f"Merged {n} votes from {path}")
        self.sessionChanged.emit(str(self.session.path))
        return n

    def shutdown(self) -> None:
        """Stop background rendering (call before the host window closes)."""
        self.renderer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    # -- internals ------------------------------------------------------------------------
    def _status(self, text: str, error: bool = False) -> None:
        self.setup.show_status(text, error)
        self.message.emit(text)

    def _on_image(self, component: int, image: np.ndarray) -> None:
        self.au_images[component] = image
        self.screen.set_au_image(component, image)

    def _show_session(self) -> None:
        self.setup.set_session(self.session)
        if self.session is None or self.session.closed:
            self.screen.set_session(None, None, None)
        elif self.screen.session is not self.session:
            self.screen.set_session(None, None, None)
        self.results.set_session(self.session, self.model, self.neutral_points)
        self._update_tabs()

    def _update_tabs(self) -> None:
        open_ = self.session is not None and not self.session.closed
        self.tabs.setTabEnabled(self.tabs.indexOf(self.screen), open_)
        self.tabs.setTabEnabled(self.tabs.indexOf(self.results),
                                self.session is not None and self.results.summary is not None)

    def _on_start(self, raters: list, seed: int, tie: str, blinded: bool) -> None:
        self.start_session(list(raters), seed, tie, blinded)

    def _on_open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Resume rating session", "",
                                              "Rating sessions (*.json)")
        if path:
            self.open_session(path)

    def _on_pack_dialog(self, rater: str) -> None:
        path = QFileDialog.getExistingDirectory(self, f"Folder for {rater}'s rating pack")
        if path:
            self.export_pack(rater, Path(path) / f"rating-pack-{rater}")

    def _on_merge_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Returned ratings", "",
                                              "Returned ratings (ratings.json *.json)")
        if path:
            self.merge_returned(path)
