"""The intensity unit of the project's model, shared by the AUs, Projected AU images and
Rating panels (:mod:`dfecs_app.core.intensity`).

The unit comes from the model's ``au_stats`` when it has them, else from the project's KPMs
(the training data at hand), else the stated fallback; it is computed once per model and KPM
set.
"""

from __future__ import annotations

from typing import Any

from dfecs_app.core.intensity import IntensityUnit, intensity_unit

__all__ = ["document_unit", "unit_label"]

_CACHE: dict[tuple[int, int], IntensityUnit] = {}


def document_unit(document: Any) -> IntensityUnit | None:
    """The unit of ``document.model`` (None without a model)."""
    model = document.model
    if model is None:
        return None
    kpm = getattr(document, "kpm", None)
    key = (id(model), id(kpm))
    unit = _CACHE.get(key)
    if unit is None:
        X = None if kpm is None else kpm.X
        mask = None if kpm is None else kpm.mask
        unit = intensity_unit(model.components, model.meta, X, mask)
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = unit
    return unit


def unit_label(unit: IntensityUnit | None) -> str:
    """A short unit name for labels: ``× p95`` (with where p95 comes from)."""
    if unit is None:
        return ""
    return {"model": "× p95", "kpm": "× p95 (from the KPMs)",
            "default": "× fallback unit"}.get(unit.source, "")
