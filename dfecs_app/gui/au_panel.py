"""AUs panel: one KPM arrow plot per learned AU, in the model's order, and a large view.

DFECS models are ordered by each AU's share of the training VE (``meta["au_stats"]``); its
figures show in each title and, with their definitions, on hover.

Each small plot shows the neutral keypoints (red), the keypoints moved by the AU (green),
arrows between and the face outline (Fig. 3 / SI Fig. 1 style). One intensity, shared with
the Projected AU images panel and in the unit of :mod:`dfecs_app.core.intensity` (1 = the
AU's 95th-percentile activation in the training data), sets every arrow and image; an arrow
scale (×1 = the true motion) only lengthens the arrows and is stated in exports. Clicking a plot (or Left/Right) selects it for the large view, where the
projected AU image (morphed off the GUI thread by the Projected AU images panel) appears
beside its arrow plot. Arrows are computed with
:func:`dfecs_app.core.projection.au_displacements`, the mapping the exported figures and the
morphs use.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.ffm import au_stats_lines
from dfecs_app.core.projection import au_displacements
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.face_items import FaceItems, face_plot_widget
from dfecs_app.gui.image_view import ImageView
from dfecs_app.gui.intensity import document_unit, unit_label

CELL_HEIGHT = 230
SELECTED_PEN = pg.mkPen(color=(40, 110, 230), width=3)


def usage_order(model: AUModel) -> tuple[np.ndarray, np.ndarray | None]:
    """Component indices by decreasing usage, and the usage per component (None if unknown).

    Usage is ``model.arrays['usage']`` when the trainer stored it; otherwise the model's own
    order (models are kept sorted by usage) is used.
    """
    usage = model.arrays.get("usage")
    if usage is not None:
        usage = np.asarray(usage, dtype=float).ravel()
        if usage.shape == (model.n_components,):
            return np.argsort(-usage, kind="stable"), usage
    return np.arange(model.n_components), None


def reference_face(document: ProjectDocument) -> tuple[np.ndarray, bool]:
    """The face the arrows are drawn on: the neutral landmarks (image pixels) when the
    project has them, else the schematic neutral face in standardized units.

    Returns ``(points (68, 2), is_image_face)``.
    """
    if document.neutral_landmarks is not None:
        return np.asarray(document.neutral_landmarks, float), True
    from dfecs_app.core.synthetic import neutral_face

    return neutral_face(), False


class AUPanel(QWidget):
    """Grid of KPM arrow plots and a large view of the selected AU.

    Signals
    -------
    gridFilled(int)
        The grid shows this many AUs.
    selected(int)
        Component index selected for the large view.
    message(str)
    """

    gridFilled = Signal(int)
    selected = Signal(int)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.order = np.zeros(0, dtype=int)
        self.usage: np.ndarray | None = None
        self.cells: list[tuple[pg.ViewBox, FaceItems, pg.LabelItem]] = []
        self.current: int | None = None
        self._morph: Any = None
        self.shown = False
        self._needs_rebuild = False
        self._image_shown: int | None = None
        self._build()
        document.modelChanged.connect(self._on_model_changed)
        document.neutralChanged.connect(self.redraw)
        document.replaced.connect(self._on_model_changed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.intensity_slider = QSlider(Qt.Orientation.Horizontal)
        self.intensity_slider.setRange(0, 30)  # tenths: 0 .. 3
        self.intensity_slider.setValue(int(round(settings.get("morph/unit_intensity") * 10)))
        self.intensity_slider.setToolTip("AU intensity of every plot and image: 1 = the AU's "
                                         "95th-percentile activation in the training data")
        self.intensity_slider.valueChanged.connect(self._on_intensity)
        self.intensity_label = QLabel()
        self.arrow_spin = QDoubleSpinBox()
        self.arrow_spin.setRange(0.5, 10.0)
        self.arrow_spin.setSingleStep(0.5)
        self.arrow_spin.setDecimals(1)
        self.arrow_spin.setPrefix("arrows ×")
        self.arrow_spin.setValue(float(settings.get("au/arrow_scale")))
        self.arrow_spin.setToolTip("Arrow length over the true motion (×1: arrows end where the "
                                   "projected image moves the keypoints)")
        self.arrow_spin.valueChanged.connect(self._on_arrow_scale)
        self.cols_spin = QSpinBox()
        self.cols_spin.setRange(1, 12)
        self.cols_spin.setValue(3)
        self.cols_spin.setPrefix("columns: ")
        self.cols_spin.valueChanged.connect(lambda _: self.rebuild())
        self.export_button = QPushButton("E&xport grid…")
        self.export_button.clicked.connect(self.export_dialog)
        self.export_one_button = QPushButton("Export &AU…")
        self.export_one_button.setToolTip("The large view's arrow plot as PNG/SVG/PDF")
        self.export_one_button.clicked.connect(self.export_selected_dialog)
        top = QHBoxLayout()
        top.addWidget(QLabel("Intensity:"))
        top.addWidget(self.intensity_slider, 1)
        top.addWidget(self.intensity_label)
        top.addWidget(self.arrow_spin)
        top.addWidget(self.cols_spin)
        top.addWidget(self.export_button)
        top.addWidget(self.export_one_button)

        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setBackground("w")
        self.grid.scene().sigMouseClicked.connect(self._on_grid_click)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.grid)
        self.empty_label = QLabel("No model yet: train one (Ctrl+3, Ctrl+R).")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.large_plot = face_plot_widget()
        lp = self.large_plot.getPlotItem()
        self.large_face = FaceItems(lp, point_size=7)
        self.image_view = ImageView()
        self.large_title = QLabel("")
        self.large_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.large_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.large_title.setFont(font)
        self.image_label = QLabel("")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pair = QHBoxLayout()
        pair.addWidget(self.large_plot, 1)
        pair.addWidget(self.image_view, 1)
        large = QWidget()
        ll = QVBoxLayout(large)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.large_title)
        ll.addLayout(pair, 1)
        ll.addWidget(self.image_label)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.empty_label)
        lv.addWidget(self.scroll, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(large)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([620, 880])
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._on_intensity(self.intensity_slider.value(), store=False)

    def set_morph_provider(self, provider: Any) -> None:
        """Where projected AU images come from: an object with ``request(index)``,
        ``set_intensity(float)`` and signals ``imageReady(int, float, object)``,
        ``imageFailed(int, str)`` and ``intensityChanged(float)`` (the Projected AU images
        panel). The two share one intensity."""
        self._morph = provider
        provider.imageReady.connect(self._on_image_ready)
        provider.imageFailed.connect(self._on_image_failed)
        provider.intensityChanged.connect(self._on_provider_intensity)
        if abs(provider.intensity - self.intensity) > 1e-9:
            self._on_provider_intensity(provider.intensity)

    # -- state -----------------------------------------------------------------------------
    @property
    def intensity(self) -> float:
        """The shared intensity (unit: :mod:`dfecs_app.core.intensity`)."""
        return self.intensity_slider.value() / 10.0

    @property
    def arrow_scale(self) -> float:
        return float(self.arrow_spin.value())

    def au_scales(self) -> np.ndarray:
        """Multiplier of each AU vector at the current intensity (without the arrow scale)."""
        unit = document_unit(self.document)
        return np.zeros(0) if unit is None else unit.scales(self.intensity)

    def _on_intensity(self, value: int, store: bool = True) -> None:
        self.intensity_label.setText(f"{value / 10:.1f} {unit_label(document_unit(self.document))}")
        if store:
            settings.set("morph/unit_intensity", value / 10.0)
            if self._morph is not None and abs(self._morph.intensity - value / 10.0) > 1e-9:
                self._morph.set_intensity(value / 10.0)
        self.redraw()
        if store and self.current is not None:
            self.select(self.current)  # the image at the new intensity

    def _on_provider_intensity(self, value: float) -> None:
        if self.intensity_slider.value() != int(round(value * 10)):
            self.intensity_slider.blockSignals(True)
            self.intensity_slider.setValue(int(round(value * 10)))
            self.intensity_slider.blockSignals(False)
            self._on_intensity(self.intensity_slider.value(), store=False)
            if self.current is not None:
                self.select(self.current)

    def _on_arrow_scale(self, value: float) -> None:
        settings.set("au/arrow_scale", float(value))
        self.redraw()

    def caption(self) -> str:
        """What the plots show, for titles and exports."""
        unit = document_unit(self.document)
        text = f"intensity {self.intensity:g} {unit_label(unit)}, arrows ×{self.arrow_scale:g}"
        if unit is not None:
            text += f" — {unit.definition}"
        return text

    def _on_model_changed(self) -> None:
        # building the grid costs ~0.1 s of GUI time: do it when the panel is looked at
        self._needs_rebuild = True
        if self.shown or self.document.model is None:
            self.rebuild()

    def rebuild(self) -> None:
        """Fill the grid for the document's model (cells are reused when the shape allows)."""
        self._needs_rebuild = False
        model = self.document.model
        if model is None:
            self.grid.clear()
            self.cells = []
            self._grid_shape = None
            self.order = np.zeros(0, dtype=int)
            self.usage = None
            self.empty_label.show()
            self.current = None
            self.large_face.set_face(None)
            self.image_view.clear_image()
            self.large_title.setText("")
            self.image_label.setText("")
            return
        self.empty_label.hide()
        self._on_intensity(self.intensity_slider.value(), store=False)  # the unit's label
        self.order, self.usage = usage_order(model)
        ncols = self.cols_spin.value()
        nrows = max(1, math.ceil(len(self.order) / ncols))
        shape = (len(self.order), ncols)
        if shape != getattr(self, "_grid_shape", None):
            # light cells: a title label over a bare ViewBox (no axes, no menus)
            self.grid.clear()
            self.cells = []
            for slot in range(len(self.order)):
                r, c = divmod(slot, ncols)
                label = self.grid.addLabel("", row=2 * r, col=c, size="10pt", color="#202020")
                vb = pg.ViewBox(enableMenu=False, lockAspect=True, invertY=True)
                vb.setMouseEnabled(x=False, y=False)
                self.grid.addItem(vb, row=2 * r + 1, col=c)
                self.cells.append((vb, FaceItems(vb, point_size=3.5), label))
            self._grid_shape = shape
        for (vb, _, label), comp in zip(self.cells, self.order):
            label.setText(self._title(int(comp)), size="10pt", color="#202020")
            tip = "\n".join(au_stats_lines(model.meta, int(comp)))
            vb.setToolTip(tip)
            label.setToolTip(tip)
        self.grid.setMinimumHeight(nrows * CELL_HEIGHT)
        self.current = int(self.order[0]) if len(self.order) else None
        self.redraw()
        self.gridFilled.emit(len(self.cells))
        if self.current is not None:
            self.select(self.current)

    def _title(self, comp: int) -> str:
        model = self.document.model
        name = model.names[comp] if model is not None else f"Component {comp + 1}"
        shares = (model.meta.get("au_stats") or {}).get("ve_share") if model is not None else None
        if shares is not None and comp < len(shares):
            return f"{name} · {100 * float(shares[comp]):.1f} % of VE"
        if self.usage is not None:
            return f"{name} · usage {self.usage[comp]:.3g}"
        return name

    def moved_face(self, comp: int) -> tuple[np.ndarray, np.ndarray]:
        """(neutral, moved) keypoints (68, 2) of component ``comp`` at the current scale."""
        model = self.document.model
        base, _ = reference_face(self.document)
        scales = self.au_scales()
        disp = au_displacements(base, model.components[comp], scales[comp] * self.arrow_scale)
        return base, base + disp

    def redraw(self) -> None:
        model = self.document.model
        if model is None or not self.cells:
            return
        for (vb, items, _), comp in zip(self.cells, self.order):
            base, moved = self.moved_face(int(comp))
            items.set_face(base, moved=moved)
            vb.autoRange(padding=0.03)
        if self.current is not None:
            self._draw_large(self.current)

    # -- selection -------------------------------------------------------------------------
    def _on_grid_click(self, ev: Any) -> None:
        pos = ev.scenePos()
        for (vb, _, label), comp in zip(self.cells, self.order):
            if (vb.sceneBoundingRect().contains(pos)
                    or label.sceneBoundingRect().contains(pos)):
                self.select(int(comp))
                return

    def select(self, comp: int) -> None:
        """Show component ``comp`` in the large view and ask for its projected AU image."""
        if self.document.model is None or not 0 <= comp < self.document.model.n_components:
            return
        self.current = int(comp)
        for (vb, _, _), c in zip(self.cells, self.order):
            vb.setBorder(SELECTED_PEN if int(c) == comp else None)
        self._draw_large(comp)
        self.image_view.clear_image()
        self._image_shown = None
        if self._morph is not None and self.document.neutral_image is not None:
            self.image_label.setText("morphing…")
            if self.shown:  # otherwise when the panel is shown
                self._morph.request(comp)
        elif self.document.neutral_image is None:
            self.image_label.setText("No neutral face image: open one in the Neutral face panel.")
        self.selected.emit(comp)

    def _draw_large(self, comp: int) -> None:
        self.large_title.setToolTip("\n".join(au_stats_lines(self.document.model.meta, comp)))
        base, moved = self.moved_face(comp)
        self.large_face.set_face(base, moved=moved)
        self.large_plot.getPlotItem().autoRange(padding=0.05)
        self.large_title.setText(self._title(comp))

    def set_shown(self, shown: bool) -> None:
        """The main window says whether this panel is in front; the large view's projected
        image is asked for only then."""
        self.shown = shown
        if shown and self._needs_rebuild:
            self.rebuild()  # selects the first AU, which asks for its image
            return
        if (shown and self.current is not None and self._morph is not None
                and getattr(self, "_image_shown", None) != self.current
                and self.document.neutral_image is not None):
            self._morph.request(self.current)

    def _on_image_ready(self, comp: int, intensity: float, image: np.ndarray) -> None:
        if comp != self.current:
            return
        self._image_shown = comp
        self._show_image(np.asarray(image))
        text = f"Projected AU image, intensity {intensity:g} {unit_label(document_unit(self.document))}"
        result = getattr(self._morph, "results", {}).get(comp)
        if result is not None and result.notes():
            text += " — " + "; ".join(result.notes())
        self.image_label.setText(text)

    def _on_image_failed(self, comp: int, reason: str) -> None:
        """Say in place why the image cannot be made (no dialog; not asked again)."""
        if comp != self.current:
            return
        self._image_shown = comp
        self.image_view.clear_image()
        self.image_label.setText(f"No projected AU image: {reason}")

    def _show_image(self, image: np.ndarray) -> None:
        """The projected AU image, cropped to the face."""
        from dfecs_app.gui.projected_panel import face_box

        lm = self.document.neutral_landmarks
        box = None if lm is None else face_box(np.asarray(lm), image.shape)
        self.image_view.set_image(image, box)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not len(self.order) or self.current is None:
            return super().keyPressEvent(event)
        slot = int(np.flatnonzero(self.order == self.current)[0])
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -self.cols_spin.value(),
                Qt.Key.Key_Down: self.cols_spin.value()}.get(Qt.Key(event.key()))
        if step is None:
            return super().keyPressEvent(event)
        slot = min(max(slot + step, 0), len(self.order) - 1)
        self.select(int(self.order[slot]))

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        path = dialogs.save_file(self, "Export the AU grid (one figure)",
                                 settings.get("projects/last_dir"),
                                 "PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)")
        if path:
            self.export_grid(path)

    def export_selected_dialog(self) -> None:
        path = dialogs.save_file(self, "Export the selected AU's arrow plot",
                                 settings.get("projects/last_dir"),
                                 "PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)")
        if path:
            out = self.export_selected(path)
            if out is not None:
                self.message.emit(f"Exported {out}")

    def export_grid(self, path: str | Path) -> Path | None:
        """The AU grid as one figure (PNG/SVG/PDF by suffix), as ``render.arrows`` draws it."""
        from dfecs_app.render.arrows import au_grid_figure, save_figure

        model = self.document.model
        if model is None:
            dialogs.info(self, "Export", "No model to export yet.")
            return None
        base, _ = reference_face(self.document)
        order, usage = usage_order(model)  # the grid may not be built yet (lazy)
        titles = [model.names[i] if usage is None else f"{model.names[i]} · usage {usage[i]:.3g}"
                  for i in range(model.n_components)]
        try:
            scaled = AUModel(components=model.components * (self.au_scales() * self.arrow_scale)[:, None],
                             kind=model.kind, names=list(model.names))
            fig = au_grid_figure(scaled, base, scale=1.0, ncols=self.cols_spin.value(),
                                 order=[int(i) for i in order], titles=titles,
                                 suptitle=textwrap.fill(self.caption(), 110))
            out = save_figure(fig, path)
        except Exception as err:  # noqa: BLE001
            import traceback

            dialogs.exception(self, "Exporting the AU grid", err, traceback.format_exc())
            return None
        self.message.emit(f"Exported the AU grid to {out}")
        return out

    def export_selected(self, path: str | Path) -> Path | None:
        """The large view's arrow plot as one figure (PNG/SVG/PDF by suffix)."""
        from dfecs_app.render.arrows import kpm_arrow_figure, save_figure

        model = self.document.model
        if model is None:
            return None
        comp = self.current if self.current is not None else int(usage_order(model)[0][0])
        base, _ = reference_face(self.document)
        scale = float(self.au_scales()[comp] * self.arrow_scale)
        fig = kpm_arrow_figure(base, model.components[comp], scale=scale,
                               title=f"{model.names[comp]}\n{self.caption().split(' — ')[0]}")
        return save_figure(fig, path)
