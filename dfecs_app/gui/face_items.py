"""pyqtgraph items drawing faces: outline, keypoints and KPM arrows (Fig. 3 / SI Fig. 1 style).

Arrow geometry (where each arrow starts and ends) is not computed here: callers pass the
neutral keypoints and the moved keypoints. Arrows and outline are each a single
``PlotDataItem(connect="pairs")``, so a grid of 30 faces stays cheap to draw.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from dfecs_app.core.landmarks import OUTLINE

NEUTRAL_COLOR = (220, 40, 40)
MOVED_COLOR = (20, 160, 40)
ARROW_COLOR = (30, 30, 30)
OUTLINE_COLOR = (150, 150, 150)


def face_plot_widget(title: str | None = None) -> pg.PlotWidget:
    """A white plot for faces in image coordinates: y down, equal aspect, no axes."""
    widget = pg.PlotWidget(title=title)
    widget.setBackground("w")
    item = widget.getPlotItem()
    item.invertY(True)
    item.setAspectLocked(True)
    item.hideAxis("left")
    item.hideAxis("bottom")
    return widget


def outline_segments(points: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Line segments of the face outline, ``(2 s, 2)`` (pairs of endpoints).

    Parameters
    ----------
    points : ndarray, shape (68, 2)
    mask : ndarray of bool, shape (68,), optional
        Segments touching a missing point are left out.
    """
    present = np.ones(len(points), bool) if mask is None else np.asarray(mask, bool)
    segs = []
    for idx, closed in OUTLINE:
        chain = list(idx) + ([idx[0]] if closed else [])
        for a, b in zip(chain[:-1], chain[1:]):
            if present[a] and present[b]:
                segs.append((points[a], points[b]))
    if not segs:
        return np.zeros((0, 2))
    return np.asarray(segs, dtype=float).reshape(-1, 2)


def arrow_segments(start: np.ndarray, end: np.ndarray, head: float = 0.3,
                   min_length: float = 1e-9) -> np.ndarray:
    """Segments of arrows from ``start`` to ``end`` with two-stroke heads, ``(6 m, 2)``.

    Parameters
    ----------
    start, end : ndarray, shape (m, 2)
    head : float
        Head length as a fraction of the arrow length.
    """
    start = np.asarray(start, float)
    end = np.asarray(end, float)
    d = end - start
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > min_length
    start, end, d, length = start[keep], end[keep], d[keep], length[keep]
    if len(start) == 0:
        return np.zeros((0, 2))
    u = d / length[:, None]
    h = (head * length)[:, None]
    c, s = np.cos(np.radians(25)), np.sin(np.radians(25))
    left = np.column_stack([u[:, 0] * c - u[:, 1] * s, u[:, 0] * s + u[:, 1] * c])
    right = np.column_stack([u[:, 0] * c + u[:, 1] * s, -u[:, 0] * s + u[:, 1] * c])
    segs = np.stack([start, end, end, end - h * left, end, end - h * right], axis=1)
    return segs.reshape(-1, 2)


def _pairs_item(color: tuple[int, int, int], width: float = 1.0) -> pg.PlotDataItem:
    return pg.PlotDataItem(pen=pg.mkPen(color=color, width=width), connect="pairs",
                           antialias=True)


class FaceItems:
    """Outline + keypoints (+ optional arrows) added to one pyqtgraph PlotItem/ViewBox.

    Parameters
    ----------
    plot : pg.PlotItem or pg.ViewBox
    point_size : float
    """

    def __init__(self, plot: pg.PlotItem | pg.ViewBox, point_size: float = 4.0,
                 outline: bool = True) -> None:
        self.outline = _pairs_item(OUTLINE_COLOR, 1.0) if outline else None
        self.arrows = _pairs_item(ARROW_COLOR, 1.2)
        self.neutral = pg.ScatterPlotItem(size=point_size, pen=None,
                                          brush=pg.mkBrush(*NEUTRAL_COLOR))
        self.moved = pg.ScatterPlotItem(size=point_size, pen=None, brush=pg.mkBrush(*MOVED_COLOR))
        # moved (green) under neutral (red): a keypoint that does not move shows red
        for item in (self.outline, self.arrows, self.moved, self.neutral):
            if item is not None:
                plot.addItem(item)

    def set_face(self, points: np.ndarray | None, mask: np.ndarray | None = None,
                 moved: np.ndarray | None = None) -> None:
        """Show ``points`` (68, 2) and, when given, ``moved`` (68, 2) with arrows between."""
        if points is None:
            for item in (self.outline, self.arrows):
                if item is not None:
                    item.setData([], [])
            self.neutral.setData([], [])
            self.moved.setData([], [])
            return
        present = np.ones(len(points), bool) if mask is None else np.asarray(mask, bool)
        if self.outline is not None:
            seg = outline_segments(points, present)
            self.outline.setData(seg[:, 0], seg[:, 1])
        self.neutral.setData(points[present, 0], points[present, 1])
        if moved is None:
            self.moved.setData([], [])
            self.arrows.setData([], [])
            return
        self.moved.setData(moved[present, 0], moved[present, 1])
        seg = arrow_segments(points[present], moved[present])
        self.arrows.setData(seg[:, 0], seg[:, 1]) if len(seg) else self.arrows.setData([], [])
