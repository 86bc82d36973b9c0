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
from dfecs_app.io.npz import open_npz

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
    npz = open_npz(path, "a DFECS model file")
    with npz:
        files = set(npz.files)
        for key in ("components", "meta"):
            if key not in files:
                raise InputError(f"missing array {key!r}: not a DFECS model file", path, field=key)
        try:
            meta = json.loads(str(npz["meta"]))
        except (ValueError, TypeError) as err:
            raise InputError(f"meta is not valid JSON ({err})", path, field="meta") from err
        if meta.get("format") != MODEL_FORMAT:
            raise InputError("not a DFECS model file (meta.format)", path, field="meta")
        version = meta.get("format_version")
        if version != MODEL_FORMAT_VERSION:
            raise FormatVersionError(
                f"model format version {version} is not supported (this app reads version "
                f"{MODEL_FORMAT_VERSION})", path, field="format_version")
        kind = meta.get("kind")
        if kind not in MODEL_KINDS:
            raise InputError(f"unknown model kind {kind!r}", path, field="kind")
        components = np.asarray(npz["components"], dtype=np.float64)
        if components.ndim != 2 or components.shape[1] != 136:
            raise InputError(f"components must be (q, 136), got {components.shape}", path,
                             field="components")
        if not np.isfinite(components).all():
            raise InputError("components contain NaN or inf", path, field="components")
        names = [str(s) for s in npz["names"]] if "names" in files else []
        arrays = {k[4:]: np.asarray(npz[k]) for k in npz.files if k.startswith("arr_")}
    for key in ("format", "format_version", "kind", "app_version"):
        meta.pop(key, None)
    try:
        return AUModel(components=components, kind=kind, names=names, meta=meta, arrays=arrays)
    except ValueError as err:
        raise InputError(str(err), path) from err
