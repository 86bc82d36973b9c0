"""Projecting AUs onto a neutral face (SI 7.1).

"A DFECS AU represented as a KPM vector is added to the keypoints of the neutral image,
resulting in projected AU keypoints." AUs live in the standardized frame of the affine
registration (§2.1; :data:`~dfecs_app.core.landmarks.AFFINE_TARGETS_68`, a face ~800 units
wide) while a neutral image's keypoints are in pixels. A displacement ``d`` in the standardized
frame is therefore mapped into the image with the linear part of the inverse of the neutral
face's own affine registration: if the registration is ``s = M p + t`` then the image
displacement is ``M⁻¹ d``. A face twice as large in the image gets arrows twice as long; a
rotated face gets rotated arrows.

This is the one place where arrow endpoints and morph targets are computed: plots
(:mod:`dfecs_app.render.arrows`) and projected AU images (:mod:`dfecs_app.render.morph`) both
call :func:`au_displacements` / :func:`project_au`.
"""

from __future__ import annotations

import numpy as np

from dfecs_app.core.geometry import affine_matrix
from dfecs_app.core.landmarks import N_POINTS, affine_targets_for, vec_to_points

__all__ = ["standardized_to_image_matrix", "au_displacements", "project_au", "project_aus",
           "face_width", "max_move_intensity"]


