"""Export helpers: projected AU images to PNG/SVG/PDF and the SI Fig. 1 pair figure.

* :func:`save_image` writes an image array (a projected AU image) pixel for pixel as PNG
  (:func:`dfecs_app.io.images.write_image`), or embedded in an SVG/PDF of the same size,
  atomically.
* :func:`au_pair_figure` is SI Fig. 1: the projected AU image beside the KPM arrow plot on
  the neutral image — the large view of one AU and what a rater looks at.

Arrow plots and the AU grid are in :mod:`dfecs_app.render.arrows` (``save_figure`` writes
any figure).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dfecs_app.errors import InputError
from dfecs_app.io.images import write_image
from dfecs_app.render.arrows import FIGURE_FORMATS, draw_kpm_arrows, save_figure

__all__ = ["save_image", "au_pair_figure"]


def save_image(path: str | os.PathLike, image: np.ndarray, *, dpi: float = 100.0) -> Path:
    """Write an image array to ``path`` atomically; the format follows the suffix.

    Parameters
    ----------
    path : str or PathLike
        ``.png`` (pixel-exact), ``.svg`` or ``.pdf`` (the image embedded at its own size).
    image : ndarray of uint8, shape (H, W) or (H, W, 3|4)
        RGB(A) or grey.
    dpi : float
        Physical size of SVG/PDF pages: ``W / dpi`` inches wide.

    Returns
    -------
    Path
    """
    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot save an image as {path.suffix or 'a file without suffix'!r}; use "
                         f"one of {', '.join(FIGURE_FORMATS)}", path)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"image must be uint8 (H, W) or (H, W, 3|4), got {image.dtype} {image.shape}")
    if fmt == "png":
        return write_image(path, image)
    h, w = image.shape[:2]
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255,
              interpolation="none")
    ax.set_axis_off()
    return save_figure(fig, path)


def au_pair_figure(
    neutral_image: np.ndarray,
    neutral_points: np.ndarray,
    au: np.ndarray,
    projected_image: np.ndarray,
    *,
    scale: float = 1.0,
    artifacts: Iterable[int] = (),
    title: str | None = None,
    crop: float | None = 0.25,
    panel_size: float = 3.6,
    dpi: float = 100.0,
) -> Figure:
    """SI Fig. 1: the projected AU image (left) beside its KPM arrow plot on the neutral image.

    Parameters
    ----------
    neutral_image : ndarray of uint8, shape (H, W, 3)
    neutral_points : ndarray, shape (68, 2)
        Neutral landmarks, image coordinates.
    au : ndarray, shape (136,)
        The AU (standardized units).
    projected_image : ndarray of uint8, shape (H, W, 3)
        :func:`dfecs_app.render.morph.morph_au` of the same AU (at intensity ``scale``).
    scale : float
        Arrow scale (use the morph intensity so arrows end where the image moved).
    artifacts : iterable of int
        Keypoints marked as artifacts (blue dots).
    title : str, optional
        Figure title (e.g. the component name).
    crop : float or None
        Zoom margin around the face (:func:`~dfecs_app.render.arrows.draw_kpm_arrows`).

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(2 * panel_size, panel_size + (0.3 if title else 0.0)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_img = fig.add_subplot(1, 2, 1)
    ax_kpm = fig.add_subplot(1, 2, 2)
    draw_kpm_arrows(ax_kpm, neutral_points, au, scale=scale, image=neutral_image,
                           artifacts=artifacts, title="KPM", crop=crop)
    ax_img.imshow(projected_image, interpolation="antialiased")
    ax_img.set_xlim(ax_kpm.get_xlim())
    ax_img.set_ylim(ax_kpm.get_ylim())
    ax_img.set_aspect("equal")
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title("projected AU image", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
