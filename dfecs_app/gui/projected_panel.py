"""Projected AU images panel (SI 7.1): each AU added to the neutral landmarks at an adjustable
intensity and the neutral image morphed with pychubby (:func:`dfecs_app.render.morph.morph_au`).

The intensity has a unit (:mod:`dfecs_app.core.intensity`: 1 = the AU's 95th-percentile
activation in the training data). An AU that cannot be morphed shows its reason in place (its
thumbnail and the status line), the log gets one line, and it is not tried again until the
model, the face or the intensity changes; an AU capped so as not to fold says so.

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
from dfecs_app.gui.intensity import document_unit, unit_label
from dfecs_app.gui.worker import Worker, start_worker
from dfecs_app.render.morph import try_morph

THUMB = 150


def morph_queue(image: np.ndarray, points: np.ndarray, components: np.ndarray,
                indices: list[int], scales: np.ndarray, cache: Any,
                generation: int = 0) -> Iterator[tuple]:
    """Generator for the worker: yields ``(index, result, generation, error)`` per AU.

    ``result`` is a :class:`~dfecs_app.render.morph.MorphResult` (None on failure) morphed at
    the multiplier ``scales[index]``; ``error`` is the reason a morph could not be made (None
    on success). One AU's failure does not stop the others.
    """
    for i in indices:
        try:
            result, error = try_morph(image, points, components[i], float(scales[i]), cache)
        except Exception as err:  # noqa: BLE001 - shown in place, the other AUs go on
            result, error = None, f"{type(err).__name__}: {err}"
        yield int(i), result, generation, error


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

    The intensity is in the unit of :mod:`dfecs_app.core.intensity` (1 = the AU's
    95th-percentile activation in the training data); the AUs panel shares it.

    Signals
    -------
    imageReady(int, float, object)
        Component index, intensity and its projected AU image ``(h, w, 3)`` uint8.
    imageFailed(int, str)
        Component index and why its image cannot be made (shown in place, never retried
        until the inputs change).
    allReady(int)
        Every AU has its image (or its reason) at the current intensity (their number).
    intensityChanged(float)
    message(str)
        One line per failed batch (non-modal; the main window's log).
    """

    imageReady = Signal(int, float, object)
    imageFailed = Signal(int, str)
    allReady = Signal(int)
    intensityChanged = Signal(float)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from dfecs_app.render.morph import MorphCache

        self.document = document
        self.cache = MorphCache(max_items=256)
        self.images: dict[int, np.ndarray] = {}  # at the current intensity
        self.results: dict[int, Any] = {}  # MorphResult per component
        self.failures: dict[int, str] = {}  # reasons, at the current inputs
        self._notified = False
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
        self.intensity_slider.setRange(0, 30)  # tenths: 0 .. 3
        self.intensity_slider.setValue(int(round(settings.get("morph/unit_intensity") * 10)))
        self.intensity_slider.setToolTip("AU intensity: 1 = the AU's 95th-percentile activation "
                                         "in the training data (a typical strong occurrence)")
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
        self.status.setWordWrap(True)
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

    @property
    def unit(self) -> Any:
        """The model's :class:`~dfecs_app.core.intensity.IntensityUnit` (None without one)."""
        return document_unit(self.document)

    def scales(self) -> np.ndarray:
        """Multiplier of each AU vector at the current intensity, ``(q,)``."""
        unit = self.unit
        return np.zeros(0) if unit is None else unit.scales(self.intensity)

    def describe(self) -> dict[str, Any]:
        """What the images show: intensity, its unit and the multiplier of each AU (exports)."""
        from dfecs_app.render.morph import describe_projected

        model = self.document.model
        if model is None:
            return {"intensity": self.intensity}
        return describe_projected(list(model.names), self.scales(), self.results, self.failures,
                                  intensity=self.intensity, unit=self.unit,
                                  arrow_scale=float(settings.get("au/arrow_scale")))

    def _ready(self) -> bool:
        doc = self.document
        return (doc.model is not None and doc.neutral_image is not None
                and doc.neutral_landmarks is not None)

    def _on_intensity(self, value: int, store: bool = True) -> None:
        self.intensity_label.setText(f"{value / 10:.1f} {unit_label(self.unit)}")
        if store:
            settings.set("morph/unit_intensity", value / 10.0)
            self._invalidate()
            self.intensityChanged.emit(value / 10.0)

    def _invalidate(self) -> None:
        """Inputs changed: forget shown images, stop the running morph, re-morph soon."""
        self._generation += 1
        self.images.clear()
        self.results.clear()
        self.failures.clear()
        self._notified = False
        self._pending.clear()
        if self._worker is not None:
            self._worker.cancel()
        self._fill_list()
        self.intensity_label.setText(f"{self.intensity:.1f} {unit_label(self.unit)}")
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
        if comp in self.failures:  # known: say it again, never morph again
            QTimer.singleShot(0, lambda c=comp: self.imageFailed.emit(c, self.failures[c]))
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
        todo = [int(c) for c in order if int(c) not in self.images and int(c) not in self.failures]
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
            doc.model.components, batch, self.scales(), self.cache, self._generation,
            name="morphing AU images", pass_state=False,
            on_yielded=self._on_morphed, on_errored=self._on_error,
            on_finished=self._on_finished)

    def _item(self, comp: int) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == comp:
                return item
        return None

    def _on_morphed(self, value: tuple) -> None:
        comp, result, generation, error = value
        if generation != self._generation:
            return
        model = self.document.model
        item = self._item(comp)
        if error is not None:
            self.failures[comp] = error
            if item is not None:
                item.setText(f"{model.names[comp]}\n(cannot morph)")
                item.setToolTip(error)
            if not self._notified:  # one notification per set of inputs
                self._notified = True
                self.message.emit(f"Projected AU image of {model.names[comp]} cannot be made: "
                                  f"{error}")
            if comp == self._current:
                self._show(comp)
            self.imageFailed.emit(comp, error)
        else:
            image = result.image
            self.images[comp] = image
            self.results[comp] = result
            x0, y0, x1, y1 = face_box(np.asarray(self.document.neutral_landmarks), image.shape)
            thumb = to_pixmap(image[y0:y1, x0:x1], THUMB)
            icon = QIcon(thumb)
            icon.addPixmap(thumb, QIcon.Mode.Selected)  # no selection tint over the face
            if item is not None:
                item.setIcon(icon)
                if result.capped:
                    item.setText(f"{model.names[comp]}\n(capped: would fold)")
                item.setToolTip("\n".join(result.notes()))
            if comp == self._current:
                self._show(comp)
            self.imageReady.emit(comp, self.intensity, image)
        if self._current is None and self.list.count():
            self.list.setCurrentRow(0)
        done = len(self.images) + len(self.failures)
        if model is not None and done == model.n_components:
            capped = [model.names[c] for c, r in self.results.items() if r.capped]
            text = (f"{len(self.images)} projected AU images at intensity {self.intensity:g} "
                    f"{unit_label(self.unit)}")
            if self.failures:
                text += f"; {len(self.failures)} cannot be made (see each)"
            if capped:
                text += f"; capped so as not to fold: {', '.join(capped)}"
            if self._current is None or self._current not in self.failures:
                self.status.setText(text if self._current is None else self._describe(self._current))
            self.allReady.emit(done)

    def _on_error(self, err: BaseException) -> None:
        """The worker itself failed (not one AU): say so once, leave the 'morphing…' state."""
        self._pending.clear()
        text = f"Morphing stopped: {err}"
        self.status.setText(text)
        if not self._notified:
            self._notified = True
            self.message.emit(text)

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
        if comp in self.images or comp in self.failures:
            self._show(comp)
        else:
            self.status.setText("morphing…")
            self.request(comp)

    def select(self, comp: int) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == comp:
                self.list.setCurrentRow(row)
                return

    def _describe(self, comp: int) -> str:
        model = self.document.model
        name = model.names[comp] if model is not None else str(comp)
        if comp in self.failures:
            return f"{name}: cannot be morphed — {self.failures[comp]}"
        text = f"{name}, intensity {self.intensity:g} {unit_label(self.unit)}"
        result = self.results.get(comp)
        if result is not None and result.notes():
            text += " — " + "; ".join(result.notes())
        return text

    def _show(self, comp: int) -> None:
        if comp in self.failures:
            self.view.clear_image()
            self.status.setText(self._describe(comp))
            return
        image = self.images[comp]
        self.view.set_image(image, face_box(np.asarray(self.document.neutral_landmarks),
                                            image.shape))
        self.status.setText(self._describe(comp))

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self._current is None or self._current not in self.images:
            dialogs.info(self, "Export", "Select a morphed AU image first.")
            return
        path = dialogs.save_file(self, "Export the projected AU image",
                                 settings.get("projects/last_dir"),
                                 "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            out = self.export_image(self._current, path)
            if out is not None:  # the intensity and unit beside the image
                import json

                from dfecs_app.io.atomic import write_text_atomic

                desc = self.describe()
                desc["aus"] = [desc["aus"][self._current]] if "aus" in desc else []
                write_text_atomic(out.with_suffix(".json"), json.dumps(desc, indent=2) + "\n")

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
        """Every morphed AU image into ``folder`` (named from the AU names) and
        ``projected_aus.json`` stating the intensity, its unit and each AU's multiplier —
        what ``dfecs morph`` writes."""
        from dfecs_app.render.morph import write_projected_set

        model = self.document.model
        if model is None or not self.images:
            return []
        try:
            out = write_projected_set(folder, dict(self.images), list(model.names),
                                      self.describe(), formats)
        except Exception as err:  # noqa: BLE001
            import traceback

            dialogs.exception(self, "Exporting the images", err, traceback.format_exc())
            return []
        self.message.emit(f"Exported {len(out) - 1} files and projected_aus.json to {folder}")
        return out
