"""KPM files: one NPZ per KPM matrix, no pickles.

Layout (``np.load(path, allow_pickle=False)`` reads it):

``X``         float64 (n, 136) — KPM rows ``[x0..x67, y0..y67]``, 0 where a point is missing
``mask``      bool (n, 68) — True where the keypoint's motion is known
``subject``   str (n,)
``sequence``  str (n,)
``frame``     int64 (n,)
``meta``      str () — JSON: ``format`` ('dfecs-kpm'), ``format_version``, ``app_version``,
              ``sources``, ``options``, neutral frames, notes

:func:`load_kpm` also reads what users have at hand: an NPY file holding X ``(n, 136)``, or an
NPZ with at least ``X`` (``mask`` defaults to all True, subject and sequence to the file's stem,
frame to 0..n-1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.landmarks import N_FEATURES, N_POINTS, point_mask_to_feature_mask
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.atomic import save_npz_atomic
from dfecs_app.io.npz import load_arrays
from dfecs_app.io.schema import LIMITS, validate
from dfecs_app.io.schemas import KPMMeta
from dfecs_app.io.textfile import parse_json_text

KPM_FORMAT = "dfecs-kpm"
KPM_FORMAT_VERSION = 1


def save_kpm(path: str | os.PathLike, kpmset: KPMSet) -> None:
    """Write ``kpmset`` to ``path`` atomically (an existing file is replaced only on success).

    The NPZ is not compressed: zlib gains < 2x on KPM matrices but is ~30x slower to write
    (9 s instead of 0.3 s for a BP4D-sized set of 136,000 rows).
    """
    meta = dict(kpmset.meta)
    meta.update(format=KPM_FORMAT, format_version=KPM_FORMAT_VERSION, app_version=__version__)
    try:
        meta_json = json.dumps(meta, sort_keys=True)
    except TypeError as err:
        raise ValueError(f"KPM meta is not JSON-serializable: {err}") from err
    save_npz_atomic(
        path,
        compressed=False,
        X=np.asarray(kpmset.X, dtype=np.float64),
        mask=np.asarray(kpmset.mask, dtype=bool),
        subject=np.asarray(kpmset.subject, dtype=str),
        sequence=np.asarray(kpmset.sequence, dtype=str),
        frame=np.asarray(kpmset.frame, dtype=np.int64),
        meta=np.asarray(meta_json),
    )


#: Written into the meta by :func:`save_kpm` and dropped again by :func:`load_kpm`.
_FILE_STAMPS = ("format", "format_version", "app_version")


def _open(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an NPZ, or ``{'X': array}`` of an NPY file (headers checked first)."""
    return load_arrays(path, "KPM file", allow_npy=True)


def _meta(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any] | None:
    if "meta" not in arrays:
        return None
    raw = arrays["meta"]
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise InputError("meta must be one JSON string", path, field="meta")
    meta = parse_json_text(str(raw), path, field="meta")
    if not isinstance(meta, dict):
        raise InputError("meta must be a JSON object", path, field="meta")
    version = meta.get("format_version", KPM_FORMAT_VERSION)
    if version != KPM_FORMAT_VERSION or isinstance(version, bool):
        raise FormatVersionError(
            f"KPM format version {str(version)[:20]} is not supported (this app reads version "
            f"{KPM_FORMAT_VERSION})", path, field="format_version")
    validate(KPMMeta, meta, path, prefix="meta")
    if meta.get("format", KPM_FORMAT) != KPM_FORMAT:
        raise InputError(f"not a KPM file (meta format {meta.get('format')!r})", path, field="meta")
    version = meta.get("format_version", KPM_FORMAT_VERSION)
    if version != KPM_FORMAT_VERSION:
        raise FormatVersionError(
            f"KPM format version {version} is not supported (this app reads version {KPM_FORMAT_VERSION})",
            path, field="format_version",
        )
    return meta


def _labels(arrays: dict[str, np.ndarray], name: str, n: int, default: str, path: Path) -> np.ndarray:
    if name not in arrays:
        return np.full(n, default)
    arr = arrays[name]
    if arr.dtype.kind not in "US" or arr.shape != (n,):
        raise InputError(f"must be {n} strings, got dtype {arr.dtype} shape {arr.shape}", path, field=name)
    return arr.astype(str)


def load_kpm(path: str | os.PathLike) -> KPMSet:
    """Read a KPM file (or a plain NPY/NPZ holding ``X``), checking every field.

    Returns
    -------
    KPMSet

    Raises
    ------
    InputError
        Not an NPZ/NPY, pickled contents, a missing ``X``, wrong shapes or dtypes, NaN/inf in
        ``X`` (the field is named).
    FormatVersionError
        Written by another KPM format version.
    """
    path = Path(path)
    arrays = _open(path)
    meta = _meta(arrays, path)
    if "X" not in arrays:
        raise InputError("missing array 'X' (the (n, 136) KPM matrix)", path, field="X")
    X = arrays["X"]
    if X.dtype.kind not in "fiu":
        raise InputError(f"must be numeric, got dtype {X.dtype}", path, field="X")
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise InputError(f"must have shape (n, {N_FEATURES}), got {X.shape}", path, field="X")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise InputError(f"NaN or inf in {int(bad.any(axis=1).sum())} row(s), first row {row}", path, field="X")
    if X.size and float(np.abs(X).max()) > LIMITS.magnitude:
        row = int(np.flatnonzero((np.abs(X) > LIMITS.magnitude).any(axis=1))[0])
        raise InputError(f"values beyond ±{LIMITS.magnitude:g} (first in row {row}): not KPMs",
                         path, field="X")
    n = X.shape[0]
    if "mask" in arrays:
        mask = arrays["mask"]
        if mask.shape != (n, N_POINTS):
            raise InputError(f"must have shape ({n}, {N_POINTS}), got {mask.shape}", path, field="mask")
        if mask.dtype != bool:
            if mask.dtype.kind not in "iu" or not np.isin(mask, (0, 1)).all():
                raise InputError(f"must be boolean, got dtype {mask.dtype}", path, field="mask")
            mask = mask.astype(bool)
        X[~point_mask_to_feature_mask(mask)] = 0.0
    else:
        mask = np.ones((n, N_POINTS), dtype=bool)
    subject = _labels(arrays, "subject", n, path.stem, path)
    sequence = _labels(arrays, "sequence", n, path.stem, path)
    if "frame" in arrays:
        frame = arrays["frame"]
        if frame.dtype.kind not in "iu" or frame.shape != (n,):
            raise InputError(f"must be {n} integers, got dtype {frame.dtype} shape {frame.shape}", path, field="frame")
    else:
        frame = np.arange(n)
    if meta is None:
        meta = {"format": "plain", "sources": [str(path)]}
    else:  # the file's stamps say how it was stored, not how the KPMs were made
        meta = {k: v for k, v in meta.items() if k not in _FILE_STAMPS}
    return KPMSet(X=X, mask=mask, subject=subject, sequence=sequence, frame=frame, meta=meta)
