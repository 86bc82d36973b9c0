"""The state of a :class:`~dfecs_app.gui.document.ProjectDocument` as plain values.

:func:`document_state` is what "the project reopens whole" is tested against: every field the
user made, converted recursively — dataclasses (landmark tables, KPM sets, AU models,
evaluation results) field by field, arrays as ``[dtype, shape, sha256]``, dict keys as
strings, paths as strings. Files the project stored in its own sidecar folder are identified
by content, not by where they were written (an in-memory image has no path before the first
save and a sidecar path after it).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["document_state", "plain"]


def plain(value: Any) -> Any:
    """``value`` as JSON-like plain data; arrays as ``["array", dtype, shape, sha256]``."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        data = arr.astype(str).tobytes() if arr.dtype.kind in "OUS" else arr.tobytes()
        return ["array", arr.dtype.kind if arr.dtype.kind in "OUS" else str(arr.dtype),
                list(arr.shape), hashlib.sha256(data).hexdigest()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: {f.name: plain(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else repr(plain(k))): plain(v)
                for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def document_state(doc: Any) -> dict[str, Any]:
    """See :meth:`ProjectDocument.state_dict`."""
    from dfecs_app.io.project import sidecar_dir

    side = None if doc.path is None else sidecar_dir(doc.path)
    image_path = doc.neutral_image_path
    if image_path is not None and side is not None and side in Path(image_path).parents:
        image_path = None  # the in-memory image, stored by the project itself
    return plain({
        "name": doc.name,
        "datasets": {
            "paths": [str(Path(p).resolve()) for p in doc.data_paths],
            "format": doc.data_format,
            "table": doc.table,
            "neutral_rule": doc.neutral_rule,
            "neutral_overrides": doc.neutral_overrides,
            "frontalize": doc.frontalize,
            "anchors": doc.anchors,
        },
        "kpm": doc.kpm,
        "neutral_face": {"image": doc.neutral_image, "image_path": image_path,
                         "landmarks": doc.neutral_landmarks},
        "model": doc.model,
        "train_params": doc.train_params,
        "baselines": doc.baselines,
        "test_sets": doc.test_sets,
        "evaluation": doc.evaluation,
        "sessions": doc.sessions,
        "extra": doc.extra,
    })
