"""Writing what the panels show that ``render`` does not: tables as CSV, live plots as PNG/SVG.

Arrow plots and the AU grid are saved with :func:`dfecs_app.render.arrows.save_figure`,
projected AU images with :func:`dfecs_app.render.figures.save_image` (PNGs through
:func:`dfecs_app.io.images.write_image`); this module covers the
VE table (CSV) and the pyqtgraph curve plots (PNG/SVG), atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QWidget

from dfecs_app.errors import InputError
from dfecs_app.io.atomic import atomic_open, write_bytes_atomic


def save_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write a CSV table (UTF-8, header first) atomically."""
    path = Path(path)
    with atomic_open(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(header))
        for row in rows:
            writer.writerow([_fmt(v) for v in row])
    return path


def save_plot_widget(path: str | os.PathLike, widget: QWidget) -> Path:
    """A plot widget as it is shown: PNG (the whole plot drawn at twice its size) or SVG
    (vector, rendered through ``QSvgGenerator``), written atomically."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
    from PySide6.QtGui import QPainter

    path = Path(path)
    suffix = path.suffix.lower()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if suffix == ".png":

        pix = _render_twice(widget)
        pix.save(buf, "PNG")
    elif suffix == ".svg":
        from PySide6.QtSvg import QSvgGenerator

        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        size = widget.size()
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRect(0, 0, size.width(), size.height()))
        gen.setTitle(widget.windowTitle() or path.stem)
        painter = QPainter(gen)
        widget.render(painter)
        painter.end()
    else:
        raise InputError(f"cannot save a plot as {suffix or 'a file without suffix'!r}; use "
                         ".png or .svg", path)
    data = bytes(QByteArray(buf.data()))
    buf.close()
    write_bytes_atomic(path, data)
    return path


def _render_twice(widget: QWidget) -> QPixmap:
    """``widget`` drawn at twice its size in logical pixels (the whole of it).

    A graphics view (every pyqtgraph plot) is re-rendered from its scene into the full target
    rectangle; ``QWidget.render`` into a pixmap with a device-pixel ratio draws such a view at
    1x device pixels, so only its top-left quarter would fill the image.
    """
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtWidgets import QGraphicsView

    size = widget.size()
    pix = QPixmap(size * 2)
    pix.fill()
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if isinstance(widget, QGraphicsView):
        widget.render(painter, QRectF(0, 0, 2 * size.width(), 2 * size.height()),
                      widget.viewport().rect())
    else:
        painter.drawPixmap(pix.rect(), widget.grab())
    painter.end()
    return pix


def _fmt(value: object) -> object:
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.6g}"
    return value


__all__ = ["save_csv", "save_plot_widget"]
