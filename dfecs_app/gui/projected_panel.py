"""Projected AU images panel (SI 7.1): each AU added to the neutral landmarks at an adjustable
intensity and the neutral image morphed with pychubby (:func:`dfecs_app.render.morph.morph_au`).

Morphing runs in the worker thread, one AU after the other (a generator worker, cancellable
between AUs); results are cached by content (:class:`dfecs_app.render.morph.MorphCache`), so
going back to an intensity or an AU costs nothing. Images are exported as PNG or SVG.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.au_panel import usage_order
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.image_view import ImageView, to_qimage
from dfecs_app.gui.worker import Worker, start_worker

THUMB = 150


def morph_queue(image: np.ndarray, points: np.ndarray, components: np.ndarray,
                indices: list[int], intensity: float, cache: Any,
                generation: int = 0) -> Iterator[tuple]:
    """Generator for the worker: yields ``(index, intensity, image, generation)`` per AU."""
    for i in indices:
        yield (int(i), float(intensity), cache.get(image, points, components[i], intensity),
               generation)


def face_box(points: np.ndarray, shape: tuple[int, ...], margin: float = 0.3) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the landmarks' bounding box grown by ``margin`` face sizes,
    clipped to the image (thumbnails and the large view show the face, not the backdrop)."""
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    m = margin * max(x1 - x0, y1 - y0)
    h, w = shape[:2]
    return (max(0, int(x0 - m)), max(0, int(y0 - 1.6 * m)), min(w, int(np.ceil(x1 + m))),
            min(h, int(np.ceil(y1 + m))))


def to_pixmap(image: np.ndarray, size: int | None = None) -> QPixmap:
    """An RGB ``uint8`` image as a QPixmap (scaled to fit ``size`` when given)."""
    pix = QPixmap.fromImage(to_qimage(image))
    if size:
        pix = pix.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    return pix


