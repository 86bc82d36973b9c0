"""Prepare landmarks with a recipe: the one road from landmark tracks to KPMs.

``dfecs kpm``, ``dfecs encode``, :func:`dfecs_app.encode`, the Evaluate panel and the Code
panel all call :func:`prepare_table` (or :func:`prepare_kpm`, which reads the files first), so
new data are made into KPMs exactly as a model's training KPMs were (:mod:`dfecs_app.core.recipe`).

The KPM set it returns records the preparation in its meta: ``options`` and ``frontalization``
(from :func:`dfecs_app.core.kpm.compute_kpm`), ``reader`` (reader options) and ``recipe`` (the
whole recipe as applied, with the sha256 of the frontalization weights actually loaded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from dfecs_app.core.geometry import standardized_mask
from dfecs_app.core.kpm import KPMSet, compute_kpm
from dfecs_app.core.landmarks import LandmarkTable
from dfecs_app.core.progress import TaskState
from dfecs_app.core.recipe import Recipe
from dfecs_app.errors import MissingResourceError
from dfecs_app.io.readers import read_landmarks
from dfecs_app.io.readers.openface import DEFAULT_MIN_CONFIDENCE


def reader_options(recipe: Recipe, format: str | None = None) -> dict[str, Any]:
    """Reader keyword arguments of a recipe: ``format`` (``format`` wins) and ``min_confidence``."""
    opts = recipe.reader or {}
    return {"format": format or str(opts.get("format", "auto")),
            "min_confidence": float(opts.get("min_confidence", DEFAULT_MIN_CONFIDENCE))}


def prepare_table(
    table: LandmarkTable,
    recipe: Recipe,
    *,
    frontalization_dir: str | os.PathLike | None = None,
    state: TaskState | None = None,
) -> KPMSet:
    """KPMs of ``table`` prepared as ``recipe`` says.

    Parameters
    ----------
    table : LandmarkTable
        n frames in the 68 layout.
    recipe : Recipe
    frontalization_dir : path, optional
        Folder of the frontalization weights (default search order of
        :mod:`dfecs_app.io.frontalization_weights`).
    state : TaskState, optional
        Progress ('kpm' stage) and cancellation.

    Returns
    -------
    KPMSet
        ``meta["recipe"]`` is the recipe as applied (weights sha256 of the files loaded).

    Raises
    ------
    InputError
        From :func:`dfecs_app.core.kpm.compute_kpm` (no usable frame, bad neutral, ...).
    MissingResourceError
        Frontalization weights unavailable.
    """
    weights = None
    if recipe.frontalize:
        try:
            # only the weights of frames the chosen anchors can register are needed
            usable = standardized_mask(table.mask, True, recipe.anchors).any(axis=1)
            from dfecs_app.io.frontalization_weights import load_frontalization_for

            weights = load_frontalization_for(table.mask[usable], directory=frontalization_dir)
        except MissingResourceError as err:
            raise MissingResourceError(f"frontalization weights unavailable: {err}") from None
    kpm = compute_kpm(table, neutral=recipe.neutral, frontalization=weights,
                      group_by=recipe.neutral_per, anchors=recipe.anchors, state=state)
    used = recipe.with_overrides(
        frontalization=None if weights is None else {k: w.sha256 for k, w in weights.items()})
    kpm.meta["reader"] = dict(recipe.reader)
    kpm.meta["recipe"] = used.to_dict()
    return kpm


def prepare_kpm(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    recipe: Recipe,
    *,
    format: str | None = None,
    errors: str = "raise",
    frontalization_dir: str | os.PathLike | None = None,
    read_state: TaskState | None = None,
    state: TaskState | None = None,
) -> tuple[KPMSet, LandmarkTable]:
    """Read landmark files (every reader format) and prepare them with ``recipe``.

    Parameters
    ----------
    inputs : path or paths
        Landmark files or folders.
    recipe : Recipe
    format : str, optional
        Force a reader format (default: the recipe's, normally 'auto').
    errors : {'raise', 'collect'}
        As :func:`dfecs_app.io.readers.read_landmarks`.
    frontalization_dir : path, optional
    read_state, state : TaskState, optional
        Progress of reading ('read') and of the KPM step ('kpm').

    Returns
    -------
    kpm : KPMSet
    table : LandmarkTable
        The frames read.
    """
    opts = reader_options(recipe, format)
    table = read_landmarks(inputs, format=opts["format"], progress=read_state, errors=errors,
                           min_confidence=opts["min_confidence"])
    kpm = prepare_table(table, recipe.with_overrides(reader=opts),
                        frontalization_dir=frontalization_dir, state=state)
    return kpm, table
