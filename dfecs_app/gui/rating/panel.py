"""``RatingPanel``: the whole rating workflow as one widget the main window embeds as a tab.

API for the main window::

    panel = RatingPanel()
    panel.set_model(model, neutral_image, neutral_points, session_path, model_path=None)
    panel.set_available_models({"DFECS": model, "PCA": pca, ...}, kpm=training_kpm)
    panel.shutdown()            # before the window closes (stops the image worker)

Which model is rated
--------------------
``set_model`` rates the host's model. ``set_available_models`` offers more in the Session tab
(the project's baselines, model files loaded there, PCA AUs fitted there with a number of
components on the training KPMs): checking one rates it, checking two or more starts a blinded
comparison (:class:`~dfecs_app.core.rated_models.RatedModels`). Each choice has its own session
file beside the host's: ``session-<hash[:12]>.json``; ``rated_hash`` is the hash of what is
rated now.

Blinding: rater turns
---------------------
*Rate as this rater* starts that rater's turn: the Session and Results tabs (the
coordinator's view: every rater's progress, the pre-check) are locked, the screen shows only
the rater's own name, progress and votes, and nothing that names a rater goes to ``message``.
The rater ends the turn with *End my turn*; until then the identity cannot change
(:meth:`rate_as` for another rater is refused).

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
from dfecs_app.core.muscle_check import ConeTable, precheck, precheck_rows
from dfecs_app.core.rated_models import RatedModels
from dfecs_app.core.ratings import DEFAULT_TIE_RULE
from dfecs_app.errors import DfecsError
from dfecs_app.gui.rating.images import AUImageRenderer
from dfecs_app.gui.rating.results import ResultsWidget
from dfecs_app.gui.rating.screen import RatingMaterial, RatingScreen
from dfecs_app.gui.rating.setup import SessionSetupWidget
from dfecs_app.io.muscle_cones import load_cone_table
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
        self.available: dict[str, AUModel] = {}
        self.available_paths: dict[str, Path] = {}
        self.training_kpm = None
        self.turn: str | None = None
        self._host_model: AUModel | None = None
        self._host_session_path: Path | None = None
        self.precheck = None
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
        self.setup.modelsChosen.connect(self.choose_models)
        self.setup.loadModelRequested.connect(self._on_load_model_dialog)
        self.setup.pcaRequested.connect(self.fit_pca)
        self.screen.voteChanged.connect(lambda *_: self.setup.set_session(self.session))
        self.screen.message.connect(self.message)
        self.screen.endTurnRequested.connect(self.end_turn)
        self.screen.set_turn_mode(True)
        self._update_tabs()

    # -- public API -----------------------------------------------------------------------
    def set_model(self, model: AUModel | None, neutral_image: np.ndarray | None,
                  neutral_points: np.ndarray | None, session_path: str | Path | None,
                  model_path: str | Path | None = None) -> None:
        """Rate ``model`` on this neutral face, with the session file ``session_path``."""
        self._host_model = model
        self._host_session_path = Path(session_path) if session_path else None
        if model is not None and not isinstance(model, RatedModels):
            label = next((k for k, m in self.available.items() if m is model), None)
            if label is None:
                label = self._label_for(model)
                self.available = {label: model, **self.available}
            if model_path:
                self.available_paths[label] = Path(model_path)
            self.setup.set_models(list(self.available), [label])
        self._rate(model, neutral_image, neutral_points, session_path, model_path)

    def cone_table(self) -> ConeTable:
        """The feasible-direction cones of the pre-check (built in)."""
        return load_cone_table()

    @property
    def rated_hash(self) -> str | None:
        """Content hash of the model (or model set) rated now."""
        return None if self.model is None else self.model.content_hash()

    def set_available_models(self, models: dict[str, AUModel], kpm=None) -> None:
        """Offer these models (label -> model) in the Session tab; ``kpm`` (a KPM set with
        ``X`` and ``mask``) enables fitting PCA AUs with a number of components."""
        chosen = self.setup.chosen_models()
        merged = {k: m for k, m in models.items() if m is not None}
        for k, m in self.available.items():  # keep models loaded or fitted here
            if k not in merged and k not in models:
                merged[k] = m
        self.available = merged
        self.training_kpm = kpm
        self.setup.set_models(list(merged), [c for c in chosen if c in merged])
        self.setup.set_can_fit_pca(kpm is not None)

    def add_model(self, label: str, model: AUModel, path: str | Path | None = None,
                  check: bool = False) -> str:
        """Offer one more model (a loaded file, fitted PCA AUs); returns its label."""
        base, i = label, 2
        while label in self.available and self.available[label] is not model:
            label, i = f"{base} ({i})", i + 1
        self.available[label] = model
        if path:
            self.available_paths[label] = Path(path)
        chosen = self.setup.chosen_models()
        self.setup.set_models(list(self.available), chosen)
        if check:
            self.setup.check_models([label] if not chosen else [*chosen, label])
        return label

    def fit_pca(self, n_components: int) -> str | None:
        """PCA AUs ``[U, −U]`` of the training KPMs with ``n_components`` PCs (Table 2: 8)."""
        from dfecs_app.core.baselines import pca_aus

        kpm = self.training_kpm
        if kpm is None:
            self._status("Fitting PCA AUs needs the training KPMs", error=True)
            return None
        try:
            pca = pca_aus(kpm.X, mask=getattr(kpm, "mask", None), n_components=int(n_components))
        except DfecsError as err:
            self._status(str(err), error=True)
            return None
        label = self.add_model(f"PCA ({n_components} PCs)", pca)
        self._status(f"{label}: {pca.n_components} AUs, VE(train) {pca.meta['ve_train']:.1f} %")
        return label

    def choose_models(self, labels: list[str]) -> None:
        """Rate the models with these labels (two or more: a blinded comparison)."""
        if self.turn is not None:
            return
        labels = [lab for lab in labels if lab in self.available]
        if not labels:
            self._rate(None, self.neutral_image, self.neutral_points, None)
            return
        if len(labels) == 1:
            model = self.available[labels[0]]
            path = self.available_paths.get(labels[0])
        else:
            model = RatedModels(labels, [self.available[lab] for lab in labels])
            path = [self.available_paths.get(lab) for lab in labels]
        self._rate(model, self.neutral_image, self.neutral_points,
                   self._session_file_for(model), path)

    def _label_for(self, model: AUModel) -> str:
        return {"dfecs": "DFECS", "pca": "PCA", "facs": "FACS"}.get(model.kind, model.kind)

    def _session_file_for(self, model) -> Path | None:
        """The host's session file for the host's model; a sibling for any other choice."""
        if self._host_session_path is None:
            return None
        if self._host_model is not None and model is self._host_model:
            return self._host_session_path
        return self._host_session_path.parent / f"session-{model.content_hash()[:12]}.json"

    def _rate(self, model, neutral_image, neutral_points, session_path, model_path=None) -> None:
        self.renderer.stop()
        self.end_turn()
        self.model = model
        self.model_path = Path(model_path) if isinstance(model_path, str | Path) else None
        self._model_paths = model_path
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
                                           model.components, scales,
                                           neutral_image=self.neutral_image)
            if self.neutral_image is not None and self.neutral_points is not None:
                self.renderer.start(model.content_hash(), self.neutral_image,
                                    self.neutral_points, model.components, scales)
        self.precheck = None
        if model is not None:
            self.precheck = precheck(model.components, self.cone_table())
        self.setup.set_precheck(None if self.precheck is None else precheck_rows(
            list(model.names), self.precheck, self.cone_table()))
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
            if isinstance(self.model, RatedModels):
                blinded = True  # a comparison is always blinded: raters never see the model
            session = RatingSession.create(self.session_path, self.model,
                                           raters or self.setup.rater_names(), seed=seed,
                                           tie=tie, blinded=blinded,
                                           model_path=(self._model_paths
                                                       if isinstance(self.model, RatedModels)
                                                       else self.model_path),
                                           overwrite=overwrite)
        except DfecsError as err:
            self._status(str(err), error=True)
            return None
        self.session = session
        self._show_session()
        what = (f"a blinded comparison of {len(session.models)} models"
                if session.is_comparison else f"{session.n_components} AUs")
        self._status(f"Started {self.session_path.name}: {what}, {len(session.raters)} raters")
        self.sessionChanged.emit(str(self.session_path))
        return session

    def rate_as(self, rater: str) -> bool:
        """Start ``rater``'s turn: the rating screen with only their own votes and progress,
        the coordinator's tabs locked until the turn ends (see the module docstring)."""
        if self.turn is not None and rater != self.turn:
            self.screen.message.emit("End the current turn first (End my turn).")
            return False
        if self.session is None or rater not in self.session.raters:
            self._status(f"unknown rater {rater!r}", error=True)
            return False
        self.turn = rater
        self.screen.set_session(self.session, rater, self.material)
        for c, img in self.au_images.items():
            self.screen.set_au_image(c, img)
        self.setup.show_status("")
        self._update_tabs()
        self.tabs.setCurrentWidget(self.screen)
        self.screen.setFocus()
        self.message.emit("Rater's turn: Y ✓, N ×, arrows move, Ctrl+Z undo (F1: all keys)")
        return True

    def end_turn(self) -> None:
        """End the current rater's turn: back to the coordinator's Session tab."""
        if self.turn is None:
            return
        self.turn = None
        self.screen.set_session(None, None, None)
        self._update_tabs()
        self.setup.set_session(self.session)
        self.tabs.setCurrentWidget(self.setup)
        self.message.emit("Turn ended")

    def close_session(self) -> None:
        """Close the session: votes freeze, results show."""
        if self.session is None:
            return
        self.end_turn()
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
        self.results.set_session(self.session, self.model, self.neutral_points,
                                 images=self.au_images, precheck=self.precheck,
                                 cones=self.cone_table())
        self._update_tabs()

    def _update_tabs(self) -> None:
        open_ = self.session is not None and not self.session.closed
        turn = self.turn is not None
        self.tabs.setTabEnabled(self.tabs.indexOf(self.screen), open_ and turn)
        self.tabs.setTabEnabled(self.tabs.indexOf(self.setup), not turn)
        self.tabs.setTabEnabled(self.tabs.indexOf(self.results),
                                not turn and self.session is not None
                                and self.results.summary is not None)

    def _on_start(self, raters: list, seed: int, tie: str, blinded: bool) -> None:
        self.start_session(list(raters), seed, tie, blinded)

    def _on_load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to rate", "", "AU models (*.npz)")
        if path:
            self.load_model_file(path)

    def load_model_file(self, path: str | Path) -> str | None:
        """Offer the AU model in ``path`` (a DFECS, PCA or FACS model file); returns its label."""
        from dfecs_app.io.model_file import load_model

        try:
            model = load_model(path)
        except DfecsError as err:
            self._status(str(err), error=True)
            return None
        return self.add_model(f"{self._label_for(model)}: {Path(path).stem}", model, path)

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
