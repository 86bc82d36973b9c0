"""Image files: the one way the app reads a picture and writes one as PNG.

* :func:`read_image` reads any image OpenCV decodes (PNG, JPEG, BMP, TIFF, ...) as RGB
  ``uint8 (H, W, 3)``; grey and RGBA images are converted.
* :func:`write_image` writes an RGB(A) or grey ``uint8`` array as a pixel-exact PNG,
  atomically (:mod:`dfecs_app.io.atomic`).

Figures (arrow plots, curves) are written by :func:`dfecs_app.render.arrows.save_figure`;
:func:`dfecs_app.render.figures.save_image` embeds an image in SVG/PDF and writes PNGs here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dfecs_app.errors import InputError
from dfecs_app.io.atomic import write_bytes_atomic

__all__ = ["read_image", "write_image"]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB.

    Parameters
    ----------
    path : str or PathLike
        Any image OpenCV decodes (PNG, JPEG, BMP, TIFF, ...).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        RGB; grey and RGBA images are converted (alpha dropped).

    Raises
    ------
    InputError
        Missing or unreadable file, or not an image (naming the file).
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError("no such image file", path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # cv2.imread cannot open non-ASCII paths on Windows
    except OSError as err:
        raise InputError(f"cannot read the image ({err})", path) from err
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError("not an image OpenCV can read (PNG, JPEG, BMP, TIFF, ...)", path)
    return np.ascontiguousarray(image[:, :, ::-1])


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an image array as a pixel-exact PNG, atomically.

    Parameters
    ----------
    path : str or PathLike
        Must end in ``.png``.
    image : ndarray of uint8, shape (H, W), (H, W, 3) or (H, W, 4)
        Grey, RGB or RGBA.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        ``path`` does not end in ``.png``, or the PNG cannot be encoded.
    ValueError
        ``image`` is not a uint8 grey/RGB/RGBA array.
    """
    import cv2

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"cannot write an image as {path.suffix or 'a file without suffix'!r}; "
                         "use .png", path)
    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f"image must be uint8 (H, W) or (H, W, 3|4), got {img.dtype} {img.shape}")
    if img.ndim == 3:  # RGB(A) -> BGR(A)
        img = np.concatenate([img[:, :, 2::-1], img[:, :, 3:]], axis=2)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise InputError("could not encode the image as PNG", path)
    write_bytes_atomic(path, buf.tobytes())
    return path