class ProjectedPanel(QWidget):
    """Projected AU images: intensity slider, thumbnails, a large image, export.

    Signals
    -------
    imageReady(int, float, object)
        Component index, intensity and its projected AU image ``(h, w, 3)`` uint8.
    allReady(int)
        Every AU's image at the current intensity is there (their number).
    message(str)
    """

    imageReady = Signal(int, float, object)
    allReady = Signal(int)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from dfecs_app.render.morph import MorphCache

        self.document = document
        self.cache = MorphCache(max_items=256)
        self.images: dict[int, np.ndarray] = {}  # at the current intensity
        self._pending: list[int] = []
        self._worker: Worker | None = None
        self._current: int | None = None
        self.shown = False
        self._stale = False
        self._generation = 0  # bumped when the inputs change: late results are dropped
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.morph_all)
        self._build()
        document.modelChanged.connect(self._invalidate)
        document.neutralChanged.connect(self._invalidate)
        document.replaced.connect(self._invalidate)

    def _build(self) -> None:
        self.intensity_slider = QSlider(Qt.Orientation.Horizontal)
        self.intensity_slider.setRange(0, 40)  # tenths: 0 .. 4
        self.intensity_slider.setValue(int(round(settings.get("morph/intensity") * 10)))
        self.intensity_slider.setToolTip("AU intensity added to the neutral landmarks")
        self.intensity_slider.valueChanged.connect(self._on_intensity)
        self.intensity_label = QLabel()
        self.morph_button = QPushButton("&Morph all")
        self.morph_button.clicked.connect(self.morph_all)
        self.export_button = QPushButton("E&xport image…")
        self.export_button.clicked.connect(self.export_dialog)
        self.export_all_button = QPushButton("Export &all…")
        self.export_all_button.clicked.connect(self.export_all_dialog)
        top = QHBoxLayout()
        top.addWidget(QLabel("Intensity:"))
        top.addWidget(self.intensity_slider, 1)
        top.addWidget(self.intensity_label)
        for w in (self.morph_button, self.export_button, self.export_all_button):
            top.addWidget(w)

        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSpacing(6)
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._on_row)

        self.view = ImageView()
        self.status = QLabel("")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.view, 1)
        rl.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._on_intensity(self.intensity_slider.value(), store=False)

    # -- state -----------------------------------------------------------------------------
    @property
    def intensity(self) -> float:
        return self.intensity_slider.value() / 10.0

    def set_intensity(self, value: float) -> None:
        self.intensity_slider.setValue(int(round(value * 10)))

    def _ready(self) -> bool:
        doc = self.document
        return (doc.model is not None and doc.neutral_image is not None
                and doc.neutral_landmarks is not None)

    def _on_intensity(self, value: int, store: bool = True) -> None:
        self.intensity_label.setText(f"{value / 10:.1f}")
        if store:
            settings.set("morph/intensity", value / 10.0)
            self._invalidate()

    def _invalidate(self) -> None:
        """Inputs changed: forget shown images, stop the running morph, re-morph soon."""
        self._generation += 1
        self.images.clear()
        self._pending.clear()
        if self._worker is not None:
            self._worker.cancel()
        self._fill_list()
        self._stale = True
        if self._ready() and self.shown:  # morph what the user looks at, when shown
            self._debounce.start()

    def set_shown(self, shown: bool) -> None:
        """The main window says whether this panel is in front (morphing waits until it is)."""
        self.shown = shown
        if shown and self._stale and self._ready():
            self._debounce.start()

    def _fill_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        model = self.document.model
        if model is not None:
            order, _ = usage_order(model)
            for comp in order:
                item = QListWidgetItem(model.names[int(comp)])
                item.setData(Qt.ItemDataRole.UserRole, int(comp))
                item.setSizeHint(QSize(THUMB + 16, THUMB + 36))
                self.list.addItem(item)
        self.list.blockSignals(False)
        self._current = None
        self.view.clear_image()
        if not self._ready():
            self.status.setText("Needs a model and a neutral face image with landmarks.")

    # -- morphing --------------------------------------------------------------------------
    def request(self, comp: int) -> None:
        """Ask for the projected image of ``comp``; ``imageReady`` follows (at once if cached)."""
        if not self._ready():
            return
        if comp in self.images:
            QTimer.singleShot(0, lambda c=comp: self.imageReady.emit(
                c, self.intensity, self.images[c]))
            return
        if comp in self._pending:
            self._pending.remove(comp)
        self._pending.insert(0, comp)
        self._start()

    def morph_all(self) -> None:
        """Morph every AU at the current intensity (selected first)."""
        model = self.document.model
        if not self._ready() or model is None:
            return
        order, _ = usage_order(model)
        todo = [int(c) for c in order if int(c) not in self.images]
        if self._current is not None and self._current in todo:
            todo.remove(self._current)
            todo.insert(0, self._current)
        self._pending = todo + [c for c in self._pending if c not in todo]
        self._stale = False
        self._start()

    def _start(self) -> None:
        if self._worker is not None or not self._pending or not self._ready():
            return
        doc = self.document
        batch, self._pending = self._pending, []
        self.status.setText(f"Morphing {len(batch)} AU image(s)…")
        self.morph_button.setEnabled(False)
        self._worker = start_worker(
            morph_queue, doc.neutral_image, np.asarray(doc.neutral_landmarks, float),
            doc.model.components, batch, self.intensity, self.cache, self._generation,
            name="morphing AU images", pass_state=False,
            on_yielded=self._on_morphed, on_errored=self._on_error,
            on_finished=self._on_finished)

    def _on_morphed(self, result: tuple) -> None:
        comp, intensity, image, generation = result
        if generation != self._generation:
            return
        self.images[comp] = image
        x0, y0, x1, y1 = face_box(np.asarray(self.document.neutral_landmarks), image.shape)
        thumb = to_pixmap(image[y0:y1, x0:x1], THUMB)
        icon = QIcon(thumb)
        icon.addPixmap(thumb, QIcon.Mode.Selected)  # no selection tint over the face
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == comp:
                item.setIcon(icon)
        if self._current is None and self.list.count():
            self.list.setCurrentRow(0)
        if comp == self._current:
            self._show(comp)
        self.imageReady.emit(comp, intensity, image)
        model = self.document.model
        if model is not None and len(self.images) == model.n_components:
            self.status.setText(f"{len(self.images)} projected AU images at intensity "
                                f"{self.intensity:g} (cache: {len(self.cache)})")
            self.allReady.emit(len(self.images))

    def _on_error(self, err: BaseException) -> None:
        w = self._worker
        self.message.emit(f"Morphing failed: {err}")
        dialogs.exception(self, "Morphing", err, w.error_traceback if w is not None else "")

    def _on_finished(self) -> None:
        self._worker = None
        self.morph_button.setEnabled(True)
        if self._pending:
            self._start()

    def shutdown(self) -> None:
        self._debounce.stop()
        self._pending.clear()

    # -- view ------------------------------------------------------------------------------
    def _on_row(self, row: int) -> None:
        item = self.list.item(row)
        if item is None:
            return
        comp = int(item.data(Qt.ItemDataRole.UserRole))
        self._current = comp
        if comp in self.images:
            self._show(comp)
        else:
            self.status.setText("morphing…")
            self.request(comp)

    def select(self, comp: int) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == comp:
                self.list.setCurrentRow(row)
                return

    def _show(self, comp: int) -> None:
        image = self.images[comp]
        self.view.set_image(image, face_box(np.asarray(self.document.neutral_landmarks),
                                            image.shape))
        name = self.document.model.names[comp] if self.document.model is not None else comp
        self.status.setText(f"{name}, intensity {self.intensity:g}")

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self._current is None or self._current not in self.images:
            dialogs.info(self, "Export", "Select a morphed AU image first.")
            return
        path = dialogs.save_file(self, "Export the projected AU image",
                                 settings.get("projects/last_dir"),
                                 "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_image(self._current, path)

    def export_image(self, comp: int, path: str | Path) -> Path | None:
        """One projected AU image as PNG or SVG (by suffix)."""
        image = self.images.get(comp)
        if image is None:
            return None
        from dfecs_app.render.figures import save_image

        try:
            out = save_image(path, image)
        except Exception as err:  # noqa: BLE001
            import traceback

            dialogs.exception(self, "Exporting the image", err, traceback.format_exc())
            return None
        self.message.emit(f"Exported {out}")
        return out

    def export_all_dialog(self) -> None:
        folder = dialogs.open_dir(self, "Export every projected AU image to…",
                                  settings.get("projects/last_dir"))
        if folder:
            self.export_all(folder)

    def export_all(self, folder: str | Path, formats: tuple[str, ...] = (".png", ".svg")) -> list[Path]:
        """Every morphed AU image into ``folder`` as ``au_<k>.png`` / ``.svg``."""
        out = []
        for comp in sorted(self.images):
            for suffix in formats:
                p = self.export_image(comp, Path(folder) / f"au_{comp + 1:02d}{suffix}")
                if p is not None:
                    out.append(p)
        return out
