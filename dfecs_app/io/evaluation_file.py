"""Evaluation results on disk: the Evaluate panel's VE curves and table, kept with a project.

One NPZ file (no pickles) holds a list of ``(model name, data name, EvaluationResult)``:

``meta``           str () — JSON: ``format`` ('dfecs-evaluation'), ``format_version`` (1),
                   ``app_version`` and ``results``, one object per result with its model and
                   data names and every scalar field of the result and of its curves
``r<i>.<field>``   float64 / int64 arrays of result ``i`` (``ve_vs_k``, ``ve_vs_l1``,
                   ``curves.ks``, ``curves.ve_k_mean``, ...)

:func:`load_results` returns results equal, field by field, to the saved ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.evaluation import EvaluationResult, PathCurves
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.atomic import save_npz_atomic
from dfecs_app.io.npz import open_npz

__all__ = ["EVALUATION_FORMAT", "EVALUATION_FORMAT_VERSION", "save_results", "load_results",
           "result_state"]

EVALUATION_FORMAT = "dfecs-evaluation"
EVALUATION_FORMAT_VERSION = 1
#: One evaluation: (model name, data name, result).
Record = tuple[str, str, EvaluationResult]


def _split(obj: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A result dataclass's scalars (JSON) and arrays (dotted names for nested dataclasses)."""
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            sub_s, sub_a = _split(value)
            scalars[f.name] = sub_s
            arrays.update({f"{f.name}.{k}": v for k, v in sub_a.items()})
        elif isinstance(value, np.ndarray):
            arrays[f.name] = value
        elif isinstance(value, (np.integer, np.floating)):
            scalars[f.name] = value.item()
        else:
            scalars[f.name] = value
    return scalars, arrays


def result_state(result: EvaluationResult) -> dict[str, Any]:
    """Every field of ``result`` as plain values (arrays as nested lists), for comparisons."""
    scalars, arrays = _split(result)
    return {"scalars": scalars, "arrays": {k: np.asarray(v).tolist() for k, v in sorted(arrays.items())}}


def save_results(path: str | os.PathLike, records: list[Record]) -> Path:
    """Write ``records`` to ``path`` (atomically); returns the path."""
    meta: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for i, (model, data, result) in enumerate(records):
        scalars, arr = _split(result)
        meta.append({"model": str(model), "data": str(data), "result": scalars})
        arrays.update({f"r{i}.{k}": v for k, v in arr.items()})
    header = {"format": EVALUATION_FORMAT, "format_version": EVALUATION_FORMAT_VERSION,
              "app_version": __version__, "results": meta}
    save_npz_atomic(path, meta=np.asarray(json.dumps(header, allow_nan=True)), **arrays)
    return Path(path)


def load_results(path: str | os.PathLike) -> list[Record]:
    """Read a file written by :func:`save_results`.

    Raises
    ------
    InputError
        Not such a file, or a missing or malformed field (named).
    FormatVersionError
        Written by another format version.
    """
    path = Path(path)
    with open_npz(path, "a DFECS evaluation file") as npz:
        arrays = {k: npz[k] for k in npz.files}
    try:
        header = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError) as err:
        raise InputError(f"not a DFECS evaluation file ({err})", path, field="meta") from None
    if not isinstance(header, dict) or header.get("format") != EVALUATION_FORMAT:
        raise InputError("not a DFECS evaluation file", path, field="meta.format")
    if header.get("format_version") != EVALUATION_FORMAT_VERSION:
        raise FormatVersionError(f"evaluation format version {header.get('format_version')!r} is "
                                 f"not supported (this app reads {EVALUATION_FORMAT_VERSION})",
                                 path, field="meta.format_version")
    out: list[Record] = []
    entries = header.get("results")
    if not isinstance(entries, list):
        raise InputError("must be a list", path, field="meta.results")
    for i, entry in enumerate(entries):
        try:
            scalars = dict(entry["result"])
            curves_s = dict(scalars.pop("curves"))

            def arr(name: str, i: int = i) -> np.ndarray:
                return arrays[f"r{i}.{name}"]

            curves = PathCurves(**curves_s, **{f.name: arr(f"curves.{f.name}")
                                               for f in dataclasses.fields(PathCurves)
                                               if f.name not in curves_s})
            result = EvaluationResult(**scalars, curves=curves,
                                      **{f.name: arr(f.name) for f in dataclasses.fields(EvaluationResult)
                                         if f.name not in scalars and f.name != "curves"})
            out.append((str(entry["model"]), str(entry["data"]), result))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"malformed result ({err})", path, field=f"meta.results[{i}]") from None
    return out


def curves_csv(rows: list[tuple[str, str, EvaluationResult]]) -> str:
    """CSV of the curves: ``model,data,curve,x,ve_mean,ve_pooled``."""
    out = ["model,data,curve,x,ve_mean,ve_pooled"]
    for model, data, res in rows:
        c = res.curves
        for k, vm, vp in zip(c.ks, c.ve_k_mean, c.ve_k_pooled):
            out.append(f"{model},{data},k,{int(k)},{vm:.6f},{vp:.6f}")
        for t, vm, vp in zip(c.l1, c.ve_l1_mean, c.ve_l1_pooled):
            out.append(f"{model},{data},l1,{t:.6g},{vm:.6f},{vp:.6f}")
    return "\n".join(out) + "\n"
