"""KPM arrow plots (paper Fig. 3, Fig. 6, Fig. 8, SI Fig. 1) with matplotlib, no pyplot.

Neutral keypoints are red, the keypoints moved by the AU green, arrows go from each neutral
keypoint to its moved position, the face outline (:data:`~dfecs_app.core.landmarks.OUTLINE`)
is drawn thin and grey, and keypoints a rater marked as artifacts are blue dots (Fig. 8).
Axes have an equal aspect with y pointing down (image coordinates), optionally over the
neutral face image.

The arrows are computed by :func:`dfecs_app.core.projection.au_displacements` — the same
mapping from the standardized frame into the image that the projected AU images use — times
``scale`` (the GUI's shared scale slider).

Every function builds on :class:`matplotlib.figure.Figure` with a
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`: no global pyplot state, safe in
worker threads and beside Qt. A GUI may also call :func:`draw_kpm_arrows` on the axes of its
own canvas. Artists carry SVG ids (``gid``) ``face-outline-<i>``, ``neutral-keypoints``,
``kpm-arrows``, ``moved-keypoints`` and ``artifact-keypoints``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.quiver import Quiver

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.landmarks import N_FEATURES, N_POINTS, OUTLINE
from dfecs_app.core.projection import au_displacements
from dfecs_app.errors import InputError
from dfecs_app.io.atomic import atomic_open

__all__ = [
    "NEUTRAL_COLOR", "MOVED_COLOR", "ARTIFACT_COLOR", "OUTLINE_COLOR",
    "KpmArtists", "draw_kpm_arrows", "kpm_arrow_figure", "au_grid_figure", "save_figure",
    "FIGURE_FORMATS",
]

NEUTRAL_COLOR = "#e8141c"
MOVED_COLOR = "#19c819"
ARTIFACT_COLOR = "#1f3dff"
OUTLINE_COLOR = "#9a9a9a"
#: Arrow colour over an image / on a blank background.
ARROW_COLOR_ON_IMAGE = "#ffe000"
ARROW_COLOR = "#202020"
#: Displacements shorter than this (pixels) get no arrow.
MIN_ARROW_LENGTH = 1e-3
#: File suffixes :func:`save_figure` writes.
FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


@dataclass
class KpmArtists:
    """The artists :func:`draw_kpm_arrows` added (a GUI may update or remove them).

    Attributes
    ----------
    neutral, moved : PathCollection
        Red neutral keypoints and green moved keypoints (present keypoints only).
    arrows : Quiver
        One arrow per keypoint that moves (``arrows.N`` of them).
    outline : list of Line2D
        The face outline polylines through the neutral keypoints.
    artifacts : PathCollection or None
        Blue dots on the artifact keypoints.
    image : AxesImage or None
        The background image.
    moved_points : ndarray, shape (68, 2)
        Where the keypoints were moved to (neutral + scaled displacement).
    """

    neutral: PathCollection
    moved: PathCollection
    arrows: Quiver
    outline: list[Line2D] = field(default_factory=list)
    artifacts: PathCollection | None = None
    image: AxesImage | None = None
    moved_points: np.ndarray | None = None


def _face_limits(points: np.ndarray, margin: float, image_shape: tuple[int, ...] | None) -> tuple[float, float, float, float]:
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    pad = margin * max(float((hi - lo).max()), 1.0)
    x0, y0 = lo - pad
    x1, y1 = hi + pad
    if image_shape is not None:
        h, w = image_shape[:2]
        x0, y0 = max(x0, -0.5), max(y0, -0.5)
        x1, y1 = min(x1, w - 0.5), min(y1, h - 0.5)
    return float(x0), float(x1), float(y0), float(y1)


def draw_kpm_arrows(
    ax: Axes,
    neutral: np.ndarray,
    kpm: np.ndarray,
    *,
    scale: float = 1.0,
    image: np.ndarray | None = None,
    artifacts: Iterable[int] = (),
    title: str | None = None,
    mask: np.ndarray | None = None,
    crop: float | None = 0.25,
    marker_size: float = 9.0,
    arrow_width: float = 0.006,
    outline: bool = True,
) -> KpmArtists:
    """Draw one KPM arrow plot on ``ax`` (Fig. 3 / SI Fig. 1 style).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    neutral : ndarray, shape (68, 2)
        Neutral keypoints in image coordinates (x, y), y down.
    kpm : ndarray, shape (136,)
        The AU or KPM vector ``[x0..x67, y0..y67]`` in standardized units.
    scale : float
        Multiplier of the movement (shared scale slider).
    image : ndarray, shape (H, W) or (H, W, 3|4), optional
        Background (the neutral face image, or a projected AU image).
    artifacts : iterable of int
        Keypoint indices marked as non-interpretable movements: blue dots (Fig. 8).
    title : str, optional
    mask : ndarray of bool, shape (68,), optional
        Present neutral keypoints (missing ones are not drawn).
    crop : float or None
        Zoom to the face: the keypoints' bounding box grown by this fraction of the face size
        on each side (within the image). ``None`` shows the whole image (without an image:
        the bounding box with a 2 % margin).
    marker_size : float
        Keypoint marker area in points² (``scatter``'s ``s``).
    arrow_width : float
        Arrow shaft width as a fraction of the axes width.
    outline : bool
        Draw the face outline.

    Returns
    -------
    KpmArtists
    """
    neutral = np.asarray(neutral, dtype=np.float64)
    kpm = np.asarray(kpm, dtype=np.float64)
    if kpm.shape != (N_FEATURES,):
        raise ValueError(f"kpm must have shape ({N_FEATURES},), got {kpm.shape}")
    present = np.isfinite(neutral).all(axis=1)
    if mask is not None:
        present &= np.asarray(mask, dtype=bool).reshape(N_POINTS)
    disp = au_displacements(neutral, kpm, scale, mask=present)
    moved = neutral + disp

    img_artist = None
    if image is not None:
        image = np.asarray(image)
        img_artist = ax.imshow(image, cmap="gray" if image.ndim == 2 else None,
                               interpolation="antialiased", zorder=0)
    lines: list[Line2D] = []
    if outline:
        for idx, closed in OUTLINE:
            idx = [i for i in idx if present[i]]
            if len(idx) < 2:
                continue
            pts = neutral[idx + idx[:1] if closed else idx]
            (line,) = ax.plot(pts[:, 0], pts[:, 1], color=OUTLINE_COLOR, lw=0.6, zorder=1)
            line.set_gid(f"face-outline-{len(lines)}")
            lines.append(line)

    pts = neutral[present]
    # green under red: keypoints that do not move show red (neutral); arrows on top.
    neutral_art = ax.scatter(pts[:, 0], pts[:, 1], s=marker_size, c=NEUTRAL_COLOR, linewidths=0,
                             zorder=3)
    neutral_art.set_gid("neutral-keypoints")
    moving = present & (np.hypot(disp[:, 0], disp[:, 1]) > MIN_ARROW_LENGTH)
    arrow_color = ARROW_COLOR_ON_IMAGE if image is not None else ARROW_COLOR
    quiver = ax.quiver(neutral[moving, 0], neutral[moving, 1], disp[moving, 0], disp[moving, 1],
                       angles="xy", scale_units="xy", scale=1.0, color=arrow_color,
                       width=arrow_width, headwidth=3.5, headlength=4.0, headaxislength=3.5,
                       minlength=0.0, zorder=4)
    quiver.set_gid("kpm-arrows")
    mv = moved[present]
    moved_art = ax.scatter(mv[:, 0], mv[:, 1], s=marker_size, c=MOVED_COLOR, linewidths=0, zorder=2)
    moved_art.set_gid("moved-keypoints")

    art_artist = None
    art_idx = sorted({int(i) for i in artifacts})
    if art_idx:
        bad = [i for i in art_idx if not 0 <= i < N_POINTS]
        if bad:
            raise ValueError(f"artifact keypoint indices out of range 0-67: {bad}")
        ap = neutral[art_idx]
        art_artist = ax.scatter(ap[:, 0], ap[:, 1], s=marker_size * 3.0, c=ARTIFACT_COLOR,
                                linewidths=0, zorder=5)
        art_artist.set_gid("artifact-keypoints")

    shown = np.vstack([neutral[present], moved[present]])
    if crop is None and image is not None:
        h, w = image.shape[:2]
        x0, x1, y0, y1 = -0.5, w - 0.5, -0.5, h - 0.5
    else:
        x0, x1, y0, y1 = _face_limits(shown, crop or 0.02, None if image is None else image.shape)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # y down
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(image is None)
        spine.set_color("#d0d0d0")
    if title:
        ax.set_title(title, fontsize=9)
    return KpmArtists(neutral=neutral_art, moved=moved_art, arrows=quiver, outline=lines,
                      artifacts=art_artist, image=img_artist, moved_points=moved)


def _new_figure(figsize: tuple[float, float], dpi: float) -> Figure:
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def kpm_arrow_figure(
    neutral: np.ndarray,
    kpm: np.ndarray,
    *,
    scale: float = 1.0,
    image: np.ndarray | None = None,
    artifacts: Iterable[int] = (),
    title: str | None = None,
    figsize: tuple[float, float] = (4.0, 4.0),
    dpi: float = 100.0,
    **kwargs,
) -> Figure:
    """One KPM arrow plot as its own :class:`~matplotlib.figure.Figure` (Agg canvas).

    Parameters are those of :func:`draw_kpm_arrows` (``mask``, ``crop``, ``marker_size``, ...
    pass through ``kwargs``) plus the figure size in inches and its dpi.
    """
    fig = _new_figure(figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    draw_kpm_arrows(ax, neutral, kpm, scale=scale, image=image, artifacts=artifacts, title=title,
                    **kwargs)
    fig.tight_layout()
    return fig


def _per_component(value, q: int, what: str) -> list:
    """Normalise ``None`` / mapping / sequence of per-component values to a list of length q."""
    if value is None:
        return [None] * q
    if isinstance(value, Mapping):
        bad = [k for k in value if not 0 <= int(k) < q]
        if bad:
            raise ValueError(f"{what} given for components {bad} of a {q}-component model")
        return [value.get(i) for i in range(q)]
    value = list(value)
    if len(value) != q:
        raise ValueError(f"{len(value)} {what} for {q} components")
    return value


def au_grid_figure(
    model: AUModel,
    neutral: np.ndarray,
    *,
    scale: float = 1.0,
    ncols: int = 4,
    images: np.ndarray | Sequence[np.ndarray | None] | None = None,
    artifacts: Mapping[int, Iterable[int]] | Sequence[Iterable[int] | None] | None = None,
    order: Sequence[int] | None = None,
    titles: Sequence[str] | None = None,
    panel_size: float = 2.4,
    dpi: float = 100.0,
    suptitle: str | None = None,
    **kwargs,
) -> Figure:
    """The AU grid as one figure (Fig. 6 / Fig. 8): one KPM arrow plot per component.

    Parameters
    ----------
    model : AUModel
        ``model.components`` (q, 136) are drawn; ``model.names`` are the panel titles.
    neutral : ndarray, shape (68, 2)
        Neutral keypoints in image coordinates.
    scale : float
        Shared arrow scale.
    ncols : int
        Panels per row.
    images : ndarray or sequence of ndarray, optional
        One background image for every panel (the neutral face), or one per component
        (e.g. the projected AU images), indexed by component.
    artifacts : mapping or sequence, optional
        Per component (by index), the keypoints to mark with blue dots.
    order : sequence of int, optional
        Component indices in display order (default: the model's order, which models keep
        sorted by usage).
    titles : sequence of str, optional
        Panel titles by component (default ``model.names``).
    panel_size : float
        Width and height of one panel in inches.
    suptitle : str, optional
    **kwargs
        Passed to :func:`draw_kpm_arrows` (``crop``, ``marker_size``, ``mask``, ...).

    Returns
    -------
    Figure
    """
    q = model.n_components
    order = list(range(q)) if order is None else [int(i) for i in order]
    if any(not 0 <= i < q for i in order):
        raise ValueError(f"order holds indices outside 0..{q - 1}")
    if isinstance(images, np.ndarray) and images.ndim in (2, 3) and images.dtype != object:
        backgrounds = [images] * q
    else:
        backgrounds = _per_component(images, q, "images")
    marks = _per_component(artifacts, q, "artifact lists")
    names = list(model.names if titles is None else titles)
    if len(names) != q:
        raise ValueError(f"{len(names)} titles for {q} components")
    ncols = max(1, min(int(ncols), max(len(order), 1)))
    nrows = max(1, math.ceil(len(order) / ncols))
    fig = _new_figure((panel_size * ncols, panel_size * nrows + (0.4 if suptitle else 0.0)), dpi)
    kwargs.setdefault("marker_size", 5.0)
    for slot, comp in enumerate(order):
        ax = fig.add_subplot(nrows, ncols, slot + 1)
        draw_kpm_arrows(ax, neutral, model.components[comp], scale=scale, image=backgrounds[comp],
                        artifacts=marks[comp] or (), title=names[comp], **kwargs)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: float | None = None) -> Path:
    """Write ``fig`` to ``path`` atomically as PNG, SVG or PDF (chosen by the suffix).

    Parameters
    ----------
    fig : Figure
    path : str or PathLike
        Ends in ``.png``, ``.svg`` or ``.pdf``.
    dpi : float, optional
        Resolution of PNGs (default: the figure's).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Unknown suffix.
    """
    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot save a figure as {path.suffix or 'a file without suffix'!r}; use "
                         f"one of {', '.join(FIGURE_FORMATS)}", path)
    metadata = {"Date": None} if fmt == "svg" else ({"CreationDate": None} if fmt == "pdf" else None)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi if dpi is not None else "figure", metadata=metadata)
    return path
