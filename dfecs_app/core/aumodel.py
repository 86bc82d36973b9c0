"""An AU model: a matrix of Action Units as KPM vectors, whatever learned it.

DFECS (FFM), PCA and keypoint-FACS models all end as an :class:`AUModel`; encoding,
evaluation, plots, morphing and rating sessions only need this.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfecs_app.core.landmarks import N_FEATURES

MODEL_KINDS = ("dfecs", "pca", "facs")


@dataclass
class AUModel:
    """Action Units as rows of a ``(q, 136)`` matrix ``[x0..x67, y0..y67]``.

    Attributes
    ----------
    components : ndarray of float64, shape (q, 136)
        The AUs (DFECS: ``(U A)ᵀ``; PCA: ``[U, −U]ᵀ``; FACS: one KPM per AU).
    kind : {'dfecs', 'pca', 'facs'}
    names : list of str, length q
        Display names ("AU 1", "PC 2 (−ve)", "AU12 lip corner puller", ...).
    meta : dict
        JSON-serialisable details: hyperparameters per part, beta, VE, training data hash, ...
    arrays : dict of str -> ndarray
        Further numeric arrays worth keeping (``A``, part dictionaries ``U_<part>``, usage, ...).
    """

    components: np.ndarray
    kind: str
    names: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.components = np.asarray(self.components, dtype=np.float64)
        if self.components.ndim != 2 or self.components.shape[1] != N_FEATURES:
            raise ValueError(f"components must have shape (q, {N_FEATURES}), got {self.components.shape}")
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if not self.names:
            self.names = [default_name(self.kind, i, self.n_components) for i in range(self.n_components)]
        if len(self.names) != self.n_components:
            raise ValueError(f"{len(self.names)} names for {self.n_components} components")

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def content_hash(self) -> str:
        """sha256 of the components (and kind): identifies the model a rating session rates."""
        h = hashlib.sha256()
        h.update(self.kind.encode())
        h.update(np.ascontiguousarray(self.components, dtype="<f8").tobytes())
        return h.hexdigest()

    def to_json_meta(self) -> str:
        return json.dumps(self.meta, sort_keys=True)


def default_name(kind: str, i: int, q: int) -> str:
    """Default display name of component ``i`` of ``q``."""
    if kind == "pca" and q % 2 == 0:
        half = q // 2
        sign = "+ve" if i < half else "−ve"
        return f"Component {i % half + 1} ({sign})"
    return f"Component {i + 1}"


def data_hash(X: np.ndarray) -> str:
    """sha256 of a data matrix (float64, C order): records which data trained a model."""
    return hashlib.sha256(np.ascontiguousarray(X, dtype="<f8").tobytes()).hexdigest()
