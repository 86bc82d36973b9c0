"""A clickable KPM arrow plot drawn with QPainter (the rater marks artifact keypoints on it).

Neutral keypoints red, moved keypoints green, arrows between them, the face outline grey and
the artifact keypoints as blue dots (Fig. 6/8), like :mod:`dfecs_app.render.arrows` draws for
files. Clicking near a neutral keypoint emits ``pointClicked(index)``.

Rater aids (each a setter): keypoint numbers beside the points (paper Fig. 2,
:meth:`set_show_numbers`), a scale bar in neutral-image pixels (:meth:`set_show_scale_bar`)
and the fraction of the movement shown (:meth:`set_fraction`: 0 neutral, 1 the AU; the
rating screen animates it).

Signals
-------
pointClicked(int)
    68-layout index of the keypoint clicked (within :data:`PICK_RADIUS` pixels).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from dfecs_app.core.landmarks import N_POINTS, OUTLINE

PICK_RADIUS = 12.0
NEUTRAL = QColor("#e8141c")
MOVED = QColor("#19c819")
ARTIFACT = QColor("#1f3dff")
OUTLINE_COLOR = QColor("#9a9a9a")
ARROW = QColor("#202020")


class ArrowPlotWidget(QWidget):
    """KPM arrow plot of one AU; see the module docstring."""

    pointClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)
        self.setAccessibleName("KPM arrow plot: click keypoints to mark artifacts")
        self._neutral: np.ndarray | None = None
        self._moved: np.ndarray | None = None
        self._disp: np.ndarray | None = None
        self._artifacts: set[int] = set()
        self._enabled_marking = True
        self.show_numbers = False
        self.show_scale_bar = False
        self.fraction = 1.0

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(360, 360)

    def set_data(self, neutral: np.ndarray | None, displacement: np.ndarray | None,
                 artifacts: set[int] | list[int] | tuple[int, ...] = ()) -> None:
        """Neutral keypoints (68, 2) and their displacement (68, 2), both in image pixels."""
        if neutral is None:
            self._neutral = self._moved = None
        else:
            self._neutral = np.asarray(neutral, dtype=float)
            d = np.zeros_like(self._neutral) if displacement is None else np.asarray(displacement)
            self._disp = np.asarray(d, dtype=float)
            self._moved = self._neutral + d
        self._artifacts = {int(a) for a in artifacts}
        self.update()

    def set_artifacts(self, artifacts: set[int] | list[int] | tuple[int, ...]) -> None:
        self._artifacts = {int(a) for a in artifacts}
        self.update()

    @property
    def artifacts(self) -> set[int]:
        return set(self._artifacts)

    def set_show_numbers(self, on: bool) -> None:
        """Draw each keypoint's 68-layout index beside it (paper Fig. 2)."""
        self.show_numbers = bool(on)
        self.update()

    def set_show_scale_bar(self, on: bool) -> None:
        """Draw a scale bar in neutral-image pixels."""
        self.show_scale_bar = bool(on)
        self.update()

    def set_fraction(self, t: float) -> None:
        """Show the movement scaled by ``t`` in [0, 1] (0: the neutral face)."""
        self.fraction = float(np.clip(t, 0.0, 1.0))
        self.update()

    def scale_bar_pixels(self) -> float:
        """Length of the scale bar in image pixels: 1, 2 or 5 × 10^n, about 1/6 of the face."""
        if self._neutral is None:
            return 0.0
        span = float(np.ptp(self._neutral[:, 0])) or 1.0
        target = span / 6.0
        base = 10.0 ** np.floor(np.log10(target))
        return float(max((m * base for m in (1.0, 2.0, 5.0) if m * base <= target), default=base))

    # -- geometry -------------------------------------------------------------------------
    def _transform(self) -> tuple[float, float, float]:
        """(scale, offset_x, offset_y): widget = data * scale + offset."""
        pts = np.vstack([self._neutral, self._moved])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = np.maximum(hi - lo, 1e-6)
        margin = 16.0
        w, h = max(self.width() - 2 * margin, 1.0), max(self.height() - 2 * margin, 1.0)
        s = min(w / span[0], h / span[1])
        ox = margin + (w - s * span[0]) / 2 - s * lo[0]
        oy = margin + (h - s * span[1]) / 2 - s * lo[1]
        return s, ox, oy

    def keypoint_position(self, index: int) -> QPointF:
        """Where neutral keypoint ``index`` is drawn, in widget coordinates."""
        if self._neutral is None:
            raise RuntimeError("no keypoints shown")
        s, ox, oy = self._transform()
        x, y = self._neutral[index]
        return QPointF(x * s + ox, y * s + oy)

    def keypoint_at(self, pos: QPointF) -> int | None:
        """The neutral keypoint nearest to ``pos`` within :data:`PICK_RADIUS` (None if none)."""
        if self._neutral is None:
            return None
        s, ox, oy = self._transform()
        xy = self._neutral * s + [ox, oy]
        d = np.hypot(xy[:, 0] - pos.x(), xy[:, 1] - pos.y())
        i = int(np.argmin(d))
        return i if d[i] <= PICK_RADIUS else None

    # -- events ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.keypoint_at(event.position())
            if i is not None:
                self.pointClicked.emit(i)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        i = self.keypoint_at(event.position())
        self.setToolTip("" if i is None else f"keypoint {i}")
        self.setCursor(Qt.CursorShape.PointingHandCursor if i is not None
                       else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        if self._neutral is None:
            p.setPen(QColor("#808080"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no AU")
            p.end()
            return
        s, ox, oy = self._transform()
        n = self._neutral * s + [ox, oy]
        m = (self._neutral + self.fraction * self._disp) * s + [ox, oy]
        p.setPen(QPen(OUTLINE_COLOR, 1.0))
        for idx, closed in OUTLINE:
            path = QPainterPath(QPointF(*n[idx[0]]))
            for i in idx[1:]:
                path.lineTo(QPointF(*n[i]))
            if closed:
                path.closeSubpath()
            p.drawPath(path)
        p.setPen(QPen(ARROW, 1.3))
        for i in range(N_POINTS):
            a, b = n[i], m[i]
            d = b - a
            length = float(np.hypot(*d))
            if length < 0.5:
                continue
            p.drawLine(QPointF(*a), QPointF(*b))
            u = d / length
            head = min(6.0, 0.5 * length)
            left = b - head * u + 0.5 * head * np.array([-u[1], u[0]])
            right = b - head * u - 0.5 * head * np.array([-u[1], u[0]])
            p.drawLine(QPointF(*b), QPointF(*left))
            p.drawLine(QPointF(*b), QPointF(*right))
        p.setPen(Qt.PenStyle.NoPen)
        for pts, color, r in ((m, MOVED, 2.5), (n, NEUTRAL, 2.5)):
            p.setBrush(color)
            for x, y in pts:
                p.drawEllipse(QPointF(x, y), r, r)
        p.setBrush(ARTIFACT)
        for i in sorted(self._artifacts):
            p.drawEllipse(QPointF(*n[i]), 6.0, 6.0)
        if self.show_numbers:
            font = p.font()
            font.setPointSizeF(7.0)
            p.setFont(font)
            p.setPen(QColor("#3a3a3a"))
            for i, (x, y) in enumerate(n):
                p.drawText(QPointF(x + 3.0, y - 3.0), str(i))
        if self.show_scale_bar:
            px = self.scale_bar_pixels()
            length = px * s
            y0 = self.height() - 14.0
            p.setPen(QPen(QColor("#202020"), 2.0))
            p.drawLine(QPointF(12.0, y0), QPointF(12.0 + length, y0))
            p.drawLine(QPointF(12.0, y0 - 4), QPointF(12.0, y0 + 4))
            p.drawLine(QPointF(12.0 + length, y0 - 4), QPointF(12.0 + length, y0 + 4))
            p.drawText(QPointF(18.0 + length, y0 + 4), f"{px:g} px (neutral image)")
        p.setPen(QColor("#606060"))
        p.drawText(QRectF(4, 2, self.width() - 8, 16), Qt.AlignmentFlag.AlignLeft,
                   "red: neutral  green: moved  blue: artifact")
        p.end()
