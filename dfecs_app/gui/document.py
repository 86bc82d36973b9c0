"""The open project as the GUI sees it: one QObject holding the state and announcing changes.

Panels never talk to each other; they read and write this document and listen to its signals.
Saving and loading go through :mod:`dfecs_app.io.project` (the same files the CLI-side code
reads), see :meth:`ProjectDocument.to_project` / :meth:`ProjectDocument.from_project`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.landmarks import LandmarkTable


class ProjectDocument(QObject):
    """The project being edited.

    Attributes
    ----------
    path : Path or None
        The project file, once saved or opened.
    data_paths : list of str
        Landmark files/folders the table was read from.
    data_format : str
        Reader format ("auto" or one of the readers' ``FORMATS``).
    table : LandmarkTable or None
        The landmark tracks, ``points`` (n, 68, 2).
    neutral_rule : {'first', 'auto'}
        How each sequence's neutral frame is chosen (:func:`dfecs_app.core.kpm.compute_kpm`).
    neutral_overrides : dict (subject, sequence) -> frame id
        Neutral frames picked by hand; they win over the rule.
    frontalize : bool
        Whether landmark frontalization is part of the corrections.
    anchors : {'auto', 'jaw', 'eyes'}
        Affine registration anchors (``landmarks.ANCHOR_SETS``; ``compute_kpm(anchors=)``).
    kpm : KPMSet or None
        Training KPMs, ``X`` (n, 136).
    neutral_image : ndarray of uint8, shape (h, w, 3), or None
    neutral_landmarks : ndarray of float64, shape (68, 2), or None
    model : AUModel or None
        The learned DFECS model.
    train_params : dict
        beta, mode, seed and explicit hyperparameters of the last training.
    test_sets : dict str -> KPMSet
        Evaluation KPM sets by display name.
    baselines : dict str -> AUModel
        PCA / FACS models for the Evaluate panel.
    sessions : dict str -> str
        Rating session files by the rated model's content hash (first 12 hex digits).
    evaluation : dict (model name, set name) -> EvaluationResult
        The Evaluate panel's results; cleared (with the PCA baseline, which belongs to the
        training data) when the model or the training KPMs change.
    evaluation_stale : bool
        True when results were cleared that way, until the next evaluation.
    extra : dict
        ``kpm_source`` (where loaded KPMs came from) and ``view``: the project's view settings
        (:meth:`view_value`), saved with the project.

    Signals
    -------
    dataChanged(), kpmChanged(), neutralChanged(), modelChanged(), evaluationChanged(),
    replaced() (a whole new project), dirtyChanged(bool), pathChanged(str)
    """

    dataChanged = Signal()
    kpmChanged = Signal()
    neutralChanged = Signal()
    modelChanged = Signal()
    evaluationChanged = Signal()
    replaced = Signal()
    dirtyChanged = Signal(bool)
    pathChanged = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dirty = False
        self.path: Path | None = None
        self.name = "Untitled"
        self._reset_fields()

    def _reset_fields(self) -> None:
        self.data_paths: list[str] = []
        self.data_format = "auto"
        self.table: LandmarkTable | None = None
        self.neutral_rule = "first"
        self.neutral_overrides: dict[tuple[str, str], int] = {}
        self.frontalize = True
        self.anchors = "auto"
        self.kpm: Any = None
        self.neutral_image: np.ndarray | None = None
        self.neutral_image_path: str | None = None
        self.neutral_landmarks: np.ndarray | None = None
        self.model: AUModel | None = None
        self.train_params: dict[str, Any] = {"beta": 0.05, "mode": "search", "seed": 0}
        self.test_sets: dict[str, Any] = {}
        self.baselines: dict[str, AUModel] = {}
        self.sessions: dict[str, str] = {}  # model content hash[:12] -> rating session file
        self.evaluation: dict[tuple[str, str], Any] = {}
        self.evaluation_stale = False
        self.extra: dict[str, Any] = {}

    # -- dirty flag ------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_dirty(self, dirty: bool = True) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)

    def set_path(self, path: Path | None) -> None:
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.name = self.path.name.split(".")[0]
        self.pathChanged.emit("" if path is None else str(path))

    def set_name(self, name: str) -> None:
        self.name = name
        self.pathChanged.emit("" if self.path is None else str(self.path))

    # -- edits (each marks the project modified and says what changed) -----------------------
    def set_table(self, table: LandmarkTable | None, paths: list[str], fmt: str = "auto") -> None:
        self.table = table
        self.data_paths = list(paths)
        self.data_format = fmt
        if table is None:
            self.neutral_overrides = {}
        self.set_dirty()
        self.dataChanged.emit()

    def set_neutral_rule(self, rule: str) -> None:
        if rule != self.neutral_rule:
            self.neutral_rule = rule
            self.set_dirty()
            self.dataChanged.emit()

    def set_neutral_override(self, subject: str, sequence: str, frame: int | None) -> None:
        """Pick (or with ``frame=None`` un-pick) the neutral frame of one sequence."""
        if frame is None:
            self.neutral_overrides.pop((subject, sequence), None)
        else:
            self.neutral_overrides[(subject, sequence)] = int(frame)
        self.set_dirty()
        self.dataChanged.emit()

    def set_frontalize(self, on: bool) -> None:
        if on != self.frontalize:
            self.frontalize = bool(on)
            self.set_dirty()
            self.dataChanged.emit()

    def set_anchors(self, anchors: str) -> None:
        if anchors != self.anchors:
            self.anchors = str(anchors)
            self.set_dirty()
            self.dataChanged.emit()

    def training_recipe(self) -> Any:
        """The :class:`~dfecs_app.core.recipe.Recipe` the project's training KPMs were made
        with (None without KPMs): what new data are prepared with when a model has none."""
        from dfecs_app.core.recipe import Recipe

        return Recipe.from_kpm_meta(self.kpm.meta) if self.kpm is not None else None

    def kpms_out_of_date(self) -> bool:
        """True when the KPMs were computed from the loaded landmarks with other corrections.

        Compares the options recorded by :func:`~dfecs_app.core.kpm.compute_kpm` in the KPM
        set's meta with the current neutral rule, neutral picks, frontalization and
        anchors. KPM-only datasets (loaded or synthetic) are never out of date.
        """
        doc = self
        kpm = doc.kpm
        options = (getattr(kpm, "meta", None) or {}).get("options") if kpm is not None else None
        if doc.table is None or not options:
            return False
        picks = sorted([str(s), str(q), int(f)] for (s, q), f in doc.neutral_overrides.items())
        return (options.get("neutral") != doc.neutral_rule
                or bool(options.get("frontalize")) != bool(doc.frontalize)
                or options.get("anchors", "auto") != doc.anchors
                or sorted(options.get("neutral_overrides", [])) != picks)

    def set_kpm(self, kpm: Any) -> None:
        self.kpm = kpm
        self._invalidate_evaluation()
        self.set_dirty()
        self.kpmChanged.emit()

    def _invalidate_evaluation(self) -> None:
        """New training data or a new model: the results and the PCA baseline no longer hold."""
        if self.evaluation or "PCA" in self.baselines:
            self.evaluation_stale = bool(self.evaluation) or self.evaluation_stale
            self.evaluation = {}
            self.baselines.pop("PCA", None)

    def set_evaluation(self, results: dict[tuple[str, str], Any], pca: AUModel | None = None) -> None:
        """Store evaluation results (and the PCA baseline they were computed with)."""
        if pca is not None:
            self.baselines["PCA"] = pca
        self.evaluation = dict(results)
        self.evaluation_stale = False
        self.set_dirty()
        self.evaluationChanged.emit()

    # -- view settings of the project ---------------------------------------------------------
    def view_value(self, key: str, default: Any = None) -> Any:
        """A view setting of the project (``arrow_scale``, ``morph_intensity``, ...)."""
        return self.extra.get("view", {}).get(key, default)

    def set_view_value(self, key: str, value: Any) -> None:
        """Change a view setting; the project is modified when the value differs."""
        view = self.extra.setdefault("view", {})
        if view.get(key) != value:
            view[key] = value
            self.set_dirty()

    def set_neutral_face(self, image: np.ndarray | None, landmarks: np.ndarray | None,
                         image_path: str | None = None) -> None:
        self.neutral_image = image
        self.neutral_landmarks = None if landmarks is None else np.asarray(landmarks, float)
        self.neutral_image_path = image_path
        self.set_dirty()
        self.neutralChanged.emit()

    def move_landmark(self, index: int, xy: tuple[float, float]) -> None:
        if self.neutral_landmarks is None:
            return
        self.neutral_landmarks = self.neutral_landmarks.copy()
        self.neutral_landmarks[index] = xy
        self.set_dirty()
        self.neutralChanged.emit()

    def set_model(self, model: AUModel | None, params: dict[str, Any] | None = None) -> None:
        self.model = model
        self._invalidate_evaluation()
        if params is not None:
            self.train_params = dict(params)
        self.set_dirty()
        self.modelChanged.emit()

    def add_test_set(self, name: str, kpm: Any) -> None:
        self.test_sets[name] = kpm
        self.set_dirty()
        self.evaluationChanged.emit()

    def set_baseline(self, name: str, model: AUModel) -> None:
        self.baselines[name] = model
        self.set_dirty()
        self.evaluationChanged.emit()

    def state_dict(self) -> dict[str, Any]:
        """Everything the user made, as plain comparable values.

        Datasets (paths, reader format, neutral rule and picks, corrections, the landmark
        table), the KPMs and how they were made (their meta), the neutral face, the model, the
        baselines, test sets, evaluation results, rating sessions, training and view settings.
        Arrays are given as (dtype, shape, sha256 of the bytes); files the project wrote
        into its own folder are given by content, not location. A saved and reopened project
        has the same ``state_dict()`` as the one that was saved.
        """
        from dfecs_app.gui.document_state import document_state

        return document_state(self)

    def clear(self) -> None:
        """An empty, unsaved project."""
        self._reset_fields()
        self.set_path(None)
        self.name = "Untitled"
        self.replaced.emit()
        self.set_dirty(False)
