"""Checks of a neutral face (image + 68 landmarks) when it is loaded, before anything is
morphed: landmarks missing or outside the image, landmarks made for another image size, a
shape far from a face, a mirrored point order.

The shape test is the Procrustes disparity (:func:`scipy.spatial.procrustes`: both shapes
centred, scaled to unit Frobenius norm, optimally rotated; the residual sum of squares, 0 to 1)
between the landmarks and the schematic neutral face of :func:`dfecs_app.core.synthetic.
neutral_face`. Measured here: real 68-point faces give 0.016 (frontal) to 0.13 (a turned head,
``pts/breakingbad.pts``; the ``news_sample`` tracks at most 0.10), shuffled or part-swapped
points 0.48-0.97, a face stretched 3× sideways 0.27. :data:`MAX_DISPARITY` sits between.
"""

from __future__ import annotations

import numpy as np

from dfecs_app.core.landmarks import N_POINTS

__all__ = ["MAX_DISPARITY", "shape_disparity", "check_neutral_face"]

#: Procrustes disparity to the schematic face above which a shape is flagged.
MAX_DISPARITY = 0.2
#: A face narrower than this fraction of the image's smaller side is flagged.
MIN_FACE_FRACTION = 0.02


def shape_disparity(points: np.ndarray) -> float:
    """Procrustes disparity (0-1) between ``points`` (68, 2) and the schematic neutral face."""
    from scipy.spatial import procrustes

    from dfecs_app.core.synthetic import neutral_face

    _, _, disparity = procrustes(neutral_face(), np.asarray(points, dtype=np.float64))
    return float(disparity)


def _list(indices: np.ndarray) -> str:
    idx = [int(i) for i in indices]
    return ", ".join(str(i) for i in idx[:8]) + (f" and {len(idx) - 8} more" if len(idx) > 8 else "")


def check_neutral_face(points: np.ndarray | None, image_shape: tuple[int, ...] | None) -> list[str]:
    """Problems of a neutral face, one sentence each (empty: fine).

    Parameters
    ----------
    points : ndarray, shape (68, 2), or None
        Landmarks in image pixels (x, y), y down; NaN where missing.
    image_shape : tuple or None
        ``image.shape`` (height first).

    Returns
    -------
    list of str
        Each names the landmarks or numbers concerned.
    """
    if points is None:
        return []
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (N_POINTS, 2):
        return [f"the neutral face needs {N_POINTS} landmarks, got an array of shape {pts.shape}"]
    problems = []
    missing = np.flatnonzero(~np.isfinite(pts).all(axis=1))
    if len(missing):
        problems.append(f"landmarks {_list(missing)} are missing; a projected AU image needs all 68")
    ok = np.isfinite(pts).all(axis=1)
    if ok.sum() < 3:
        return problems
    p = pts[ok]
    if image_shape is not None:
        h, w = int(image_shape[0]), int(image_shape[1])
        outside = np.flatnonzero(ok & ((pts[:, 0] < 0) | (pts[:, 0] > w - 1)
                                       | (pts[:, 1] < 0) | (pts[:, 1] > h - 1)))
        if len(outside):
            span = p.max(axis=0)
            hint = ""
            if span[0] > w - 1 or span[1] > h - 1:
                hint = (f"; they reach x = {span[0]:.0f}, y = {span[1]:.0f}: were they made on a "
                        "larger image?")
            problems.append(f"landmarks {_list(outside)} lie outside the {w}×{h} image{hint}")
        width = float(np.ptp(p[:, 0]))
        if width < MIN_FACE_FRACTION * min(h, w):
            problems.append(f"the landmarks span only {width:.1f} px of a {w}×{h} image: landmarks "
                            "of another image size (or normalised coordinates)?")
    if ok.all():
        d = shape_disparity(pts)
        if d > MAX_DISPARITY:
            problems.append(f"the landmarks are far from a face shape (Procrustes distance {d:.2f} "
                            f"to the mean face; real faces stay below {MAX_DISPARITY:g}): wrong "
                            "point order or layout?")
        # mirrored order: the face's right eye (36-41) should be on the image's left of its
        # left eye (42-47) when the chin is below the eyes
        right, left = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
        down = pts[8] - (right + left) / 2
        across = left - right
        if across[0] * down[1] - across[1] * down[0] < 0:
            problems.append("the landmarks look mirrored (the right eye's points 36-41 lie on the "
                            "face's left): left/right swapped?")
    return problems
