"""VE-vs-k and VE-vs-L1 curves (paper Fig. 5/7, SI Fig. 2) with matplotlib, no pyplot.

:func:`ve_curves_figure` draws one column per KPM set — VE vs the number of active AUs k
(top) and VE vs the L1 norm of the encoding (bottom), log x axes, one line per model — and
:func:`plot_curves` writes it as PNG, SVG or PDF (by the suffix, atomically, through
:func:`dfecs_app.render.arrows.save_figure`). ``dfecs evaluate --plot``, ``dfecs compare
--plot`` and the GUI's Evaluate-panel export all draw the figure here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dfecs_app.core.evaluation import EvaluationResult
from dfecs_app.errors import InputError
from dfecs_app.render.arrows import FIGURE_FORMATS, save_figure

__all__ = ["ve_curves_figure", "plot_curves", "check_figure_path", "curves_figure_bytes"]

#: One panel: its title and the (line label, evaluation result) of each model.
Panel = tuple[str, Sequence[tuple[str, EvaluationResult]]]


def ve_curves_figure(panels: Sequence[Panel], average: str = "mean") -> Figure:
    """The curves of every model on every KPM set.

    Parameters
    ----------
    panels : sequence of (title, [(label, EvaluationResult), ...])
        One column per KPM set. ``EvaluationResult.ve_vs_k`` (n, 2) rows ``[k, VE]`` with
        k ≥ 1 and ``ve_vs_l1`` rows ``[L1, VE]`` with L1 > 0 are drawn (log x).
    average : {'mean', 'pooled'}
        Which average the curves hold (the y-axis label).

    Returns
    -------
    Figure
        2 rows × ``len(panels)`` columns of axes.
    """
    ncol = max(len(panels), 1)
    fig = Figure(figsize=(4.2 * ncol, 7.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, ncol, squeeze=False)
    label = "mean VE (%)" if average == "mean" else "pooled VE (%)"
    for col, (title, lines) in enumerate(panels):
        ax_k, ax_l = axes[0, col], axes[1, col]
        for name, res in lines:
            k = res.ve_vs_k
            keep = k[:, 0] >= 1
            ax_k.plot(k[keep, 0], k[keep, 1], marker=".", label=name)
            t = res.ve_vs_l1
            keep = t[:, 0] > 0
            ax_l.plot(t[keep, 0], t[keep, 1], label=name)
        ax_k.set_xscale("log")
        ax_l.set_xscale("log")
        ax_k.set_title(title)
        ax_k.set_xlabel("number of active AUs k (k or fewer)")
        ax_l.set_xlabel("L1 norm of the encoding")
        for ax in (ax_k, ax_l):
            ax.set_ylabel(label)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
    return fig


def plot_curves(path: str | os.PathLike, panels: Sequence[Panel], average: str = "mean") -> Path:
    """Write :func:`ve_curves_figure` to ``path``: PNG (110 dpi), SVG or PDF by the suffix.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Unknown suffix (nothing is written).
    """
    return save_figure(ve_curves_figure(panels, average), path, dpi=110)


def check_figure_path(path: str | os.PathLike, option: str = "--plot") -> str:
    """The figure format of ``path`` by its suffix; InputError (naming ``option``) when
    there is none — checked before a run computes or writes anything."""
    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{option}: cannot save a figure as {path.suffix or 'a file without suffix'!r}; "
                         f"use one of {', '.join(FIGURE_FORMATS)}", path)
    return fmt


def curves_figure_bytes(path: str | os.PathLike, panels: Sequence[Panel], average: str = "mean") -> bytes:
    """:func:`ve_curves_figure` rendered in memory in the format of ``path``'s suffix (the file
    is not written), so a run can write all its outputs together."""
    import io

    fmt = check_figure_path(path)
    metadata = {"Date": None} if fmt == "svg" else ({"CreationDate": None} if fmt == "pdf" else None)
    buf = io.BytesIO()
    ve_curves_figure(panels, average).savefig(buf, format=fmt, dpi=110, metadata=metadata)
    return buf.getvalue()
