"""The unit of AU intensity shared by arrow plots, projected AU images, the rating screen and
every export.

**Intensity 1 = this AU's 95th-percentile activation in the training data.** An AU ``k`` shown
at intensity ``s`` moves the keypoints by ``s · p95_k · component_k`` (standardized units,
mapped into the image by :mod:`dfecs_app.core.projection`), so intensity 1 is a typical strong
occurrence of the AU and intensities compare across AUs and models.

Where ``p95_k`` comes from, in order (:func:`intensity_unit` records which):

``"model"``
    ``model.meta["au_stats"]["p95_activation"]``, written at train time.
``"kpm"``
    Computed here from a KPM set at hand (the project's training KPMs, ``dfecs morph --kpm``):
    the 95th percentile of the AU's NNLS activation (α = 0) over the frames where it is active.
``"default"``
    Neither is available (older models, baselines without statistics): ``p95_k`` is the
    activation at which the AU's largest keypoint moves :data:`DEFAULT_MOVE` standardized
    units, 5 % of the 800-unit width of the registration face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfecs_app.core.landmarks import vec_to_points

__all__ = ["DEFAULT_MOVE", "DEFAULT_INTENSITY", "IntensityUnit", "intensity_unit", "kpm_p95"]

#: Largest keypoint move (standardized units) of the stated fallback unit.
DEFAULT_MOVE = 40.0
#: The intensity shown by default: a typical strong occurrence.
DEFAULT_INTENSITY = 1.0
#: Codes at most this fraction of a frame's largest code count as inactive.
_ACTIVE = 1e-6

_DEFINITIONS = {
    "model": "1 = the AU's 95th-percentile activation in the training data (model au_stats)",
    "kpm": "1 = the AU's 95th-percentile NNLS activation over active frames of {what}",
    "default": ("1 = the activation at which the AU's largest keypoint moves 40 standardized "
                "units (5 % of the registration face width); the model has no activation "
                "statistics"),
}


@dataclass(frozen=True)
class IntensityUnit:
    """Per-AU activation at intensity 1.

    Attributes
    ----------
    p95 : ndarray, shape (q,)
        Multiplier of each AU vector at intensity 1 (positive).
    source : {'model', 'kpm', 'default'}
    definition : str
        The sentence to put in a methods section or an export.
    """

    p95: np.ndarray
    source: str
    definition: str

    def scales(self, intensity: float | np.ndarray) -> np.ndarray:
        """Multipliers of the AU vectors at ``intensity`` (scalar or per AU): ``(q,)``."""
        return np.asarray(intensity, dtype=np.float64) * self.p95

    def to_json(self) -> dict:
        return {"unit_source": self.source, "unit_definition": self.definition,
                "p95_activation": [float(v) for v in self.p95]}


def _default_p95(components: np.ndarray) -> np.ndarray:
    moves = np.linalg.norm(vec_to_points(components), axis=-1).max(axis=1)
    return np.where(moves > 0, DEFAULT_MOVE / np.where(moves > 0, moves, 1.0), 1.0)


#: At most this many KPM frames (evenly spaced) are encoded for the percentile.
MAX_FRAMES = 50_000


def kpm_p95(X: np.ndarray, components: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """95th percentile of each AU's NNLS activation over the frames where it is active
    (at most :data:`MAX_FRAMES` evenly spaced frames are encoded: the GUI asks on its thread).

    Parameters
    ----------
    X : ndarray, shape (n, 136)
        KPMs (NaN where a keypoint is missing).
    components : ndarray, shape (q, 136)
    mask : ndarray of bool, shape (n, 68) or (n, 136), optional

    Returns
    -------
    ndarray, shape (q,)
        NaN for an AU never active.
    """
    from dfecs_app.core.encoding import encode

    X = np.asarray(X, dtype=np.float64)
    if len(X) > MAX_FRAMES:
        rows = np.linspace(0, len(X) - 1, MAX_FRAMES).astype(int)
        X = X[rows]
        mask = None if mask is None else np.asarray(mask)[rows]
    if mask is None and not np.isfinite(X).all():
        mask = np.isfinite(X)
    codes = encode(np.nan_to_num(X), components, 0.0, mask)
    out = np.full(codes.shape[1], np.nan)
    thresh = _ACTIVE * np.maximum(codes.max(axis=1, keepdims=True), 1e-300)
    for k in range(codes.shape[1]):
        active = codes[:, k][codes[:, k] > thresh[:, 0]]
        if len(active):
            out[k] = float(np.percentile(active, 95))
    return out


def intensity_unit(components: np.ndarray, meta: dict | None = None, X: np.ndarray | None = None,
                   mask: np.ndarray | None = None, kpm_name: str = "the project's KPMs"
                   ) -> IntensityUnit:
    """The intensity unit of a model's AUs (see the module docstring).

    Parameters
    ----------
    components : ndarray, shape (q, 136)
    meta : dict, optional
        The model's metadata (``meta["au_stats"]["p95_activation"]`` is used when it has one
        positive finite value per AU).
    X, mask : optional
        A KPM set to compute the unit from when the model has none.
    kpm_name : str
        How exports name that KPM set.
    """
    components = np.atleast_2d(np.asarray(components, dtype=np.float64))
    q = components.shape[0]
    default = _default_p95(components)
    stats = (meta or {}).get("au_stats") or {}
    p95 = stats.get("p95_activation") if isinstance(stats, dict) else None
    if p95 is not None:
        arr = np.asarray(p95, dtype=np.float64).ravel()
        if arr.shape == (q,) and np.isfinite(arr).all() and (arr > 0).all():
            return IntensityUnit(arr, "model", _DEFINITIONS["model"])
    if X is not None and len(X):
        arr = kpm_p95(X, components, mask)
        ok = np.isfinite(arr) & (arr > 0)
        definition = _DEFINITIONS["kpm"].format(what=kpm_name)
        if not ok.all():
            definition += (f"; AUs {', '.join(str(i + 1) for i in np.flatnonzero(~ok))} never "
                           "active there use the 40-unit fallback")
        return IntensityUnit(np.where(ok, arr, default), "kpm", definition)
    return IntensityUnit(default, "default", _DEFINITIONS["default"])
