"""Data panel: landmark files and videos in, KPMs out.

Open files or folders in every format the readers know, or videos (dialog or drag-and-drop;
videos are tracked in the worker with :func:`dfecs_app.io.tracking.track_videos`, with
progress and Cancel, into ``dfecs-tracks/<video>.csv`` beside them), see the
project's datasets (landmark files, and KPM-only sets: a loaded KPM file or the demo's synthetic
KPMs) and their subjects and sequences with frame counts and missing points, scrub through the
frames showing raw and standardized landmarks (over the video frame when the track came from
a video that is still there; for a KPM-only set: the selected row's KPM as
arrows on a standard face — raw landmarks are not stored there), pick each subject's neutral
frame, switch the corrections, and compute the KPM matrix — with the same functions as ``dfecs kpm``
(:func:`dfecs_app.io.readers.read_landmarks`, :func:`dfecs_app.core.kpm.compute_kpm`).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.landmarks import ANCHOR_CHOICES, ANCHOR_LABELS, LandmarkTable
from dfecs_app.errors import MissingResourceError
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.face_items import FaceItems, face_plot_widget
from dfecs_app.gui.worker import Worker, start_worker

NEUTRAL_RULES = (("first", "first frame"), ("auto", "auto (least expressive frame)"))
#: Dataset kinds of the Datasets list (``UserRole`` data of its items).
LANDMARKS, KPM = "landmarks", "kpm"
#: Multiplier of the arrows showing a KPM row on the standard face (KPMs are ~2 % of the face).
KPM_ARROW_SCALE = 3.0
RAW_TITLE = "Raw landmarks (image)"
STD_TITLE = "Standardized (affine + per-part registration)"
KPM_TITLE = f"KPM of the selected row on a standard face (arrows ×{KPM_ARROW_SCALE:g})"


def kpm_dataset_label(document: ProjectDocument) -> tuple[str, str]:
    """``(name, kind)`` of the project's KPM dataset as the Datasets list shows it.

    Kinds: ``"synthetic"`` (the demo), ``"KPM file"`` (loaded with *Load KPM file…*) or
    ``"computed KPMs"`` (computed here from the landmark files).
    """
    source = document.extra.get("kpm_source", {})
    if source.get("kind") == "synthetic":
        return "demo KPMs", "synthetic"
    if source.get("kind") == "kpm":
        return Path(str(source.get("path", "KPMs"))).name, "KPM file"
    return "data KPMs", "computed KPMs"


def missing_text(mask: np.ndarray) -> str:
    """"none" or "m in r frame(s)" for a ``(n, 68)`` presence mask."""
    missing = int((~mask).sum())
    if not missing:
        return "none"
    return f"{missing} in {int((~mask).any(axis=1).sum())} frame(s)"


def sequence_groups(subject: np.ndarray, sequence: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(subject, sequence, row indices) per sequence, in order of first appearance."""
    keys = np.char.add(np.char.add(np.asarray(subject, str), "\x1f"), np.asarray(sequence, str))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    out = []
    for g in np.argsort(first):
        rows = np.flatnonzero(inverse == g)
        out.append((str(subject[rows[0]]), str(sequence[rows[0]]), rows))
    return out


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
        document.kpmChanged.connect(lambda: self._refresh(prefer=None))
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
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(320)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop tracking (finished tracks stay on disk and are reused next time)")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        self._frames: Any = None  # VideoFrames of the video shown behind the landmarks
        self._video_of: dict[str, Path | None] = {}

        self.datasets_tree = QTreeWidget()
        self.datasets_tree.setHeaderLabels(["Dataset", "Kind", "Rows", "Subjects",
                                            "Missing points"])
        self.datasets_tree.setRootIsDecorated(False)
        self.datasets_tree.setToolTip("The project's datasets: landmark files, and KPM-only "
                                      "sets (a KPM file, the demo's synthetic KPMs)")
        self.datasets_tree.currentItemChanged.connect(self._on_dataset_selected)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Subject", "Sequence", "Frames", "Missing points", "Neutral",
                                   "Source"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.currentItemChanged.connect(self._on_sequence_selected)

        self.raw_plot = face_plot_widget(RAW_TITLE)
        self.std_plot = face_plot_widget(STD_TITLE)
        self.raw_image = pg.ImageItem(axisOrder="row-major")
        self.raw_image.setZValue(-10)
        self.raw_plot.getPlotItem().addItem(self.raw_image)
        self.raw_face = FaceItems(self.raw_plot.getPlotItem())
        self.std_face = FaceItems(self.std_plot.getPlotItem())
        self.raw_notice = pg.TextItem("", color=(90, 90, 90), anchor=(0.5, 0.5))
        self.raw_notice.setPos(0.5, 0.5)
        self.raw_plot.getPlotItem().addItem(self.raw_notice, ignoreBounds=True)
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_slider.valueChanged.connect(self._show_frame)
        self.frame_label = QLabel("no data — add landmark files or drop them here")
        self.frame_label.setWordWrap(True)
        self._mode = LANDMARKS

        plots = QHBoxLayout()
        plots.addWidget(self.raw_plot)
        plots.addWidget(self.std_plot)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(plots, 1)
        rl.addWidget(self.frame_slider)
        rl.addWidget(self.frame_label)

        left = QSplitter(Qt.Orientation.Vertical)
        for title, widget in (("Datasets", self.datasets_tree),
                              ("Subjects and sequences", self.tree)):
            box_w = QWidget()
            bl_ = QVBoxLayout(box_w)
            bl_.setContentsMargins(0, 0, 0, 0)
            bl_.addWidget(QLabel(f"<b>{title}</b>"))
            bl_.addWidget(widget, 1)
            left.addWidget(box_w)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 4)
        left.setSizes([130, 600])

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([480, 1000])

        box = QGroupBox("Neutral frame and corrections")
        bl = QHBoxLayout(box)
        self.neutral_combo = QComboBox()
        for key, text in NEUTRAL_RULES:
            self.neutral_combo.addItem(text, key)
        self.neutral_combo.setToolTip("How each subject's neutral frame is chosen (all its "
                                      "sequences share it, §2.2; `dfecs kpm --neutral-per "
                                      "sequence` gives each sequence its own)")
        self.neutral_combo.activated.connect(
            lambda i: self.document.set_neutral_rule(self.neutral_combo.itemData(i)))
        self.pick_button = QPushButton("Use this frame as &neutral")
        self.pick_button.setEnabled(False)
        self.pick_button.setToolTip("Pick the shown frame as the neutral of its subject")
        self.pick_button.clicked.connect(self.use_current_frame_as_neutral)
        self.unpick_button = QPushButton("Use the rule")
        self.unpick_button.setEnabled(False)
        self.unpick_button.setToolTip("Forget the picked neutral frame of this sequence")
        self.unpick_button.clicked.connect(self.clear_neutral_override)
        self.frontalize_check = QCheckBox("&Frontalization")
        self.frontalize_check.setChecked(self.document.frontalize)
        self.frontalize_check.setToolTip("Vonikakis & Winkler landmark frontalization before "
                                         "registration (68-point weights ship with the app)")
        self.frontalize_check.toggled.connect(self.document.set_frontalize)
        self.anchors_combo = QComboBox()
        for key in ANCHOR_CHOICES:
            self.anchors_combo.addItem(ANCHOR_LABELS[key], key)
        self.anchors_combo.setCurrentIndex(self.anchors_combo.findData(self.document.anchors))
        self.anchors_combo.setToolTip(
            "Six-parameter affine registration anchors. auto: per frame the jaw set when all "
            "its points are present, else the eye set (BP4D). jaw set: frames missing one of "
            "its points are dropped. eye set: any data, in the frame of BP4D-trained models.")
        self.anchors_combo.activated.connect(
            lambda i: self.document.set_anchors(self.anchors_combo.itemData(i)))
        self.anchors_label = QLabel("Anchor&s:")
        self.anchors_label.setBuddy(self.anchors_combo)
        self.compute_button = QPushButton("&Compute KPMs")
        self.compute_button.clicked.connect(self.compute_kpms)
        self.kpm_label = QLabel("KPMs: none")
        for w in (QLabel("Neutral frame:"), self.neutral_combo, self.pick_button,
                  self.unpick_button, self.frontalize_check, self.anchors_label,
                  self.anchors_combo):
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
        from dfecs_app.io.tracking import VIDEO_SUFFIXES

        videos = " ".join(f"*{s}" for s in VIDEO_SUFFIXES)
        paths = dialogs.open_files(self, "Add landmark files or videos",
                                   settings.get("projects/last_dir"),
                                   f"Landmark files and videos (*.csv *.txt *.pts *.mat *.npy "
                                   f"*.npz {videos});;Videos ({videos});;All files (*)")
        if paths:
            self.load_paths(paths)

    def open_dir_dialog(self) -> None:
        path = dialogs.open_dir(self, "Add a folder of landmark files",
                                settings.get("projects/last_dir"))
        if path:
            self.load_paths([path])

    def load_paths(self, paths: list[str | Path], fmt: str | None = None) -> Worker:
        """Read landmark files/folders in the background and add them to the project.

        Videos among ``paths`` (and in folders) are tracked first (progress bar, Cancel).
        Emits ``loaded`` when done; a bad file gets a dialog naming it, and the project keeps
        what it had.
        """
        fmt = fmt or self.format_combo.currentText()
        videos, others = split_videos([str(p) for p in paths])
        self.message.emit(f"Reading {len(others)} path(s) ({fmt})"
                          + (f", tracking {len(videos)} video(s)" if videos else "") + "…")
        self._worker = start_worker(
            load_inputs, videos, others, fmt,
            name="tracking videos" if videos else "reading landmarks",
            on_yielded=self._on_progress,
            on_returned=lambda result: self._on_table(result[0], result[1], fmt),
            on_errored=lambda err: self._on_error(
                "Tracking videos" if videos else "Reading landmarks", err),
            on_aborted=lambda: self.message.emit("Tracking cancelled; the project is unchanged"),
            on_finished=lambda: self._set_busy(False),
        )
        self._set_busy(True)
        return self._worker

    def cancel(self) -> None:
        """Stop the running tracking or reading at its next frame."""
        if self._worker is not None:
            self._worker.cancel()

    def _on_progress(self, p: Any) -> None:
        if getattr(p, "fraction", None) is not None:
            self.progress.setValue(int(1000 * p.fraction))
        if getattr(p, "message", ""):
            self.progress.setFormat(f"{p.message} — %p%")

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
        if self._frames is not None:
            self._frames.close()
        self._frames = None
        self._video_of.clear()

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
            doc.frontalize, doc.anchors, name="computing KPMs",
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
            self.kpm_label.setStyleSheet("")
            return
        n_subj = len(set(np.asarray(kpm.subject).tolist()))
        text = f"KPMs: {kpm.X.shape[0]} rows, {n_subj} subject(s)"
        if self.document.kpms_out_of_date():
            text += " — out of date: the corrections changed, press Compute KPMs"
            self.kpm_label.setStyleSheet("color: #b35900; font-weight: bold;")
        else:
            self.kpm_label.setStyleSheet("")
        self.kpm_label.setText(text)

    # -- view ------------------------------------------------------------------------------
    def _refresh(self, prefer: str | None = LANDMARKS) -> None:
        """Rebuild the Datasets and sequence lists from the document.

        ``prefer``: the dataset kind to show when the landmark table changed (a newly read
        table is shown; KPM updates keep the dataset being looked at).
        """
        self.frontalize_check.blockSignals(True)
        self.frontalize_check.setChecked(self.document.frontalize)
        self.frontalize_check.blockSignals(False)
        self.anchors_combo.setCurrentIndex(max(0, self.anchors_combo.findData(
            self.document.anchors)))
        self.neutral_combo.setCurrentIndex(max(0, self.neutral_combo.findData(
            self.document.neutral_rule)))
        self._refresh_kpm_label()
        doc = self.document
        table_id = id(doc.table)
        if prefer is not None and table_id == getattr(self, "_table_id", None):
            prefer = None  # same table (neutral rule, picks, corrections): keep the view
        self._table_id = table_id
        mode = prefer or self._mode
        available = [k for k, present in ((LANDMARKS, doc.table is not None and len(doc.table)),
                                          (KPM, doc.kpm is not None)) if present]
        if mode not in available:
            mode = available[0] if available else LANDMARKS
        self.datasets_tree.blockSignals(True)
        self.datasets_tree.clear()
        if doc.table is not None and len(doc.table):
            t = doc.table
            names = sorted({Path(p).name for p in doc.data_paths}) or ["data"]
            item = QTreeWidgetItem([", ".join(names) if len(names) < 3 else
                                    f"{names[0]} + {len(names) - 1} more", "landmark files",
                                    str(len(t)), str(len(set(t.subject.tolist()))),
                                    missing_text(t.mask)])
            item.setToolTip(0, "\n".join(doc.data_paths))
            item.setData(0, Qt.ItemDataRole.UserRole, LANDMARKS)
            self.datasets_tree.addTopLevelItem(item)
        if doc.kpm is not None:
            k = doc.kpm
            name, kind = kpm_dataset_label(doc)
            item = QTreeWidgetItem([name, kind, str(k.X.shape[0]),
                                    str(len(set(np.asarray(k.subject).tolist()))),
                                    missing_text(k.mask)])
            item.setToolTip(0, str(doc.extra.get("kpm_source", {}).get("path", name)))
            item.setData(0, Qt.ItemDataRole.UserRole, KPM)
            self.datasets_tree.addTopLevelItem(item)
        for c in range(self.datasets_tree.columnCount()):
            self.datasets_tree.resizeColumnToContents(c)
        for i in range(self.datasets_tree.topLevelItemCount()):
            it = self.datasets_tree.topLevelItem(i)
            if it.data(0, Qt.ItemDataRole.UserRole) == mode:
                self.datasets_tree.setCurrentItem(it)
        self.datasets_tree.blockSignals(False)
        self._show_dataset(mode, keep=prefer is None)

    def _on_dataset_selected(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if item is not None:
            self._show_dataset(str(item.data(0, Qt.ItemDataRole.UserRole)), keep=False)

    def current_dataset(self) -> str:
        """The kind of the dataset shown: ``"landmarks"`` or ``"kpm"``."""
        return self._mode

    def _show_dataset(self, mode: str, keep: bool = True) -> None:
        """Fill the sequence list with the sequences of the landmark table or the KPM set."""
        current = self.tree.currentItem()
        keep_key = (None if current is None or not keep or mode != self._mode
                    else current.data(1, Qt.ItemDataRole.UserRole))
        keep_frame = self.frame_slider.value()
        self._mode = mode
        kpm_mode = mode == KPM
        self.raw_plot.setTitle(RAW_TITLE)
        self.std_plot.setTitle(KPM_TITLE if kpm_mode else STD_TITLE)
        self.raw_notice.setText("")
        for w in (self.neutral_combo, self.frontalize_check, self.anchors_combo):
            w.setEnabled(not kpm_mode)
        self.tree.blockSignals(True)
        self.tree.clear()
        self.tree.blockSignals(False)
        doc = self.document
        if kpm_mode and doc.kpm is not None:
            k = doc.kpm
            name, kind = kpm_dataset_label(doc)
            for subject, sequence, rows in sequence_groups(k.subject, k.sequence):
                item = QTreeWidgetItem([subject, sequence, str(len(rows)),
                                        missing_text(k.mask[rows]), "— (KPMs only)", name])
                item.setData(0, Qt.ItemDataRole.UserRole, rows)
                item.setData(1, Qt.ItemDataRole.UserRole, (subject, sequence))
                item.setToolTip(4, "The neutral frames were chosen when these KPMs were made")
                self.tree.addTopLevelItem(item)
            self.raw_notice.setText(f"Raw landmarks are not available:\n"
                                    f"this dataset ({kind}) holds KPMs only\n"
                                    f"(keypoint motions from each neutral frame).")
            self.raw_plot.getPlotItem().setRange(xRange=(0, 1), yRange=(0, 1), padding=0.05)
        elif doc.table is not None and len(doc.table):
            table = doc.table
            for subject, sequence, rows in table.groups():
                item = QTreeWidgetItem([
                    subject, sequence, str(len(rows)), missing_text(table.mask[rows]),
                    self._neutral_text(subject, sequence, table, rows),
                    Path(str(table.source[rows[0]])).name,
                ])
                item.setData(0, Qt.ItemDataRole.UserRole, rows)
                item.setData(1, Qt.ItemDataRole.UserRole, (subject, sequence))
                item.setToolTip(5, str(table.source[rows[0]]))
                self.tree.addTopLevelItem(item)
        if not self.tree.topLevelItemCount():
            self._rows = np.zeros(0, dtype=np.intp)
            self.frame_slider.setEnabled(False)
            self.pick_button.setEnabled(False)
            self.unpick_button.setEnabled(False)
            self.raw_face.set_face(None)
            self.std_face.set_face(None)
            self.frame_label.setText("no data — add landmark files or drop them here")
            return
        for c in range(self.tree.columnCount()):
            self.tree.resizeColumnToContents(c)
        target = self.tree.topLevelItem(0)
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if keep_key is not None and tuple(it.data(1, Qt.ItemDataRole.UserRole)) == tuple(
                    keep_key):
                target = it
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(target)
        self.tree.blockSignals(False)
        self._on_sequence_selected(target)
        if keep_key is not None and tuple(target.data(1, Qt.ItemDataRole.UserRole)) == tuple(
                keep_key):
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
        landmarks = self._mode == LANDMARKS
        self.pick_button.setEnabled(landmarks)
        self.unpick_button.setEnabled(landmarks and key in self.document.neutral_overrides)
        self.frame_slider.setEnabled(True)
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, len(self._rows) - 1)
        self.frame_slider.setValue(0)
        self.frame_slider.blockSignals(False)
        self._show_frame(0)

    def current_row(self) -> int | None:
        if not len(self._rows):
            return None
        return int(self._rows[min(self.frame_slider.value(), len(self._rows) - 1)])

    def _show_frame(self, i: int) -> None:
        if self._mode == KPM:
            self._show_kpm_row(i)
            return
        table = self.document.table
        row = self.current_row()
        if table is None or row is None or row >= len(table):
            return
        pts, mask = table.points[row], table.mask[row]
        self.raw_face.set_face(pts, mask)
        image = self._video_frame(str(table.source[row]), int(table.frame[row]))
        if image is None:
            self.raw_image.clear()
            self.raw_plot.getPlotItem().autoRange()
        else:
            h, w = image.shape[:2]
            self.raw_image.setImage(image, autoLevels=False, levels=(0, 255))
            self.raw_image.setRect(-0.5, -0.5, w, h)  # pixel centres on integer coordinates
            lo, hi = np.nanmin(pts[mask], axis=0), np.nanmax(pts[mask], axis=0)
            pad = 0.35 * float((hi - lo).max())
            self.raw_plot.getPlotItem().getViewBox().setRange(
                xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)
        text = (f"{table.subject[row]} / {table.sequence[row]}: frame {table.frame[row]} "
                f"({i + 1} of {len(self._rows)}), {int(mask.sum())} of 68 points")
        if image is not None:
            text += f" — over {self._frames.path.name}"
        try:
            from dfecs_app.core.geometry import standardize, standardized_mask

            anchors = self.document.anchors
            std = standardize(pts[None], mask[None], anchors=anchors)[0]
            if not np.isfinite(std[mask]).all():  # NaN would crash the plot's painting
                raise ValueError("degenerate shape (points on one line or one spot)")
            self.std_face.set_face(std, standardized_mask(mask[None], anchors=anchors)[0])
            self.std_plot.getPlotItem().autoRange()
        except ValueError as err:
            self.std_face.set_face(None)
            text += f" — cannot standardize: {err}"
        self.frame_label.setText(text)

    def _video_frame(self, source: str, frame: int) -> np.ndarray | None:
        """Frame ``frame`` of the video the track ``source`` came from (None: no video)."""
        from dfecs_app.errors import DfecsError
        from dfecs_app.io.tracking import VideoFrames, video_of_track

        if source not in self._video_of:
            self._video_of[source] = video_of_track(source)
        video = self._video_of[source]
        if video is None:
            return None
        if self._frames is None or self._frames.path != video:
            if self._frames is not None:
                self._frames.close()
            try:
                self._frames = VideoFrames(video)
            except DfecsError:
                self._frames, self._video_of[source] = None, None
                return None
        return self._frames.frame(frame)

    def _show_kpm_row(self, i: int) -> None:
        """The KPM row as arrows (×KPM_ARROW_SCALE) from the schematic standard face."""
        from dfecs_app.core.landmarks import vec_to_points
        from dfecs_app.core.synthetic import neutral_face

        kpm = self.document.kpm
        row = self.current_row()
        if kpm is None or row is None or row >= len(kpm.X):
            return
        self.raw_face.set_face(None)
        mask = kpm.mask[row]
        base = neutral_face()
        moved = base + KPM_ARROW_SCALE * vec_to_points(kpm.X[row])
        self.std_face.set_face(base, mask, moved=moved)
        self.std_plot.getPlotItem().autoRange()
        _, kind = kpm_dataset_label(self.document)
        largest = float(np.hypot(*vec_to_points(kpm.X[row]).T)[mask].max(initial=0.0))
        self.frame_label.setText(
            f"{kpm.subject[row]} / {kpm.sequence[row]}: row {kpm.frame[row]} ({i + 1} of "
            f"{len(self._rows)}), {int(mask.sum())} of 68 points, largest motion "
            f"{largest:.1f} (standardized units). This is a KPM-only dataset ({kind}): raw "
            f"landmarks are not available for it.")

    def use_current_frame_as_neutral(self) -> None:
        """Pick the shown frame as the neutral frame of its sequence."""
        row = self.current_row()
        table = self.document.table
        if row is None or table is None or self._mode != LANDMARKS:
            return
        subject, sequence = str(table.subject[row]), str(table.sequence[row])
        self.document.set_neutral_override(subject, sequence, int(table.frame[row]))
        self.message.emit(f"Neutral of {subject}/{sequence}: frame {int(table.frame[row])}")

    def clear_neutral_override(self) -> None:
        item = self.tree.currentItem()
        if item is not None and self._mode == LANDMARKS:
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
        tracking = busy and self._worker is not None and self._worker.name == "tracking videos"
        self.progress.setVisible(tracking)
        self.cancel_button.setVisible(tracking)
        if tracking:
            self.progress.setValue(0)
            self.progress.setFormat("starting the tracker — %p%")

    def _on_error(self, what: str, err: BaseException, tb: str = "") -> None:
        w = self._worker
        if not tb and w is not None and w.error is err:
            tb = w.error_traceback
        self.message.emit(f"{what} failed: {err}")
        dialogs.exception(self, what, err, tb)


