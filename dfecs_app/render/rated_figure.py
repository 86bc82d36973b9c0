"""The paper's Fig. 6 / Fig. 8 layout for rated AUs: for every AU its projected AU image above
its KPM arrow plot, the artifact keypoints as blue dots, the majority vote in the title."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dfecs_app.render.arrows import draw_kpm_arrows


def rated_au_figure(neutral_points: np.ndarray, components: np.ndarray,
                    images: Mapping[int, np.ndarray | None], titles: Sequence[str],
                    artifacts: Mapping[int, Sequence[int]] | None = None, *, ncols: int = 4,
                    panel_size: float = 2.2, dpi: float = 100.0) -> Figure:
    """Projected images (top) and arrow plots with blue artifact dots (bottom), AU by AU.

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints, image pixels.
    components : ndarray, shape (q, 136)
        The AUs already multiplied by their display intensity.
    images : mapping int -> ndarray (h, w, 3) uint8 or None
        Projected AU image of each AU (missing: the image cell says so).
    titles : sequence of str, length q
    artifacts : mapping int -> sequence of int, optional
        Blue-dot keypoints per AU.
    ncols : int
        AUs per row.

    Returns
    -------
    Figure
        ``2 · ceil(q / ncols)`` rows of axes.
    """
    comps = np.atleast_2d(np.asarray(components, dtype=float))
    q = comps.shape[0]
    ncols = max(1, min(int(ncols), q))
    nrows = math.ceil(q / ncols)
    fig = Figure(figsize=(ncols * panel_size, 2 * nrows * panel_size), dpi=dpi)
    FigureCanvasAgg(fig)
    arts = artifacts or {}
    for c in range(q):
        r, col = divmod(c, ncols)
        ax_img = fig.add_subplot(2 * nrows, ncols, 2 * r * ncols + col + 1)
        ax_kpm = fig.add_subplot(2 * nrows, ncols, (2 * r + 1) * ncols + col + 1)
        img = images.get(c)
        if img is not None:
            ax_img.imshow(np.asarray(img), interpolation="antialiased")
        else:
            ax_img.text(0.5, 0.5, "no image", ha="center", va="center", fontsize=8,
                        transform=ax_img.transAxes)
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_img.set_title(titles[c], fontsize=8)
        draw_kpm_arrows(ax_kpm, neutral_points, comps[c], artifacts=arts.get(c, ()),
                        marker_size=6.0)
    fig.tight_layout()
    return fig
