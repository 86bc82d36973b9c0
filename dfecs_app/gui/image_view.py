"""``ImageView``: an RGB image shown smoothly scaled to fit, cropped to a region of interest.

pyqtgraph's ImageItem draws pixels nearest-neighbour, which makes an upscaled face blocky;
projected AU images are looked at closely, so they get this plain, smoothly scaled label.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """An RGB ``uint8`` ``(h, w, 3)`` array as a QImage (copied)."""
    img = np.ascontiguousarray(np.asarray(image)[:, :, :3], dtype=np.uint8)
    h, w = img.shape[:2]
    return QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageView(QLabel):
    """Shows ``image[y0:y1, x0:x1]`` scaled (smoothly, keeping its aspect) to the widget.

    Methods
    -------
    set_image(image, box=None), clear_image(), pixmap_shown()
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("background: white;")
        self._source: QPixmap | None = None
        self.image: np.ndarray | None = None

    def set_image(self, image: np.ndarray, box: tuple[int, int, int, int] | None = None) -> None:
        """Show ``image`` (RGB uint8), cropped to ``box = (x0, y0, x1, y1)`` when given."""
        self.image = np.asarray(image)
        if box is not None:
            x0, y0, x1, y1 = box
            image = self.image[y0:y1, x0:x1]
        self._source = QPixmap.fromImage(to_qimage(image))
        self._rescale()

    def clear_image(self) -> None:
        self._source = None
        self.image = None
        self.clear()

    def _rescale(self) -> None:
        if self._source is None:
            return
        size = self.size() * self.devicePixelRatioF()
        pix = self._source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation)
        pix.setDevicePixelRatio(self.devicePixelRatioF())
        self.setPixmap(pix)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._rescale()

    def sizeHint(self) -> QSize:  # noqa: D102
        return QSize(400, 400)
