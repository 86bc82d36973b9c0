"""Code panel: code videos or landmark files with an AU model, frame by frame.

Open videos or landmark files (dialog or drag-and-drop), choose a model (the project's DFECS
model, its PCA or FACS baselines, or a model file) and press Code: tracking, preparation with
the model's recipe and encoding run in the worker (:func:`dfecs_app.io.coding.code_file`, the
function ``dfecs encode`` and ``dfecs_app.encode`` use), with progress and Cancel.

The timeline (pyqtgraph) shows every AU's activation over the clip; clicking it (or dragging
its cursor, or the slider) seeks. The frame view shows the video frame with the tracked
landmarks (or the landmarks alone when there is no video), the face view the registered face
of that frame (tracked, red) and its reconstruction from the AU activations (green; the
arrows are the reconstruction error). Per clip a summary gives each AU's fraction of active
frames, mean and peak activation. Export writes the per-frame table (CSV/NPZ, the columns of
``dfecs encode``) or the timeline (PNG/SVG).
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
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.progress import Progress
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.export import save_plot_widget
from dfecs_app.gui.face_items import FaceItems, face_plot_widget
from dfecs_app.gui.worker import Worker, start_worker

INPUT_FILTER = ("Videos and landmark files (*.mp4 *.avi *.mov *.mkv *.m4v *.webm *.csv *.tsv "
                "*.txt *.pts *.npy *.npz *.mat);;All files (*)")
EXPORT_FILTER = ("Per-frame table (*.csv);;Per-frame table, NPZ (*.npz);;Timeline PNG (*.png);;"
                 "Timeline SVG (*.svg)")
HINT = "Open a video or landmark file, then press Code"
#: Timeline colours (matplotlib's tab10, dark enough on white), then pyqtgraph's hues.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


def code_inputs(model: AUModel, paths: list[str], recipe: Any, state: Any = None) -> list:
    """Code every input (worker side): ``[(CodedClip, registered neutral (68, 2) or None)]``."""
    from dfecs_app.io.coding import code_file, registered_neutral

    out = []
    for i, p in enumerate(paths):
        if state is not None:
            state.report("code", i / len(paths), f"{Path(p).name} ({i + 1}/{len(paths)})",
                         force=True)
        clip = code_file(model, p, recipe=recipe, state=state)
        out.append((clip, registered_neutral(clip, recipe)))
    return out


class CodePanel(QWidget):
    """Inputs, model choice, timeline, frame and face views, summary.

    Signals
    -------
    coded(int)
        Coding finished (number of clips).
    message(str)
    """

    coded = Signal(int)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.model_files: dict[str, AUModel] = {}
        self.clips: dict[str, tuple[Any, np.ndarray | None]] = {}
        self.current: str | None = None
        self.current_row = 0
        self._model_used: AUModel | None = None
        self._worker: Worker | None = None
        self._capture: Any = None
        self._capture_path: str | None = None
        self.setAcceptDrops(True)
        self._build()
        for sig in (document.modelChanged, document.evaluationChanged, document.replaced):
            sig.connect(self._fill_models)
        self._fill_models()
        self._show_empty()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_file_button = QPushButton("Model &file…")
        self.model_file_button.setToolTip("Code with a model file (dfecs train / baseline)")
        self.model_file_button.clicked.connect(self.add_model_dialog)
        mrow = QHBoxLayout()
        mrow.addWidget(QLabel("Model:"))
        mrow.addWidget(self.model_combo, 1)
        mrow.addWidget(self.model_file_button)

        self.inputs = QListWidget()
        self.inputs.setToolTip("Videos or landmark files; drop files here")
        self.inputs.currentRowChanged.connect(self._on_input_selected)
        self.open_button = QPushButton("&Open…")
        self.open_button.clicked.connect(self.open_dialog)
        self.code_button = QPushButton("&Code")
        self.code_button.clicked.connect(lambda: self.code())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        irow = QHBoxLayout()
        for b in (self.open_button, self.code_button, self.cancel_button):
            irow.addWidget(b)
        in_box = QGroupBox("Videos and landmark files")
        il = QVBoxLayout(in_box)
        il.addLayout(mrow)
        il.addWidget(self.inputs, 1)
        il.addLayout(irow)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        il.addWidget(self.progress)
        il.addWidget(self.status)

        self.summary = QTableWidget(0, 4)
        self.summary.setHorizontalHeaderLabels(["AU", "active %", "mean", "peak"])
        self.summary.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.summary.verticalHeader().setVisible(False)
        sum_box = QGroupBox("Summary of the clip")
        sl = QVBoxLayout(sum_box)
        sl.addWidget(self.summary)
        self.export_button = QPushButton("E&xport…")
        self.export_button.setToolTip("Per-frame table (CSV/NPZ) or timeline (PNG/SVG)")
        self.export_button.clicked.connect(self.export_dialog)
        sl.addWidget(self.export_button)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.addWidget(in_box, 2)
        ll.addWidget(sum_box, 3)

        self.frame_view = face_plot_widget("Frame and tracked landmarks")
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.frame_view.getPlotItem().addItem(self.image_item)
        self.tracked_item = pg.ScatterPlotItem(size=5, pen=pg.mkPen(0, 0, 0, 160),
                                               brush=pg.mkBrush(60, 230, 90))
        self.frame_view.getPlotItem().addItem(self.tracked_item)
        self.face_view = face_plot_widget("Registered: tracked (red), reconstructed (green)")
        self.face_items = FaceItems(self.face_view.getPlotItem(), point_size=5)
        views = QHBoxLayout()
        views.addWidget(self.frame_view, 3)
        views.addWidget(self.face_view, 2)

        self.timeline = pg.PlotWidget(title="AU activations")
        self.timeline.setBackground("w")
        tpi = self.timeline.getPlotItem()
        tpi.showGrid(x=True, y=True, alpha=0.3)
        tpi.setLabel("left", "activation")
        tpi.setLabel("bottom", "frame")
        tpi.addLegend(offset=(-10, 10))
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True,
                                      pen=pg.mkPen((20, 20, 20), width=1.5))
        self.cursor.sigDragged.connect(lambda line: self.seek_x(line.value()))
        self.timeline.scene().sigMouseClicked.connect(self._on_timeline_click)
        self.hint = pg.TextItem(HINT, color=(110, 110, 110), anchor=(0.5, 0.5))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.seek)
        self.frame_label = QLabel("")

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addLayout(views, 3)
        srow = QHBoxLayout()
        srow.addWidget(self.slider, 1)
        srow.addWidget(self.frame_label)
        rl.addLayout(srow)
        rl.addWidget(self.timeline, 2)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    # -- models ----------------------------------------------------------------------------
    def available_models(self) -> dict[str, AUModel]:
        """The models one can code with: DFECS, its baselines, model files opened here."""
        out: dict[str, AUModel] = {}
        if self.document.model is not None:
            out["DFECS"] = self.document.model
        out.update({k: v for k, v in self.document.baselines.items() if v is not None})
        out.update(self.model_files)
        return out

    def _fill_models(self, *_: Any) -> None:
        current = self.model_combo.currentText()
        self.model_combo.clear()
        for name, m in self.available_models().items():
            self.model_combo.addItem(name)
            self.model_combo.setItemData(self.model_combo.count() - 1,
                                         f"{m.kind}, {m.n_components} AUs",
                                         Qt.ItemDataRole.ToolTipRole)
        idx = self.model_combo.findText(current)
        self.model_combo.setCurrentIndex(max(idx, 0))

    def add_model_dialog(self) -> None:
        path = dialogs.open_file(self, "Code with a model file", settings.get("projects/last_dir"),
                                 "Model files (*.npz);;All files (*)")
        if path:
            self.add_model_file(path)

    def add_model_file(self, path: str | Path) -> bool:
        """Add a model file (DFECS, PCA or FACS) to the choices and select it."""
        from dfecs_app.io.model_file import load_model

        try:
            model = load_model(path)
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Loading the model", err, traceback.format_exc())
            return False
        name = Path(path).name
        self.model_files[name] = model
        self._fill_models()
        self.model_combo.setCurrentIndex(self.model_combo.findText(name))
        return True

    def selected_model(self) -> AUModel | None:
        return self.available_models().get(self.model_combo.currentText())

    def _recipe(self, model: AUModel) -> Any:
        """The model's recipe, else that of the project's training KPMs (InputError if none)."""
        from dfecs_app.io.coding import model_recipe

        return model_recipe(model, self.model_combo.currentText(),
                            fallback=self.document.training_recipe())

    # -- inputs ----------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths = dialogs.open_files(self, "Open videos or landmark files",
                                   settings.get("projects/last_dir"), INPUT_FILTER)
        self.add_inputs(paths)

    def add_inputs(self, paths: list[str | Path]) -> None:
        """List inputs to code (file names shown, duplicates ignored); the first new one
        becomes current."""
        from PySide6.QtWidgets import QListWidgetItem

        known = set(self.input_paths())
        first = None
        for p in paths:
            p = str(p)
            if p in known:
                continue
            item = QListWidgetItem(Path(p).name)
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.inputs.addItem(item)
            known.add(p)
            if first is None:
                first = self.inputs.count() - 1
        if first is not None:
            self.inputs.setCurrentRow(first)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.add_inputs(paths)
        event.acceptProposedAction()

    def input_paths(self) -> list[str]:
        return [self.inputs.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.inputs.count())]

    # -- coding ----------------------------------------------------------------------------
    def code(self, paths: list[str] | None = None) -> Worker | None:
        """Code the listed inputs (or ``paths``) with the selected model, in the worker."""
        if self._worker is not None:
            return None
        model = self.selected_model()
        paths = paths or self.input_paths()
        if model is None:
            dialogs.info(self, "Code", "Train a model, or open a model file, first.")
            return None
        if not paths:
            dialogs.info(self, "Code", HINT + ".")
            return None
        try:
            recipe = self._recipe(model)
        except Exception as err:  # noqa: BLE001
            self.status.setText(f"Failed: {err}")
            dialogs.exception(self, "Coding", err, traceback.format_exc())
            return None
        self._model_used = model
        self.code_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText("Coding…")
        self._worker = start_worker(code_inputs, model, list(paths), recipe, name="coding",
                                    on_yielded=self._on_progress, on_returned=self._on_done,
                                    on_errored=self._on_error, on_aborted=self._on_aborted,
                                    on_finished=self._on_finished)
        return self._worker

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def _on_progress(self, p: Progress) -> None:
        if p.fraction is not None:
            self.progress.setValue(int(100 * p.fraction))
        if p.message:
            self.status.setText(p.message)

    def _on_done(self, results: list) -> None:
        for clip, neutral in results:
            self.clips[clip.source] = (clip, neutral)
        self.progress.setValue(100)
        n = sum(len(c) for c, _ in results)
        warn = [f"{Path(c.source).name}: prepared unlike the model's recipe: "
                + "; ".join(c.mismatch) for c, _ in results if c.mismatch]
        self.status.setText(f"Coded {len(results)} clip(s), {n} frames." +
                            ("\n" + "\n".join(warn) if warn else ""))
        self.message.emit(f"Coded {len(results)} clip(s), {n} frames")
        if results:
            self.show_clip(results[0][0].source)
        self.coded.emit(len(results))

    def _on_error(self, err: BaseException) -> None:
        w = self._worker
        self.status.setText(f"Failed: {err}")
        dialogs.exception(self, "Coding", err, w.error_traceback if w is not None else "")

    def _on_aborted(self) -> None:
        self.status.setText("Cancelled.")

    def _on_finished(self) -> None:
        self._worker = None
        self.code_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- display ---------------------------------------------------------------------------
    def _on_input_selected(self, row: int) -> None:
        paths = self.input_paths()
        if 0 <= row < len(paths) and paths[row] in self.clips:
            self.show_clip(paths[row])

    def clip(self) -> Any:
        """The CodedClip shown, or None."""
        return self.clips[self.current][0] if self.current in self.clips else None

    def _x(self, clip: Any) -> np.ndarray:
        return clip.time_s if np.isfinite(clip.time_s).all() else clip.frame.astype(float)

    def _show_empty(self) -> None:
        pi = self.timeline.getPlotItem()
        pi.clear()
        if pi.legend is not None:
            pi.legend.clear()
        pi.setRange(xRange=(0, 100), yRange=(0, 1), padding=0.02)
        self.hint.setPos(50, 0.5)
        pi.addItem(self.hint, ignoreBounds=True)

    def show_clip(self, source: str) -> None:
        """Draw the timeline and summary of a coded clip and seek to its first frame."""
        clip, _ = self.clips[source]
        self.current = source
        pi = self.timeline.getPlotItem()
        pi.clear()
        if pi.legend is not None:
            pi.legend.clear()
        x = self._x(clip)
        q = clip.codes.shape[1]
        for j, name in enumerate(clip.names):
            color = PALETTE[j] if q <= len(PALETTE) else pg.intColor(j, hues=q)
            pen = pg.mkPen(color=color, width=2)
            pi.plot(x, clip.codes[:, j], pen=pen, name=name, connect="finite")
        pi.setLabel("bottom", "time (s)" if np.isfinite(clip.time_s).all() else "frame")
        pi.addItem(self.cursor, ignoreBounds=True)
        pi.enableAutoRange()
        self._fill_summary(clip)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(clip) - 1, 0))
        self.slider.setEnabled(len(clip) > 1)
        self.slider.blockSignals(False)
        self.seek(0)

    def _fill_summary(self, clip: Any) -> None:
        face = ~clip.no_face
        codes = clip.codes[face]
        self.summary.setRowCount(len(clip.names))
        for j, name in enumerate(clip.names):
            col = codes[:, j] if codes.size else np.zeros(0)
            vals = [name,
                    f"{100.0 * float((col > 0).mean()) if col.size else 0.0:.1f}",
                    f"{float(col.mean()) if col.size else 0.0:.3g}",
                    f"{float(col.max()) if col.size else 0.0:.3g}"]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.summary.setItem(j, c, item)

    def summary_rows(self) -> list[tuple[str, float, float, float]]:
        """(AU, fraction active %, mean, peak) as shown."""
        return [(self.summary.item(r, 0).text(), float(self.summary.item(r, 1).text()),
                 float(self.summary.item(r, 2).text()), float(self.summary.item(r, 3).text()))
                for r in range(self.summary.rowCount())]

    def _on_timeline_click(self, event: Any) -> None:
        clip = self.clip()
        if clip is None:
            return
        vb = self.timeline.getPlotItem().getViewBox()
        pos = event.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        self.seek_x(vb.mapSceneToView(pos).x())

    def seek_x(self, x: float) -> None:
        """Seek to the frame nearest to timeline position ``x`` (seconds or frame)."""
        clip = self.clip()
        if clip is not None:
            self.seek(int(np.argmin(np.abs(self._x(clip) - x))))

    def seek(self, row: int) -> None:
        """Show frame ``row`` of the current clip: video frame, landmarks, cursor."""
        clip = self.clip()
        if clip is None:
            return
        row = int(np.clip(row, 0, len(clip) - 1))
        self.current_row = row
        x = self._x(clip)
        self.cursor.blockSignals(True)
        self.cursor.setValue(float(x[row]))
        self.cursor.blockSignals(False)
        if self.slider.value() != row:
            self.slider.blockSignals(True)
            self.slider.setValue(row)
            self.slider.blockSignals(False)
        t = clip.time_s[row]
        self.frame_label.setText(f"frame {int(clip.frame[row])}"
                                 + (f" · {t:.2f} s" if np.isfinite(t) else "")
                                 + (" · no face" if clip.no_face[row] else ""))
        image = self._video_frame(clip, row)
        if image is not None:
            self.image_item.setImage(image, autoLevels=False, levels=(0, 255))
        else:
            self.image_item.clear()
        pts = clip.points[row]
        ok = ~np.isnan(pts).any(axis=1)
        self.tracked_item.setData(pts[ok, 0], pts[ok, 1])
        self._draw_face(clip, row)

    def _draw_face(self, clip: Any, row: int) -> None:
        _, neutral = self.clips[self.current]
        k = int(clip.kpm_row[row])
        if neutral is None or k < 0 or self._model_used is None:
            self.face_items.set_face(None)
            return
        kpm = clip.kpm
        tracked = neutral + np.stack([kpm.X[k, :68], kpm.X[k, 68:]], axis=-1)
        recon_vec = clip.codes[row] @ self._model_used.components
        recon = neutral + np.stack([recon_vec[:68], recon_vec[68:]], axis=-1)
        self.face_items.set_face(tracked, kpm.mask[k], recon)

    def _video_frame(self, clip: Any, row: int) -> np.ndarray | None:
        """RGB frame ``row`` of the clip's video, or None (no video, or not decodable)."""
        if clip.video is None:
            return None
        import cv2

        if self._capture_path != clip.video:
            if self._capture is not None:
                self._capture.release()
            self._capture = cv2.VideoCapture(clip.video)
            self._capture_path = clip.video
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, int(clip.frame[row]))
        ok, frame = self._capture.read()
        return frame[..., ::-1].copy() if ok else None

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.clip() is None:
            dialogs.info(self, "Export", "Code a clip first.")
            return
        path = dialogs.save_file(self, "Export the coded clip", settings.get("projects/last_dir"),
                                 EXPORT_FILTER)
        if path:
            self.export(path)

    def export(self, path: str | Path) -> bool:
        """Write the current clip's table (.csv/.npz/.parquet) or the timeline (.png/.svg)."""
        clip = self.clip()
        if clip is None:
            return False
        try:
            if Path(path).suffix.lower() in (".png", ".svg"):
                save_plot_widget(path, self.timeline)
            else:
                from dfecs_app.io.coding import write_codes

                write_codes(path, clip.to_frame())
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Export", err, traceback.format_exc())
            return False
        self.message.emit(f"Exported {path}")
        return True