def _check_neutral(neutral_points: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(neutral_points, dtype=np.float64)
    if points.shape != (N_POINTS, 2):
        raise ValueError(f"neutral_points must have shape ({N_POINTS}, 2), got {points.shape}")
    finite = np.isfinite(points).all(axis=1)
    present = finite if mask is None else (np.asarray(mask, dtype=bool).reshape(N_POINTS) & finite)
    return points, present


def standardized_to_image_matrix(neutral_points: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The ``(2, 2)`` matrix mapping standardized-frame displacements to image displacements.

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints in image coordinates (x, y), y down.
    mask : ndarray of bool, shape (68,), optional
        Present keypoints (default: all finite points). The 68-point affine anchors are used
        when present, otherwise BP4D's jaw-free anchors (:func:`affine_targets_for`).

    Returns
    -------
    ndarray, shape (2, 2)
        ``M⁻¹`` where ``M`` is the linear part of the neutral face's affine registration;
        an image displacement is ``M⁻¹ @ d`` for a standardized displacement ``d``.

    Raises
    ------
    ValueError
        If the anchors are missing or degenerate (e.g. all at one point).
    """
    points, present = _check_neutral(neutral_points, mask)
    anchors = list(affine_targets_for(present))
    if not present[anchors].all():
        raise ValueError(f"the neutral face lacks affine anchor keypoints {sorted(anchors)}")
    # the linear part of the registration s = M p + t (the one implementation of §2.1's step)
    linear = affine_matrix(points[None], present[None])[0, :, :2]
    if not np.isfinite(linear).all() or abs(np.linalg.det(linear)) < 1e-12:
        raise ValueError("the neutral face's affine anchors are degenerate (collinear or coincident)")
    return np.linalg.inv(linear)


def au_displacements(
    neutral_points: np.ndarray,
    aus: np.ndarray,
    intensity: float | np.ndarray = 1.0,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Image-space keypoint displacements of one or many AUs on a neutral face.

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints in image coordinates.
    aus : ndarray, shape (136,) or (q, 136)
        AUs as KPM vectors ``[x0..x67, y0..y67]`` in standardized units. NaN entries count as 0.
    intensity : float or ndarray of shape (q,)
        Multiplier of each AU (the GUI's intensity / scale slider).
    mask : ndarray of bool, shape (68,), optional
        Present neutral keypoints; missing (or non-finite) ones get a zero displacement.

    Returns
    -------
    ndarray, shape (68, 2) or (q, 68, 2)
        Displacement of each keypoint in pixels, ``(dx, dy)``, y down.
    """
    _, present = _check_neutral(neutral_points, mask)
    aus = np.asarray(aus, dtype=np.float64)
    single = aus.ndim == 1
    aus2 = np.atleast_2d(aus)
    if aus2.ndim != 2 or aus2.shape[1] != 2 * N_POINTS:
        raise ValueError(f"aus must have shape (136,) or (q, 136), got {aus.shape}")
    inv = standardized_to_image_matrix(neutral_points, present)
    d = np.nan_to_num(vec_to_points(aus2), nan=0.0, posinf=0.0, neginf=0.0)  # (q, 68, 2)
    scale = np.asarray(intensity, dtype=np.float64).reshape(-1, 1, 1)
    disp = (d @ inv.T) * scale
    disp[:, ~present] = 0.0
    return disp[0] if single else disp


def project_au(
    neutral_points: np.ndarray,
    au: np.ndarray,
    intensity: float = 1.0,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Projected AU keypoints: the neutral keypoints moved by one AU (SI 7.1).

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints in image coordinates (x, y), y down.
    au : ndarray, shape (136,)
        The AU as a KPM vector ``[x0..x67, y0..y67]`` in standardized units.
    intensity : float
        Multiplier of the AU.
    mask : ndarray of bool, shape (68,), optional
        Present neutral keypoints; missing ones stay put.

    Returns
    -------
    ndarray of float64, shape (68, 2)
        ``neutral_points + intensity * M⁻¹ d`` per keypoint (see the module docstring).

    Examples
    --------
    >>> from dfecs_app.core.landmarks import AFFINE_TARGETS_68
    >>> import numpy as np
    >>> face = np.zeros((68, 2)); face[list(AFFINE_TARGETS_68)] = list(AFFINE_TARGETS_68.values())
    >>> face = face / 4.0  # the standardized face shrunk 4x: the image face is 200 px wide
    >>> au = np.zeros(136); au[48] = -40.0  # left-of-image lip corner moves 40 units left
    >>> project_au(face, au)[48].round(6).tolist()
    [-10.0, -0.0]
    """
    points = np.asarray(neutral_points, dtype=np.float64)
    au = np.asarray(au, dtype=np.float64)
    if au.shape != (2 * N_POINTS,):
        raise ValueError(f"au must have shape (136,), got {au.shape}")
    return points + au_displacements(points, au, intensity, mask=mask)


def project_aus(
    neutral_points: np.ndarray,
    components: np.ndarray,
    intensity: float | np.ndarray = 1.0,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`project_au` for every row of ``components`` (q, 136) -> ``(q, 68, 2)``."""
    points = np.asarray(neutral_points, dtype=np.float64)
    components = np.asarray(components, dtype=np.float64)
    if components.ndim != 2:
        raise ValueError(f"components must have shape (q, 136), got {components.shape}")
    return points[None] + au_displacements(points, components, intensity, mask=mask)


def face_width(neutral_points: np.ndarray) -> float:
    """The face width in pixels: the horizontal extent of the 68 keypoints (jaw to jaw)."""
    points = np.asarray(neutral_points, dtype=np.float64)
    return float(np.nanmax(points[:, 0]) - np.nanmin(points[:, 0]))


def max_move_intensity(neutral_points: np.ndarray, components: np.ndarray,
                       fraction: float) -> np.ndarray:
    """Per-AU multiplier so that each AU's largest keypoint move is ``fraction`` × face width.

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints (pixels).
    components : ndarray, shape (q, 136)
        AUs in standardized units.
    fraction : float
        Largest move as a fraction of :func:`face_width`.

    Returns
    -------
    ndarray, shape (q,)
        Multipliers of the AU vectors (0 for an all-zero AU).
    """
    comps = np.atleast_2d(np.asarray(components, dtype=np.float64))
    moves = np.linalg.norm(au_displacements(neutral_points, comps), axis=-1).max(axis=1)
    width = face_width(neutral_points) or 1.0
    return np.where(moves > 0, float(fraction) * width / np.where(moves > 0, moves, 1.0), 0.0)
