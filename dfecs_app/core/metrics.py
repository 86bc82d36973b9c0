"""Variance explained (§3.4), over present keypoints only.

``VE = 100 * (1 - ||Y - Ŷ||²_F / ||Y||²_F)``, the sums running over the entries whose keypoint
is present (the mask); missing keypoints (BP4D's jaw, DISFA's 60/64) take no part.
"""

from __future__ import annotations

import numpy as np

from dfecs_app.core.landmarks import N_FEATURES, N_POINTS, point_mask_to_feature_mask


def feature_mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Normalise a point mask ``(n, 68)`` or feature mask ``(n, 136)`` to a feature mask.

    Returns None when ``mask`` is None or all True (no masking needed).
    """
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape[-1] == N_POINTS and shape[-1] == N_FEATURES:
        mask = point_mask_to_feature_mask(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask of shape {mask.shape} does not fit data of shape {shape}")
    return None if mask.all() else mask


def variance_explained(Y: np.ndarray, Y_hat: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Percent variance explained of ``Y`` by ``Y_hat`` over present entries.

    Parameters
    ----------
    Y, Y_hat : ndarray, shape (n_samples, n_features)
    mask : ndarray of bool, shape (n_samples, 68) or (n_samples, n_features), optional

    Returns
    -------
    float
        ``100 * (1 - ||Y - Y_hat||² / ||Y||²)``; NaN when ``||Y||² = 0``.
    """
    Y = np.asarray(Y, dtype=np.float64)
    R = Y - np.asarray(Y_hat, dtype=np.float64)
    m = feature_mask(mask, Y.shape)
    if m is not None:
        Y = np.where(m, Y, 0.0)
        R = np.where(m, R, 0.0)
    total = float(np.einsum("ij,ij->", Y, Y))
    if total == 0.0:
        return float("nan")
    return 100.0 * (1.0 - float(np.einsum("ij,ij->", R, R)) / total)


def sample_variance_explained(
    Y: np.ndarray, Y_hat: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Per-sample percent VE, shape ``(n_samples,)`` (NaN for all-zero samples)."""
    Y = np.asarray(Y, dtype=np.float64)
    R = Y - np.asarray(Y_hat, dtype=np.float64)
    m = feature_mask(mask, Y.shape)
    if m is not None:
        Y = np.where(m, Y, 0.0)
        R = np.where(m, R, 0.0)
    total = np.einsum("ij,ij->i", Y, Y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (1.0 - np.einsum("ij,ij->i", R, R) / total)
