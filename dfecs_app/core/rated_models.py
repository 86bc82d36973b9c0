"""The AUs one rating session rates: one model, or several models shuffled together.

A blinded comparison session (beyond the paper) rates the AUs of two or more models — DFECS
and PCA, or two DFECS models (two trackers, two β) — in one list: every rater gets their own
random order over *all* AUs, and the rating screen names an AU only by a neutral label
(:func:`blind_labels`), so the rater cannot tell which model an AU comes from.

:class:`RatedModels` stands where a rating session expects an
:class:`~dfecs_app.core.aumodel.AUModel` (``names``, ``components``, ``n_components``, ``kind``,
``content_hash()``): the components are the models' AUs stacked in the order the models are
given, ``group[i]`` says which model AU ``i`` belongs to, and the names are
``"<label>: <AU name>"`` (the coordinator's view only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from dfecs_app.core.aumodel import AUModel

COMPARISON_KIND = "comparison"


@dataclass
class RatedModels:
    """Several AU models rated in one session.

    Attributes
    ----------
    labels : list of str, length m
        The coordinator's name of each model (unique), e.g. ``["DFECS", "PCA (8 PCs)"]``.
    models : list of AUModel, length m
    """

    labels: list[str]
    models: list[AUModel]

    def __post_init__(self) -> None:
        self.labels = [str(s).strip() for s in self.labels]
        if len(self.labels) != len(self.models) or len(self.models) < 2:
            raise ValueError("a comparison needs two or more models, one label each")
        if any(not s for s in self.labels) or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"model labels must be unique and non-empty, got {self.labels}")

    kind = COMPARISON_KIND

    @property
    def components(self) -> np.ndarray:
        """All AUs, shape ``(k, 136)``, model by model."""
        return np.vstack([m.components for m in self.models])

    @property
    def n_components(self) -> int:
        return sum(m.n_components for m in self.models)

    @property
    def names(self) -> list[str]:
        """``"<label>: <AU name>"`` for every AU (coordinator's view)."""
        return [f"{lab}: {n}" for lab, m in zip(self.labels, self.models) for n in m.names]

    @property
    def group(self) -> np.ndarray:
        """Model index of every AU, shape ``(k,)`` int."""
        return np.repeat(np.arange(len(self.models)), [m.n_components for m in self.models])

    def content_hash(self) -> str:
        """sha256 over the models' hashes and labels, in order."""
        h = hashlib.sha256(COMPARISON_KIND.encode())
        for lab, m in zip(self.labels, self.models):
            h.update(lab.encode("utf-8") + b"\0" + m.content_hash().encode())
        return h.hexdigest()

    def describe(self) -> list[dict]:
        """Per model: label, kind, content hash and its slice ``[start, stop)`` of the AUs."""
        out, start = [], 0
        for lab, m in zip(self.labels, self.models):
            out.append({"label": lab, "kind": m.kind, "hash": m.content_hash(),
                        "start": start, "stop": start + m.n_components})
            start += m.n_components
        return out


def blind_labels(n_components: int, seed: int) -> list[str]:
    """Neutral AU labels ``"AU 1".."AU k"`` assigned by a seeded permutation.

    Label numbers say nothing about the model (the stacking order is hidden) and are the same
    for every rater of the session, so coordinator and raters can talk about "AU 17".
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xB11D])
    perm = rng.permutation(n_components)
    return [f"AU {int(p) + 1}" for p in perm]
