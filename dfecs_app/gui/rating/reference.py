"""Reference panel: a schematic of the feasible muscle-movement directions (§3.4, Fig. 4).

This is a **schematic**, drawn with QPainter, not a reproduction of the paper's Fig. 4: one face
with the movement directions that SI Tables 3-4 cite as the muscular basis of an
interpretable keypoint movement — brows up (UF1), brows diagonally down towards the nose (UF2),
brows and lids towards the eye socket (UF3, UF4), lips pulled radially / sideways (LF1) and
down (LF2). The legend text comes from :data:`dfecs_app.core.ratings.MUSCLE_DIRECTIONS`. A
movement against all of the directions at a keypoint makes the AU non-interpretable.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from dfecs_app.core.ratings import MUSCLE_DIRECTIONS

#: Arrows of the schematic in unit face coordinates (x right, y down; face in [0, 1]²):
#: (code, start, end). Mirrored for the subject's left side where it applies.
SCHEMATIC_ARROWS: tuple[tuple[str, tuple[float, float], tuple[float, float]], ...] = (
    ("UF1", (0.30, 0.30), (0.30, 0.20)),      # brow raised
    ("UF1", (0.70, 0.30), (0.70, 0.20)),
    ("UF2", (0.22, 0.31), (0.40, 0.39)),      # brow diagonally towards the nose
    ("UF2", (0.78, 0.31), (0.60, 0.39)),
    ("UF3", (0.34, 0.30), (0.34, 0.37)),      # brow towards the eye socket
    ("UF3", (0.66, 0.30), (0.66, 0.37)),
    ("UF4", (0.19, 0.40), (0.24, 0.40)),      # eye corners / lids towards the socket
    ("UF4", (0.81, 0.40), (0.76, 0.40)),
    ("UF4", (0.31, 0.46), (0.31, 0.425)),
    ("UF4", (0.69, 0.46), (0.69, 0.425)),
    ("LF1", (0.36, 0.72), (0.24, 0.64)),      # lip corners radially up / outwards
    ("LF1", (0.64, 0.72), (0.76, 0.64)),
    ("LF1", (0.36, 0.72), (0.23, 0.72)),      # sideways
    ("LF1", (0.64, 0.72), (0.77, 0.72)),
    ("LF2", (0.50, 0.77), (0.50, 0.88)),      # lower lip / jaw down
    ("LF2", (0.40, 0.75), (0.37, 0.85)),
    ("LF2", (0.60, 0.75), (0.63, 0.85)),
)

#: Where each code's label goes (unit face coordinates): (anchor, alignment, leader targets).
#: ``alignment`` says which side of the label box sits at the anchor ("right": its right edge,
#: "center": its centre; vertically always centred). The places are chosen so that no label
#: covers another or an arrow: UF1 left of the raised-brow arrow's tip, UF2 left of the
#: diagonal arrow's start, UF3 on the forehead with leaders to both brow-lowering arrows, UF4
#: under the outer eye-corner arrow, LF1 under the sideways lip arrow, LF2 left of the lip's
#: downward arrow.
LABEL_PLACES: dict[str, tuple[tuple[float, float], str, tuple[tuple[float, float], ...]]] = {
    "UF1": ((0.285, 0.215), "right", ()),
    "UF2": ((0.205, 0.300), "right", ()),
    "UF3": ((0.500, 0.170), "center", ((0.34, 0.295), (0.66, 0.295))),
    "UF4": ((0.200, 0.450), "center", ()),
    "LF1": ((0.290, 0.770), "center", ()),
    "LF2": ((0.350, 0.860), "right", ()),
}

CODE_COLORS = {"UF1": "#1b7837", "UF2": "#762a83", "UF3": "#e08214", "UF4": "#b2182b",
               "LF1": "#2166ac", "LF2": "#8c510a"}


class DirectionSchematic(QWidget):
    """The face schematic with the feasible directions (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Schematic of feasible facial muscle movement directions")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, 300)

    def label_font(self) -> QFont:
        """The bold font of the direction codes, sized with the drawing."""
        side = min(self.width(), self.height()) - 12
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, side / 45))
        font.setBold(True)
        return font

    def label_boxes(self) -> dict[str, QRectF]:
        """Widget rectangle of each code's label (with its white margin), by code."""
        metrics = QFontMetricsF(self.label_font())
        out = {}
        for code, ((x, y), align, _) in LABEL_PLACES.items():
            w = metrics.horizontalAdvance(code) + 4
            h = metrics.height() + 2
            a = self._map(x, y)
            left = a.x() - w if align == "right" else a.x() - w / 2
            out[code] = QRectF(left, a.y() - h / 2, w, h)
        return out

    def _map(self, x: float, y: float) -> QPointF:
        side = min(self.width(), self.height()) - 12
        ox = (self.width() - side) / 2
        oy = (self.height() - side) / 2
        return QPointF(ox + x * side, oy + y * side)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        side = min(self.width(), self.height()) - 12
        grey = QPen(QColor("#8a8a8a"), 1.5)
        p.setPen(grey)
        p.setBrush(Qt.BrushStyle.NoBrush)
        # face, brows, eyes, nose, lips
        tl, br = self._map(0.12, 0.06), self._map(0.88, 0.98)
        p.drawEllipse(QRectF(tl, br))
        for sx in (0, 1):
            xs = [0.20, 0.27, 0.34, 0.41] if sx == 0 else [0.59, 0.66, 0.73, 0.80]
            ys = [0.32, 0.29, 0.29, 0.31] if sx == 0 else [0.31, 0.29, 0.29, 0.32]
            for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
                p.drawLine(self._map(x0, y0), self._map(x1, y1))
            cx = 0.31 if sx == 0 else 0.69
            c = self._map(cx, 0.40)
            p.drawEllipse(c, 0.08 * side, 0.03 * side)
        p.drawPolyline(QPolygonF([self._map(0.50, 0.38), self._map(0.47, 0.58),
                                  self._map(0.53, 0.58)]))
        p.drawEllipse(QRectF(self._map(0.36, 0.68), self._map(0.64, 0.76)))
        p.drawLine(self._map(0.36, 0.72), self._map(0.64, 0.72))
        p.setFont(self.label_font())
        for code, (x0, y0), (x1, y1) in SCHEMATIC_ARROWS:
            color = QColor(CODE_COLORS[code])
            p.setPen(QPen(color, 2.0))
            a, b = self._map(x0, y0), self._map(x1, y1)
            p.drawLine(a, b)
            ang = math.atan2(b.y() - a.y(), b.x() - a.x())
            h = 0.025 * side
            p.setBrush(color)
            p.drawPolygon(QPolygonF([b, QPointF(b.x() - h * math.cos(ang - 0.45),
                                                b.y() - h * math.sin(ang - 0.45)),
                                     QPointF(b.x() - h * math.cos(ang + 0.45),
                                             b.y() - h * math.sin(ang + 0.45))]))
            p.setBrush(Qt.BrushStyle.NoBrush)
        # one label per code, on a white box so outlines never run through the letters
        for code, box in self.label_boxes().items():
            color = QColor(CODE_COLORS[code])
            _, _, leaders = LABEL_PLACES[code]
            if leaders:
                p.setPen(QPen(color, 1.0, Qt.PenStyle.DotLine))
                for tx, ty in leaders:
                    start = QPointF(box.center().x(), box.bottom())
                    p.drawLine(start, self._map(tx, ty))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 230))
            p.drawRoundedRect(box, 3, 3)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(color)
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, code)
        p.end()


class ReferencePanel(QWidget):
    """Schematic plus a legend of the direction codes (for the rating screen)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Feasible muscle movements</b> (schematic)")
        self.schematic = DirectionSchematic(self)
        rows = "".join(
            f"<tr><td><b style='color:{CODE_COLORS[c]}'>{c}</b></td><td>{desc}</td></tr>"
            for c, (_, desc) in MUSCLE_DIRECTIONS.items())
        legend = QLabel(f"<table cellspacing='2'>{rows}</table><p><small>An AU is "
                        "non-interpretable when any keypoint moves against the feasible "
                        "directions of the muscles there (§3.4).</small></p>")
        legend.setWordWrap(True)
        legend.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        layout.addWidget(self.schematic, 1)
        layout.addWidget(legend)
