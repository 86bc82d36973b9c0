"""Neutral face panel: the image the AUs are projected onto, and its 68 landmarks.

Load an image and its landmarks (``.pts``, CSV — any format the readers know) or detect them
with the tracker (:func:`dfecs_app.io.tracking.detect_landmarks`, when dlib and its model are
installed; a clear message otherwise). Every loaded or changed face is checked
(:func:`dfecs_app.core.face_check.check_neutral_face`: landmarks missing or outside the image,
landmarks of another image size, a shape far from a face, a mirrored order); problems show
above the image and once in the log. Drag individual landmarks to correct them
(``Ctrl+Z`` undoes the last move).

The photo is a ``QGraphicsPixmapItem`` with smooth (bilinear) transformation in the plot's
view box — pyqtgraph's ``ImageItem`` draws nearest-neighbour pixels, blocky when zoomed in —
at the same coordinates (pixel ``(i, j)`` covers ``[j, j+1] × [i, i+1]``), under the landmarks.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.face_check import check_neutral_face
from dfecs_app.core.landmarks import FACE_PARTS, N_POINTS, PART_LABELS, PART_NAMES
from dfecs_app.errors import InputError
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.face_items import (
    NEUTRAL_COLOR,
    OUTLINE_COLOR,
    face_plot_widget,
    outline_segments,
)
from dfecs_app.gui.image_view import to_qimage
from dfecs_app.gui.worker import Worker, start_worker
from dfecs_app.io.images import read_image

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.ppm *.tif *.tiff);;All files (*)"
LANDMARK_FILTER = "Landmarks (*.pts *.csv *.txt *.npy *.npz);;All files (*)"


def part_of(index: int) -> str:
    for name in PART_NAMES:
        if index in FACE_PARTS[name]:
            return PART_LABELS[name]
    return "?"


class DraggableLandmarks(pg.ScatterPlotItem):
    """68 landmarks the user can drag one at a time.

    Signals
    -------
    sigPointMoved(int, object)
        Index and new (x, y) when a drag ends.
    sigPointDragging(int, object)
        While dragging.
    """

    sigPointMoved = pg.QtCore.Signal(int, object)
    sigPointDragging = pg.QtCore.Signal(int, object)

    def __init__(self) -> None:
        super().__init__(size=8, pen=pg.mkPen("w", width=1), brush=pg.mkBrush(*NEUTRAL_COLOR),
                         hoverable=True, hoverBrush=pg.mkBrush(255, 200, 0), hoverSize=12)
        self._points = np.zeros((0, 2))
        self._drag: int | None = None
        self._drag_offset = np.zeros(2)

    def set_points(self, points: np.ndarray | None) -> None:
        self._points = np.zeros((0, 2)) if points is None else np.asarray(points, float).copy()
        self.setData(pos=self._points, data=np.arange(len(self._points)),
                     tip=lambda x, y, data: f"#{data} {part_of(int(data))}: ({x:.1f}, {y:.1f})")

    def mouseDragEvent(self, ev: Any) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            hits = self.pointsAt(ev.buttonDownPos())
            if len(hits) == 0:
                ev.ignore()
                return
            self._drag = int(hits[0].data())
            self._drag_offset = self._points[self._drag] - np.array(
                [ev.buttonDownPos().x(), ev.buttonDownPos().y()])
        elif self._drag is None:
            ev.ignore()
            return
        ev.accept()
        xy = np.array([ev.pos().x(), ev.pos().y()]) + self._drag_offset
        self._points[self._drag] = xy
        self.setData(pos=self._points, data=np.arange(len(self._points)))
        index = self._drag
        if ev.isFinish():
            self._drag = None
            self.sigPointMoved.emit(index, (float(xy[0]), float(xy[1])))
        else:
            self.sigPointDragging.emit(index, (float(xy[0]), float(xy[1])))


class NeutralPanel(QWidget):
    """The neutral face image with draggable landmarks.

    Signals
    -------
    message(str)
    detected()
        Landmark detection finished and the landmarks were set.
    """

    message = Signal(str)
    detected = Signal()

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._undo: list[tuple[int, tuple[float, float]]] = []
        self._worker: Worker | None = None
        self.problems: list[str] = []
        self._build()
        document.neutralChanged.connect(self._refresh)
        document.replaced.connect(self._refresh)

    def _build(self) -> None:
        self.open_image_button = QPushButton("Open &image…")
        self.open_image_button.clicked.connect(self.open_image_dialog)
        self.open_landmarks_button = QPushButton("Open &landmarks…")
        self.open_landmarks_button.clicked.connect(self.open_landmarks_dialog)
        self.detect_button = QPushButton("&Detect landmarks")
        self.detect_button.setToolTip("dlib's 68-point predictor (installed with the [track] "
                                      "extra)")
        self.detect_button.clicked.connect(self.detect)
        self.undo_button = QPushButton("&Undo move")
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.setEnabled(False)
        top = QHBoxLayout()
        for w in (self.open_image_button, self.open_landmarks_button, self.detect_button,
                  self.undo_button):
            top.addWidget(w)
        top.addStretch(1)
        self.info_label = QLabel("Drag a landmark to correct it.")
        top.addWidget(self.info_label)

        self.view = face_plot_widget()
        plot = self.view.getPlotItem()
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.image_item.setZValue(-100)  # under the outline and the draggable landmarks
        self.image_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # pan/zoom: view box
        plot.addItem(self.image_item)
        self.outline_item = pg.PlotDataItem(pen=pg.mkPen(color=OUTLINE_COLOR, width=1),
                                            connect="pairs")
        plot.addItem(self.outline_item)
        self.landmarks = DraggableLandmarks()
        plot.addItem(self.landmarks)
        self.landmarks.sigPointMoved.connect(self._on_point_moved)
        self.landmarks.sigPointDragging.connect(
            lambda i, xy: self.info_label.setText(f"#{i} {part_of(i)}: ({xy[0]:.1f}, {xy[1]:.1f})"))

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo)

    # -- actions ---------------------------------------------------------------------------
    def open_image_dialog(self) -> None:
        path = dialogs.open_file(self, "Open the neutral face image",
                                 settings.get("projects/last_dir"), IMAGE_FILTER)
        if path:
            self.load_image(path)

    def load_image(self, path: str | Path) -> bool:
        """Use an image as the neutral face (landmarks kept if they fit inside it)."""
        try:
            image = read_image(path)
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Opening the image", err, traceback.format_exc())
            return False
        lm = self.document.neutral_landmarks
        if lm is not None and not _inside(lm, image.shape):
            lm = None
            self.message.emit("The landmarks did not fit the new image: detect or open them.")
        self.document.set_neutral_face(image, lm, str(path))
        self._undo.clear()
        self.message.emit(f"Neutral image {path} ({image.shape[1]}×{image.shape[0]})")
        return True

    def open_landmarks_dialog(self) -> None:
        path = dialogs.open_file(self, "Open the neutral face's 68 landmarks",
                                 settings.get("projects/last_dir"), LANDMARK_FILTER)
        if path:
            self.load_landmarks(path)

    def load_landmarks(self, path: str | Path) -> bool:
        """Read 68 landmarks (first frame of any file the readers know)."""
        from dfecs_app.io.readers import read_landmarks

        try:
            table = read_landmarks([str(path)])
            if not len(table):
                raise InputError("no landmarks in this file", path)
            if not table.mask[0].all():
                raise InputError(f"the neutral face needs all 68 points; "
                                 f"{int((~table.mask[0]).sum())} are missing", path)
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Opening the landmarks", err, traceback.format_exc())
            return False
        self.document.set_neutral_face(self.document.neutral_image, table.points[0],
                                       self.document.neutral_image_path)
        self._undo.clear()
        self.message.emit(f"Neutral landmarks from {path}")
        return True

    def detect(self) -> Worker | None:
        """Detect the 68 landmarks in the neutral image with the tracker (in the background)."""
        image = self.document.neutral_image
        if image is None:
            dialogs.info(self, "Detect landmarks", "Open the neutral face image first.")
            return None
        from dfecs_app.io.tracking import detect_landmarks

        self.detect_button.setEnabled(False)
        self._worker = start_worker(detect_landmarks, image, name="detecting landmarks",
                                    pass_state=False, on_returned=self._on_detected,
                                    on_errored=self._on_detect_error,
                                    on_finished=lambda: self.detect_button.setEnabled(True))
        return self._worker

    def _on_detected(self, points: np.ndarray | None) -> None:
        if points is None:
            dialogs.error(self, "Detect landmarks", "No face was found in the image. Open its "
                          "landmarks from a file, or use another image.")
            return
        self.document.set_neutral_face(self.document.neutral_image, points,
                                       self.document.neutral_image_path)
        self._undo.clear()
        self.message.emit("Detected the neutral face's 68 landmarks")
        self.detected.emit()

    def _on_detect_error(self, err: BaseException) -> None:
        tb = self._worker.error_traceback if self._worker is not None else ""
        dialogs.exception(self, "Detecting landmarks", err, tb)

    def _on_point_moved(self, index: int, xy: tuple[float, float]) -> None:
        old = self.document.neutral_landmarks
        if old is None:
            return
        self._undo.append((index, (float(old[index, 0]), float(old[index, 1]))))
        self.undo_button.setEnabled(True)
        self.document.move_landmark(index, xy)
        if not self.problems:  # otherwise the problems stay in view
            self.info_label.setText(f"Moved #{index} ({part_of(index)}) to ({xy[0]:.1f}, {xy[1]:.1f})")

    def move_landmark(self, index: int, xy: tuple[float, float]) -> None:
        """Move one landmark as a drag would (undoable)."""
        self._on_point_moved(index, xy)

    def undo(self) -> None:
        if not self._undo:
            return
        index, xy = self._undo.pop()
        self.document.move_landmark(index, xy)
        self.undo_button.setEnabled(bool(self._undo))

    # -- view ------------------------------------------------------------------------------
    def _check(self, lm: np.ndarray | None) -> None:
        """Flag the face's problems in place (and once in the log when they change)."""
        image = self.document.neutral_image
        problems = check_neutral_face(None if lm is None else np.asarray(lm, float),
                                      None if image is None else image.shape)
        if problems:
            self.info_label.setText("⚠ " + "\n⚠ ".join(problems))
            self.info_label.setStyleSheet("color: #b00020;")
            if problems != self.problems:
                self.message.emit("Neutral face: " + "; ".join(problems))
        elif self.problems:
            self.info_label.setText("Drag a landmark to correct it.")
            self.info_label.setStyleSheet("")
        self.problems = problems

    def _refresh(self) -> None:
        doc = self.document
        if doc.neutral_image is not None:
            if getattr(self, "_image_shown", None) is not doc.neutral_image:
                self.image_item.setPixmap(QPixmap.fromImage(to_qimage(doc.neutral_image)))
            self._image_shown = doc.neutral_image
        else:
            self.image_item.setPixmap(QPixmap())
            self._image_shown = None
        lm = doc.neutral_landmarks
        self.landmarks.set_points(lm)
        if lm is not None and len(lm) == N_POINTS:
            seg = outline_segments(lm)
            self.outline_item.setData(seg[:, 0], seg[:, 1])
        else:
            self.outline_item.setData([], [])
        if doc.neutral_image is None and lm is None:
            self.info_label.setText("Open an image and its landmarks (or detect them).")
        self._check(lm)
        key = (id(doc.neutral_image), lm is None)
        if key != getattr(self, "_range_key", None):  # re-frame only when the face changes
            self._range_key = key
            if lm is not None and doc.neutral_image is not None:
                from dfecs_app.gui.projected_panel import face_box

                x0, y0, x1, y1 = face_box(np.asarray(lm), doc.neutral_image.shape, 0.2)
                self.view.getPlotItem().setRange(xRange=(x0, x1), yRange=(y0, y1))
            else:
                self.view.getPlotItem().autoRange()


def _inside(points: np.ndarray, shape: tuple[int, ...]) -> bool:
    h, w = shape[:2]
    return bool((points[:, 0] >= 0).all() and (points[:, 0] < w).all()
                and (points[:, 1] >= 0).all() and (points[:, 1] < h).all())
