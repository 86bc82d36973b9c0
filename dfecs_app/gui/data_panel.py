"""Data panel: landmark files in, KPMs out.

Open files or folders in every format the readers know (dialog or drag-and-drop), see the
subjects and sequences with their frame counts and missing points, scrub through the frames
showing raw and standardized landmarks, pick each subject's neutral frame, switch the
corrections, and compute the KPM matrix — with the same functions as ``dfecs kpm``
(:func:`dfecs_app.io.readers.read_landmarks`, :func:`dfecs_app.core.kpm.compute_kpm`).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.landmarks import LandmarkTable
from dfecs_app.errors import MissingResourceError
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.face_items import FaceItems, face_plot_widget
from dfecs_app.gui.worker import Worker, start_worker

NEUTRAL_RULES = (("first", "first frame"), ("auto", "auto (least expressive frame)"))


class DataPanel(QWidget):
    """Landmark datasets, frame scrubber, neutral choice and corrections; computes KPMs.

    Signals
    -------
    loaded(int)
        A landmark table was read (number of frames now in the project).
    kpmReady(int)
        KPMs were computed or loaded (number of rows).
    message(str)
        A line for the log.
    """

    loaded = Signal(int)
    kpmReady = Signal(int)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._worker: Worker | None = None
        self._rows = np.zeros(0, dtype=np.intp)  # table rows of the selected sequence
        self.setAcceptDrops(True)
        self._build()
        document.dataChanged.connect(self._refresh)
        document.kpmChanged.connect(self._refresh_kpm_label)
        document.replaced.connect(self._refresh)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        from dfecs_app.io.readers import FORMATS

        top = QHBoxLayout()
        self.add_files_button = QPushButton("Add &files…")
        self.add_files_button.clicked.connect(self.open_files_dialog)
        self.add_dir_button = QPushButton("Add f&older…")
        self.add_dir_button.clicked.connect(self.open_dir_dialog)
        self.format_combo = QComboBox()
        self.format_combo.addItems(["auto", *FORMATS])
        self.format_combo.setToolTip("Reader format (auto-detected by default)")
        self.load_kpm_button = QPushButton("Load &KPM file…")
        self.load_kpm_button.clicked.connect(self.open_kpm_dialog)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        for w in (self.add_files_button, self.add_dir_button, QLabel("Format:"),
                  self.format_combo, self.load_kpm_button, self.clear_button):
            top.addWidget(w)
        top.addStretch(1)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Subject", "Sequence", "Frames", "Missing points", "Neutral",
                                   "Source"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.currentItemChanged.connect(self._on_sequence_selected)

        self.raw_plot = face_plot_widget("Raw landmarks (image)")
        self.std_plot = face_plot_widget("Standardized (affine + per-part registration)")
        self.raw_face = FaceItems(self.raw_plot.getPlotItem())
        self.std_face = FaceItems(self.std_plot.getPlotItem())
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_slider.valueChanged.connect(self._show_frame)
        self.frame_label = QLabel("no data — add landmark files or drop them here")

        plots = QHBoxLayout()
        plots.addWidget(self.raw_plot)
        plots.addWidget(self.std_plot)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(plots, 1)
        rl.addWidget(self.frame_slider)
        rl.addWidget(self.frame_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([480, 1000])

        box = QGroupBox("Neutral frame and corrections")
        bl = QHBoxLayout(box)
        self.neutral_combo = QComboBox()
        for key, text in NEUTRAL_RULES:
            self.neutral_combo.addItem(text, key)
        self.neutral_combo.setToolTip("How each sequence's neutral frame is chosen")
        self.neutral_combo.activated.connect(
            lambda i: self.document.set_neutral_rule(self.neutral_combo.itemData(i)))
        self.pick_button = QPushButton("Use this frame as &neutral")
        self.pick_button.setEnabled(False)
        self.pick_button.setToolTip("Pick the shown frame as the neutral of its sequence")
        self.pick_button.clicked.connect(self.use_current_frame_as_neutral)
        self.unpick_button = QPushButton("Use the rule")
        self.unpick_button.setEnabled(False)
        self.unpick_button.setToolTip("Forget the picked neutral frame of this sequence")
        self.unpick_button.clicked.connect(self.clear_neutral_override)
        self.frontalize_check = QCheckBox("&Frontalization")
        self.frontalize_check.setChecked(self.document.frontalize)
        self.frontalize_check.setToolTip("Vonikakis & Winkler landmark frontalization before "
                                         "registration (weights downloaded once)")
        self.frontalize_check.toggled.connect(self.document.set_frontalize)
        self.anchors_label = QLabel("Anchors: 0, 16, 27, 33, 39, 42 (BP4D: 27, 33, 39, 42, 36, 45)")
        self.anchors_label.setToolTip("Six-parameter affine registration anchors, chosen from "
                                      "the points each frame carries")
        self.compute_button = QPushButton("&Compute KPMs")
        self.compute_button.clicked.connect(self.compute_kpms)
        self.kpm_label = QLabel("KPMs: none")
        for w in (QLabel("Neutral frame:"), self.neutral_combo, self.pick_button,
                  self.unpick_button, self.frontalize_check, self.anchors_label):
            bl.addWidget(w)
        bl.addStretch(1)
        bl.addWidget(self.kpm_label)
        bl.addWidget(self.compute_button)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(box)

    # -- loading ---------------------------------------------------------------------------
    def open_files_dialog(self) -> None:
        paths = dialogs.open_files(self, "Add landmark files", settings.get("projects/last_dir"),
                                   "Landmark files (*.csv *.txt *.pts *.mat *.npy *.npz);;"
                                   "All files (*)")
        if paths:
            self.load_paths(paths)

    def open_dir_dialog(self) -> None:
        path = dialogs.open_dir(self, "Add a folder of landmark files",
                                settings.get("projects/last_dir"))
        if path:
            self.load_paths([path])

    def load_paths(self, paths: list[str | Path], fmt: str | None = None) -> Worker:
        """Read landmark files/folders in the background and add them to the project.

        Emits ``loaded`` when done; a bad file gets a dialog naming it, and the project keeps
        what it had.
        """
        from dfecs_app.io.readers import read_landmarks

        fmt = fmt or self.format_combo.currentText()
        paths = [str(p) for p in paths]
        self._set_busy(True)
        self.message.emit(f"Reading {len(paths)} path(s) ({fmt})…")
        self._worker = start_worker(
            lambda state: read_landmarks(paths, format=fmt, progress=state),
            name="reading landmarks",
            on_returned=lambda table: self._on_table(table, paths, fmt),
            on_errored=lambda err: self._on_error("Reading landmarks", err),
            on_finished=lambda: self._set_busy(False),
        )
        return self._worker

    def _on_table(self, table: LandmarkTable, paths: list[str], fmt: str) -> None:
        doc = self.document
        if doc.table is not None and len(doc.table):
            table = LandmarkTable.concat([doc.table, table])
            paths = doc.data_paths + paths
        doc.set_table(table, paths, fmt)
        for note in table.notes:
            self.message.emit(f"note: {note}")
        self.message.emit(f"Loaded {len(table)} frames, "
                          f"{len(set(table.subject.tolist()))} subject(s)")
        self.loaded.emit(len(table))

    def open_kpm_dialog(self) -> None:
        path = dialogs.open_file(self, "Load a KPM file", settings.get("projects/last_dir"),
                                 "KPM files (*.npz);;All files (*)")
        if path:
            self.load_kpm_file(path)

    def load_kpm_file(self, path: str | Path) -> bool:
        """Use a KPM NPZ (as written by ``dfecs kpm``) as the training set."""
        from dfecs_app.io.kpm_file import load_kpm

        try:
            kpm = load_kpm(path)
        except Exception as err:  # noqa: BLE001 - shown, project unchanged
            self._on_error("Loading KPMs", err, traceback.format_exc())
            return False
        self.document.extra["kpm_source"] = {"kind": "kpm", "path": str(Path(path).resolve())}
        self.document.set_kpm(kpm)
        self.message.emit(f"Loaded KPMs {path}: {kpm.X.shape[0]} rows")
        self.kpmReady.emit(int(kpm.X.shape[0]))
        return True

    def clear(self) -> None:
        self.document.set_table(None, [])

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.load_paths(paths)

    # -- KPMs ------------------------------------------------------------------------------
    def compute_kpms(self) -> Worker | None:
        """Compute the KPMs of the project's table in the background (emits ``kpmReady``)."""
        table = self.document.table
        if table is None or not len(table):
            dialogs.info(self, "Compute KPMs", "Add landmark files first.")
            return None
        doc = self.document
        self._set_busy(True)
        self._worker = start_worker(
            compute_project_kpms, table, doc.neutral_rule, dict(doc.neutral_overrides),
            doc.frontalize, name="computing KPMs",
            on_returned=self._on_kpm,
            on_errored=self._on_kpm_error,
            on_finished=lambda: self._set_busy(False),
        )
        return self._worker

    def _on_kpm_error(self, err: BaseException) -> None:
        if isinstance(err, MissingResourceError) and self.document.frontalize:
            # never silently: say what is missing and offer to go on without it
            if dialogs.question(self, "Frontalization weights missing",
                                f"{err}\n\nContinue without frontalization?", default=True):
                self.message.emit("Frontalization switched off: weights unavailable")
                self.document.set_frontalize(False)
                self._worker = None
                # the failed worker is still finishing: start the new one after it
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, self.compute_kpms)
            return
        self._on_error("Computing KPMs", err)

    def _on_kpm(self, kpm: Any) -> None:
        self.document.extra.pop("kpm_source", None)  # computed here: saved with the project
        self.document.set_kpm(kpm)
        self.message.emit(f"Computed {kpm.X.shape[0]} KPMs")
        self.kpmReady.emit(int(kpm.X.shape[0]))

    def _refresh_kpm_label(self) -> None:
        kpm = self.document.kpm
        if kpm is None:
            self.kpm_label.setText("KPMs: none")
        else:
            n_subj = len(set(np.asarray(kpm.subject).tolist()))
            self.kpm_label.setText(f"KPMs: {kpm.X.shape[0]} rows, {n_subj} subject(s)")

    # -- view ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self.frontalize_check.blockSignals(True)
        self.frontalize_check.setChecked(self.document.frontalize)
        self.frontalize_check.blockSignals(False)
        self.neutral_combo.setCurrentIndex(max(0, self.neutral_combo.findData(
            self.document.neutral_rule)))
        current = self.tree.currentItem()
        keep = None if current is None else current.data(1, Qt.ItemDataRole.UserRole)
        keep_frame = self.frame_slider.value()
        self.tree.clear()
        table = self.document.table
        self._refresh_kpm_label()
        if table is None or not len(table):
            self._rows = np.zeros(0, dtype=np.intp)
            self.frame_slider.setEnabled(False)
            self.pick_button.setEnabled(False)
            self.unpick_button.setEnabled(False)
            self.raw_face.set_face(None)
            self.std_face.set_face(None)
            self.frame_label.setText("no data — add landmark files or drop them here")
            return
        for subject, sequence, rows in table.groups():
            missing = int((~table.mask[rows]).sum())
            frames_missing = int((~table.mask[rows]).any(axis=1).sum())
            item = QTreeWidgetItem([
                subject, sequence, str(len(rows)),
                f"{missing} in {frames_missing} frame(s)" if missing else "none",
                self._neutral_text(subject, sequence, table, rows),
                Path(str(table.source[rows[0]])).name,
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, rows)
            item.setData(1, Qt.ItemDataRole.UserRole, (subject, sequence))
            item.setToolTip(5, str(table.source[rows[0]]))
            self.tree.addTopLevelItem(item)
        for c in range(self.tree.columnCount()):
            self.tree.resizeColumnToContents(c)
        target = self.tree.topLevelItem(0)
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if keep is not None and tuple(it.data(1, Qt.ItemDataRole.UserRole)) == tuple(keep):
                target = it
        self.tree.setCurrentItem(target)
        if keep is not None and tuple(target.data(1, Qt.ItemDataRole.UserRole)) == tuple(keep):
            self.frame_slider.setValue(keep_frame)

    def _neutral_text(self, subject: str, sequence: str, table: LandmarkTable,
                      rows: np.ndarray) -> str:
        picked = self.document.neutral_overrides.get((subject, sequence))
        if picked is not None:
            return f"frame {picked} (picked)"
        return dict(NEUTRAL_RULES)[self.document.neutral_rule]

    def _on_sequence_selected(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        self._rows = np.asarray(item.data(0, Qt.ItemDataRole.UserRole), dtype=np.intp)
        key = tuple(item.data(1, Qt.ItemDataRole.UserRole))
        self.pick_button.setEnabled(True)
        self.unpick_button.setEnabled(key in self.document.neutral_overrides)
        self.frame_slider.setEnabled(True)
        self.frame_slider.setRange(0, len(self._rows) - 1)
        self.frame_slider.setValue(0)
        self._show_frame(0)

    def current_row(self) -> int | None:
        if not len(self._rows):
            return None
        return int(self._rows[min(self.frame_slider.value(), len(self._rows) - 1)])

    def _show_frame(self, i: int) -> None:
        table = self.document.table
        row = self.current_row()
        if table is None or row is None:
            return
        pts, mask = table.points[row], table.mask[row]
        self.raw_face.set_face(pts, mask)
        self.raw_plot.getPlotItem().autoRange()
        text = (f"{table.subject[row]} / {table.sequence[row]}: frame {table.frame[row]} "
                f"({i + 1} of {len(self._rows)}), {int(mask.sum())} of 68 points")
        try:
            from dfecs_app.core.geometry import standardize, standardized_mask

            std = standardize(pts[None], mask[None])[0]
            self.std_face.set_face(std, standardized_mask(mask[None])[0])
            self.std_plot.getPlotItem().autoRange()
        except ValueError as err:
            self.std_face.set_face(None)
            text += f" — cannot standardize: {err}"
        self.frame_label.setText(text)

    def use_current_frame_as_neutral(self) -> None:
        """Pick the shown frame as the neutral frame of its sequence."""
        row = self.current_row()
        table = self.document.table
        if row is None or table is None:
            return
        subject, sequence = str(table.subject[row]), str(table.sequence[row])
        self.document.set_neutral_override(subject, sequence, int(table.frame[row]))
        self.message.emit(f"Neutral of {subject}/{sequence}: frame {int(table.frame[row])}")

    def clear_neutral_override(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            subject, sequence = item.data(1, Qt.ItemDataRole.UserRole)
            self.document.set_neutral_override(subject, sequence, None)

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        folder = dialogs.open_dir(self, "Export the landmark plots to…",
                                  settings.get("projects/last_dir"))
        if folder:
            self.export_plots(folder)

    def export_plots(self, folder: str | Path) -> list[Path]:
        """The raw and standardized landmark plots of the shown frame as PNG and SVG."""
        from dfecs_app.gui.export import save_plot_widget

        out = []
        for name, plot in (("landmarks_raw", self.raw_plot), ("landmarks_std", self.std_plot)):
            for suffix in (".png", ".svg"):
                out.append(save_plot_widget(Path(folder) / f"{name}{suffix}", plot))
        self.message.emit(f"Exported the landmark plots to {folder}")
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        for w in (self.add_files_button, self.add_dir_button, self.load_kpm_button,
                  self.compute_button, self.clear_button):
            w.setEnabled(not busy)

    def _on_error(self, what: str, err: BaseException, tb: str = "") -> None:
        w = self._worker
        if not tb and w is not None and w.error is err:
            tb = w.error_traceback
        self.message.emit(f"{what} failed: {err}")
        dialogs.exception(self, what, err, tb)


def compute_project_kpms(table: LandmarkTable, rule: str,
                         overrides: dict[tuple[str, str], int], frontalize: bool,
                         state: Any = None) -> Any:
    """KPMs of a table as ``dfecs kpm`` computes them, with the GUI's neutral choices.

    Frontalization weights of the layouts present are loaded here (in the worker: a first
    use may download them); a :class:`MissingResourceError` reaches the panel, which offers
    to continue without frontalization.
    """
    from dfecs_app.core.geometry import frontalization_layout
    from dfecs_app.core.kpm import compute_kpm
    from dfecs_app.io.frontalization_weights import load_frontalization_set

    weights = None
    if frontalize:
        layouts = sorted(set(frontalization_layout(table.mask).tolist()) - {""})
        weights = load_frontalization_set(layouts) if layouts else None
    return compute_kpm(table, neutral=rule, frontalization=weights,
                       neutral_overrides=overrides or None, state=state)
