"""Model files: one NPZ per AU model, no pickles.

Layout (``np.load(path, allow_pickle=False)`` reads it):

``components``  float64 (q, 136) — the AUs as rows ``[x0..x67, y0..y67]``
``names``       str (q,)
``meta``        str () — JSON: ``format_version``, ``kind``, ``app_version`` and the model's meta
``arr_<name>``  any further numeric arrays (``arr_A``, ``arr_U_lips``, ...)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.aumodel import MODEL_KINDS, AUModel
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.atomic import save_npz_atomic
from dfecs_app.io.npz import load_arrays
from dfecs_app.io.schema import LIMITS, validate
from dfecs_app.io.schemas import ModelMeta
from dfecs_app.io.textfile import parse_json_text

MODEL_FORMAT = "dfecs-model"
MODEL_FORMAT_VERSION = 1


def save_model(path: str | os.PathLike, model: AUModel) -> None:
    """Write ``model`` to ``path`` atomically."""
    meta = dict(model.meta)
    meta.update(format=MODEL_FORMAT, format_version=MODEL_FORMAT_VERSION, kind=model.kind,
                app_version=__version__)
    arrays = {f"arr_{k}": np.asarray(v) for k, v in model.arrays.items()}
    save_npz_atomic(
        path,
        components=model.components,
        names=np.asarray(model.names, dtype=str),
        meta=np.asarray(json.dumps(meta, sort_keys=True)),
        **arrays,
    )


def load_model(path: str | os.PathLike) -> AUModel:
    """Read a model file, checking its format version and contents.

    Raises
    ------
    InputError
        Not a readable NPZ, missing or malformed fields (named).
    FormatVersionError
        Written by another format version.
    """
    path = Path(path)
    arrays = load_arrays(path, "DFECS model file")
    for key in ("components", "meta"):
        if key not in arrays:
            raise InputError(f"missing array {key!r}: not a DFECS model file", path, field=key)
    raw = arrays["meta"]
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise InputError("must be one JSON string", path, field="meta")
    meta = parse_json_text(str(raw), path, field="meta")
    if not isinstance(meta, dict):
        raise InputError(f"must be a JSON object, got {type(meta).__name__}", path, field="meta")
    if meta.get("format") != MODEL_FORMAT:
        raise InputError("not a DFECS model file (meta.format)", path, field="meta")
    version = meta.get("format_version")
    if version != MODEL_FORMAT_VERSION or isinstance(version, bool):
        raise FormatVersionError(
            f"model format version {str(version)[:20]} is not supported (this app reads version "
            f"{MODEL_FORMAT_VERSION})", path, field="format_version")
    validate(ModelMeta, meta, path, prefix="meta")
    kind = meta["kind"]
    if kind not in MODEL_KINDS:
        raise InputError(f"unknown model kind {kind[:40]!r}", path, field="kind")
    raw_c = arrays["components"]
    if raw_c.dtype.kind not in "fiu":
        raise InputError(f"must be real numbers, got dtype {raw_c.dtype}", path,
                         field="components")
    components = raw_c.astype(np.float64)
    if components.ndim != 2 or components.shape[1] != 136 or components.shape[0] < 1:
        raise InputError(f"components must be (q, 136) with q >= 1, got {components.shape}",
                         path, field="components")
    if components.shape[0] > LIMITS.components:
        raise InputError(f"{components.shape[0]} components (at most {LIMITS.components})",
                         path, field="components")
    if not np.isfinite(components).all():
        raise InputError("components contain NaN or inf", path, field="components")
    if float(np.abs(components).max()) > LIMITS.magnitude:
        raise InputError(f"components beyond ±{LIMITS.magnitude:g}: not AUs", path,
                         field="components")
    names: list[str] = []
    if "names" in arrays:
        raw_n = arrays["names"]
        if raw_n.dtype.kind not in "US" or raw_n.shape != (components.shape[0],):
            raise InputError(f"must be {components.shape[0]} strings, got dtype {raw_n.dtype} "
                             f"shape {raw_n.shape}", path, field="names")
        names = [str(s) for s in raw_n.astype(str)]
    extra = {}
    for k, v in arrays.items():
        if k.startswith("arr_"):
            if v.dtype.hasobject or v.dtype.kind not in "fiubUS":
                raise InputError(f"must be numbers or strings, got dtype {v.dtype}", path,
                                 field=k)
            extra[k[4:]] = v
    for key in ("format", "format_version", "kind", "app_version"):
        meta.pop(key, None)
    try:
        return AUModel(components=components, kind=kind, names=names, meta=meta, arrays=extra)
    except ValueError as err:
        raise InputError(str(err), path) from err
