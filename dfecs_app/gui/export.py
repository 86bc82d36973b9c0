"""Writing what the panels show: images as PNG/SVG, tables as CSV — atomically.

Figures drawn by :mod:`dfecs_app.render.arrows` are saved with its ``save_figure``; this module
covers the rest (raster AU images, curve and VE tables, pyqtgraph plots).
"""

from __future__ import annotations

import base64
import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dfecs_app.errors import InputError
from dfecs_app.io.atomic import atomic_open, write_bytes_atomic, write_text_atomic

IMAGE_FORMATS = (".png", ".svg")


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of an RGB(A) or grey ``uint8`` image ``(h, w[, c])``."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"images must be uint8, got {image.dtype}", field="image")
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[:, :, ::-1]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise InputError("could not encode the image as PNG", field="image")
    return buf.tobytes()


def save_image(path: str | os.PathLike, image: np.ndarray, title: str = "") -> Path:
    """Save an image as ``.png`` or as ``.svg`` (the PNG embedded, so it scales in documents)."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = png_bytes(image)
    if suffix == ".png":
        write_bytes_atomic(path, data)
    elif suffix == ".svg":
        h, w = np.asarray(image).shape[:2]
        b64 = base64.b64encode(data).decode("ascii")
        title_el = f"<title>{_xml_escape(title)}</title>" if title else ""
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" '
               f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" '
               f'viewBox="0 0 {w} {h}">{title_el}'
               f'<image width="{w}" height="{h}" xlink:href="data:image/png;base64,{b64}"/></svg>\n')
        write_text_atomic(path, svg)
    else:
        raise InputError(f"cannot save an image as {suffix or 'a file without suffix'!r}; use "
                         ".png or .svg", path)
    return path


def save_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write a CSV table (UTF-8, header first) atomically."""
    path = Path(path)
    with atomic_open(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(header))
        for row in rows:
            writer.writerow([_fmt(v) for v in row])
    return path


def save_plot_widget(path: str | os.PathLike, plot_item) -> Path:  # noqa: ANN001 - pg item
    """Export a pyqtgraph plot (PlotItem or scene) to PNG or SVG through pyqtgraph's exporters."""
    import pyqtgraph.exporters as pge

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        exporter = pge.ImageExporter(plot_item)
        exporter.parameters()["width"] = max(800, int(plot_item.sceneBoundingRect().width()) * 2)
        image = exporter.export(toBytes=True)
        from PySide6.QtCore import QBuffer, QIODevice

        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        write_bytes_atomic(path, bytes(buf.data()))
    elif suffix == ".svg":
        exporter = pge.SVGExporter(plot_item)
        svg = exporter.export(toBytes=True)
        write_bytes_atomic(path, bytes(svg) if not isinstance(svg, str) else svg.encode())
    else:
        raise InputError(f"cannot save a plot as {suffix or 'a file without suffix'!r}; use "
                         ".png or .svg", path)
    return path


def _fmt(value: object) -> object:
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.6g}"
    return value


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


__all__ = ["save_image", "save_csv", "save_plot_widget", "png_bytes", "IMAGE_FORMATS"]
