"""What every format reader returns before subject/sequence naming, and shared conversions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import LAYOUTS, expand_to_68
from dfecs_app.errors import InputError

#: The trackers' CSV formats (their readers drop frames without a usable face and give
#: :attr:`Parsed.file_rows`): each one's time column in seconds, None when it has none. Every
#: one names its frame column ``frame``.
TRACKER_TIME_COLUMNS: dict[str, str | None] = {
    "dfecs_track": "time_s", "openface": "timestamp", "pyfeat": None}


@dataclass
class Parsed:
    """Frames read from one file.

    Attributes
    ----------
    points : ndarray, shape (n, 68, 2)
    mask : ndarray of bool, shape (n, 68)
    frame : ndarray of int, shape (n,), or None
        Frame ids from the file; None for per-frame files (named from the path).
    subject, sequence : ndarray of str, shape (n,), or None
        Ids carried by the file itself (generic CSV/NPZ columns, OpenFace face_id).
    per_frame : bool
        True when the file holds one frame of a sequence spread over many files.
    notes : list of str
    file_rows : (ndarray of int64, ndarray of float64), each shape (n_rows,), or None
        A tracker's CSV (dfecs track, OpenFace, py-feat): the frame and time in seconds (NaN
        where the file has none) of every data row of the file, the rows dropped for want of
        a face included, in file order.
    """

    points: np.ndarray
    mask: np.ndarray
    frame: np.ndarray | None = None
    subject: np.ndarray | None = None
    sequence: np.ndarray | None = None
    per_frame: bool = False
    notes: list[str] = field(default_factory=list)
    file_rows: tuple[np.ndarray, np.ndarray] | None = None


def kept(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]`` (rows), without the copy when every row is kept."""
    return values if keep.all() else values[keep]


def interleaving(n_values: int) -> list[int]:
    """Positions that take planar ``[x0..xN-1, y0..yN-1]`` to ``[x0, y0, x1, y1, ...]``."""
    n = n_values // 2
    return [k for i in range(n) for k in (i, n + i)]


def interleaved_to_points(xy: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[x0, y0, x1, y1, ...]`` (n, 2N) of a source layout -> 68 layout + mask (for 68
    points a view of ``xy``: no copy)."""
    pts = xy.reshape(len(xy), len(LAYOUTS[layout]), 2)
    if layout == "68":
        return pts, np.ones(pts.shape[:2], dtype=bool)
    return expand_to_68(pts, layout)


def check_finite_interleaved(table, xy: np.ndarray, cols: list[int], rows: np.ndarray) -> None:
    """``table.check_finite`` of planar rows, given as ``[x0, y0, x1, y1, ...]``: the error
    names the value the planar check would name first."""
    try:
        table.check_finite(xy, [cols[k] for k in interleaving(len(cols))], rows=rows)
    except InputError:
        table.check_finite(np.concatenate([xy[:, 0::2], xy[:, 1::2]], axis=1), cols, rows=rows)
        raise


def planar_to_points(xy: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[x_0..x_{N-1}, y_0..y_{N-1}]`` (n, 2N) of a source layout -> 68 layout + mask."""
    n_pts = len(LAYOUTS[layout])
    pts = np.empty((len(xy), n_pts, 2))  # (np.stack copies element by element here: slow)
    pts[..., 0] = xy[:, :n_pts]
    pts[..., 1] = xy[:, n_pts:]
    if layout == "68":  # nothing to place: skip the copy through fancy indexing
        return pts, np.ones(pts.shape[:2], dtype=bool)
    return expand_to_68(pts, layout)


def guess_row_order(xy: np.ndarray, n_pts: int) -> str:
    """'planar' ``[x0..xN-1, y0..yN-1]`` or 'interleaved' ``[x0, y0, x1, y1, ...]``.

    Headerless rows do not say which. In the right reading, consecutive landmarks (which run
    along contours: jaw, brows, nose, eyes, lips) are close together relative to the size of
    the face; in the wrong one they jump about. The reading with the smaller median ratio of
    neighbour distance to face spread wins.
    """
    sample = xy[: min(len(xy), 200)]
    finite = np.isfinite(sample).all(axis=1)
    sample = sample[finite]
    if not len(sample):
        return "planar"
    planar = np.stack([sample[:, :n_pts], sample[:, n_pts:]], axis=-1)
    inter = sample.reshape(len(sample), n_pts, 2)

    def roughness(p: np.ndarray) -> float:
        step = np.linalg.norm(np.diff(p, axis=1), axis=-1).mean(axis=1)
        spread = np.sqrt(((p - p.mean(axis=1, keepdims=True)) ** 2).sum(-1).mean(axis=1))
        return float(np.median(step / np.maximum(spread, 1e-12)))

    return "planar" if roughness(planar) <= roughness(inter) else "interleaved"


def rows_to_points(xy: np.ndarray, layout: str, order: str) -> tuple[np.ndarray, np.ndarray]:
    """Headerless rows in ``order`` ('planar' or 'interleaved') -> 68 layout + mask."""
    if order == "interleaved":
        n_pts = len(LAYOUTS[layout])
        return expand_to_68(xy.reshape(len(xy), n_pts, 2), layout)
    return planar_to_points(xy, layout)


def drop_note(path: Path, dropped: np.ndarray, frames: np.ndarray, reason: str) -> str:
    """A note for the dropped rows ``dropped`` (bool, shape (n,)) of a file."""
    idx = np.flatnonzero(dropped)
    shown = ", ".join(str(int(f)) for f in frames[idx[:10]])
    more = f", ... ({idx.size - 10} more)" if idx.size > 10 else ""
    return (f"{path}: dropped {idx.size} of {dropped.size} frames ({reason}): "
            f"frames {shown}{more}")