def split_videos(paths: list[str]) -> tuple[list[str], list[str]]:
    """(videos, other paths): video files given, and videos inside given folders (searched
    recursively); a folder holding videos contributes its landmark files (outside
    ``dfecs-tracks``) one by one, or nothing when it has none."""
    from dfecs_app.io.readers import landmark_files
    from dfecs_app.io.tracking import TRACKS_DIRNAME, VIDEO_SUFFIXES

    videos: list[str] = []
    others: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.suffix.lower() in VIDEO_SUFFIXES
                           and f.is_file() and not any(part.startswith(".") for part in
                                                       f.relative_to(p).parts))
            if not found:
                others.append(str(p))
                continue
            videos += found
            others += [str(f) for f in landmark_files([p])
                       if TRACKS_DIRNAME not in f.relative_to(p).parts]
        elif p.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(str(p))
        else:
            others.append(str(p))
    return videos, others


def load_inputs(videos: list[str], others: list[str], fmt: str,
                state: Any = None) -> tuple[LandmarkTable, list[str]]:
    """Track ``videos`` (reusing complete tracks), then read their CSVs and ``others``.

    Returns the table and the project's data paths (``others`` then the track CSVs).
    """
    from dfecs_app.io.readers import read_landmarks
    from dfecs_app.io.tracking import track_videos

    csvs = [str(c) for c in track_videos(videos, state)] if videos else []
    tables = []
    if others:
        tables.append(read_landmarks(others, format=fmt, progress=state))
    if csvs:
        tables.append(read_landmarks(csvs, format="auto", progress=state))
    table = tables[0] if len(tables) == 1 else LandmarkTable.concat(tables)
    return table, others + csvs


def compute_project_kpms(table: LandmarkTable, rule: str,
                         overrides: dict[tuple[str, str], int], frontalize: bool,
                         anchors: str = "auto", state: Any = None) -> Any:
    """KPMs of a table as ``dfecs kpm`` computes them, with the GUI's neutral choices.

    Frontalization weights of the layouts of the frames the ``anchors`` can register are
    loaded here (in the worker; never from the network); a
    :class:`MissingResourceError` reaches the panel, which offers to continue without
    frontalization.
    """
    from dfecs_app.core.geometry import frontalization_layout, standardized_mask
    from dfecs_app.core.kpm import compute_kpm
    from dfecs_app.io.frontalization_weights import load_frontalization_set

    weights = None
    if frontalize:
        usable = standardized_mask(table.mask, True, anchors).any(axis=1)
        layouts = sorted(set(frontalization_layout(table.mask[usable]).tolist()) - {""})
        weights = load_frontalization_set(layouts) if layouts else None
    return compute_kpm(table, neutral=rule, frontalization=weights,
                       neutral_overrides=overrides or None, anchors=anchors, state=state)
