"""Keypoint Motion (KPM) vectors of §2.2: standardized frame minus the standardized neutral frame.

A KPM row is ``[x0..x67, y0..y67]`` (``landmarks.points_to_vec``) in the units of the authors'
registration targets (jaw anchors 800 apart). Per group — by default a subject with all of its
sequences, as §2.2 defines KPMs ("the neutral frame ... of the same subject"); optionally each
sequence on its own (``group_by="sequence"``, e.g. when a subject's sessions differ in camera
or tracker) — the standardized neutral frame is subtracted from every standardized frame of
the group, the neutral frame itself included (a zero row). A point missing in a frame, or in
its group's neutral frame, is 0 in ``X`` and False in ``mask``.

Choosing the neutral frame
--------------------------
``"first"``
    The frame with the smallest frame id of the group (CK+ convention: sequences start neutral;
    per subject, ties between sequences go to the first in table order).
``int N``
    The frame whose id is ``N`` (with ``group_by="subject"``: the first such row of the
    subject, in table order).
``"auto"``
    The least expressive frame, taken as the frame whose standardized shape is closest (RMS
    over the points present in both) to the group's coordinate-wise median shape. The median is
    robust: as long as more than half of a group's frames are near-neutral (spontaneous
    recordings such as DISFA, BP4D or a user's own video), it lies among them, and the frame
    closest to it is the most typical resting face rather than a noisy or expressive one. For
    posed onset-to-apex sequences (CK+), where half the frames are expressive, use ``"first"``.
``neutral_overrides``
    ``{(subject, sequence): frame_id}`` picks the neutral of the group containing that frame
    explicitly (the GUI's per-subject choice); it wins over the rule above.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfecs_app.core._cd import single_blas_thread
from dfecs_app.core._shape_kernels import flat_frames
from dfecs_app.core.geometry import (
    FrontalizationLike,
    _planar,
    _standardize_planar,
    frontalization_layout,
    standardized_mask,
    weights_by_layout,
)
from dfecs_app.core.landmarks import (
    AFFINE_TARGETS_49,
    AFFINE_TARGETS_68,
    ANCHOR_CHOICES,
    ANCHOR_LABELS,
    N_FEATURES,
    N_POINTS,
    LandmarkTable,
    point_mask_to_feature_mask,
)
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.errors import InputError

NeutralRule = str | int

#: Frames standardized per step (temporaries that stay in the CPU cache; progress reports).
CHUNK = 2048
#: Threads that standardize chunks side by side.
THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class KPMSet:
    """KPM matrix with its mask and row labels.

    Attributes
    ----------
    X : ndarray of float64, shape (n, 136)
        KPM rows ``[x0..x67, y0..y67]``; 0 where a point is missing.
    mask : ndarray of bool, shape (n, 68)
        True where the keypoint's motion is known.
    subject, sequence : ndarray of str, shape (n,)
    frame : ndarray of int64, shape (n,)
    meta : dict
        JSON-serializable provenance: sources, options, neutral frames, notes.
    """

    X: np.ndarray
    mask: np.ndarray
    subject: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        if self.X.ndim != 2 or self.X.shape[1] != N_FEATURES:
            raise ValueError(f"X must have shape (n, {N_FEATURES}), got {self.X.shape}")
        n = self.X.shape[0]
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.shape != (n, N_POINTS):
            raise ValueError(f"mask must have shape ({n}, {N_POINTS}), got {self.mask.shape}")
        self.subject = np.asarray(self.subject, dtype=str).reshape(n)
        self.sequence = np.asarray(self.sequence, dtype=str).reshape(n)
        self.frame = np.asarray(self.frame, dtype=np.int64).reshape(n)
        self.meta = dict(self.meta)

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def feature_mask(self) -> np.ndarray:
        """``(n, 136)`` bool mask of the columns of ``X`` that are known."""
        return point_mask_to_feature_mask(self.mask)

    @property
    def subjects(self) -> list[str]:
        """Distinct subjects, in order of first appearance."""
        _, first = np.unique(self.subject, return_index=True)
        return [str(self.subject[i]) for i in np.sort(first)]

    def select(self, rows: np.ndarray | Sequence[int] | slice) -> KPMSet:
        """A new set with the given rows (bool mask, indices or slice); meta is copied."""
        return KPMSet(
            X=self.X[rows],
            mask=self.mask[rows],
            subject=self.subject[rows],
            sequence=self.sequence[rows],
            frame=self.frame[rows],
            meta=dict(self.meta),
        )

    @classmethod
    def concat(cls, sets: Sequence[KPMSet]) -> KPMSet:
        """Stack sets row-wise; meta keeps the first set's options and lists all sources."""
        if not sets:
            raise ValueError("no KPM sets to concatenate")
        meta = dict(sets[0].meta)
        sources: list[str] = []
        notes: list[str] = []
        for s in sets:
            sources += [src for src in s.meta.get("sources", []) if src not in sources]
            notes += list(s.meta.get("notes", []))
        meta["sources"] = sources
        meta["notes"] = notes
        return cls(
            X=np.concatenate([s.X for s in sets]),
            mask=np.concatenate([s.mask for s in sets]),
            subject=np.concatenate([s.subject for s in sets]),
            sequence=np.concatenate([s.sequence for s in sets]),
            frame=np.concatenate([s.frame for s in sets]),
            meta=meta,
        )


def _group_ids(subject: np.ndarray, sequence: np.ndarray, group_by: str) -> tuple[np.ndarray, int]:
    """Group index per row (groups numbered in order of first appearance) and the count.

    Rows of a group usually come in runs (a file, a sequence): only the first row of each
    run is compared with the others, so a table of many frames and few groups costs little.
    """
    n = subject.size
    change = np.ones(n, dtype=bool)
    change[1:] = subject[1:] != subject[:-1]
    if group_by != "subject":
        change[1:] |= sequence[1:] != sequence[:-1]
    starts = np.flatnonzero(change)
    subj = subject[starts]
    keys = subj if group_by == "subject" else np.char.add(np.char.add(subj, "\x1f"),
                                                           sequence[starts])
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first)] = np.arange(first.size)
    runs = rank[inverse.reshape(-1)]
    return np.repeat(runs, np.diff(np.append(starts, n))), first.size


def _distinct(values: np.ndarray) -> list[str]:
    """Sorted distinct strings of ``values`` (runs of equal values cost one comparison each)."""
    if values.size == 0:
        return []
    change = np.ones(values.size, dtype=bool)
    change[1:] = values[1:] != values[:-1]
    return sorted({str(v) for v in values[change]})


def _auto_neutral(std: np.ndarray, fmask: np.ndarray) -> int:
    """Row (within a group) closest to the group's coordinate-wise median shape.

    ``std`` (m, 136) standardized vectors, ``fmask`` (m, 136) their feature mask. Frames with
    fewer known points than the group's best are not eligible (fewer terms look closer).
    """
    if fmask.all():
        med = np.median(std, axis=0)
    else:
        med = np.zeros(std.shape[1])
        cols = fmask.any(axis=0)
        med[cols] = np.nanmedian(np.where(fmask[:, cols], std[:, cols], np.nan), axis=0)
    sq = np.where(fmask, (std - med) ** 2, 0.0).sum(axis=1)
    counts = fmask.sum(axis=1)
    sq[counts < counts.max()] = np.inf
    return int(np.argmin(sq))


def compute_kpm(
    table: LandmarkTable,
    *,
    neutral: NeutralRule = "first",
    frontalization: FrontalizationLike | None = None,
    group_by: str = "subject",
    neutral_overrides: Mapping[tuple[str, str], int] | None = None,
    anchors: str = "auto",
    state: TaskState | None = None,
) -> KPMSet:
    """Standardize every frame (§2.1) and subtract its group's standardized neutral frame (§2.2).

    Parameters
    ----------
    table : LandmarkTable
        n frames in the 68 layout.
    neutral : {'first', 'auto'} or int
        How each group's neutral frame is chosen (module docstring).
    frontalization : FrontalizationWeights or several, optional
        Weights for the layouts present (see ``geometry``); None skips frontalization.
    group_by : {'subject', 'sequence'}
        The unit that shares one neutral frame (default: subject, the paper's §2.2 rule).
    neutral_overrides : dict {(subject, sequence): frame id}, optional
        Explicit neutral frames; each names the frame, and so the group that contains it.
    anchors : {'auto', 'jaw', 'eyes'}
        Affine registration anchors (``landmarks.ANCHOR_SETS``): 'auto' per frame from its
        mask (0, 16, 27, 33, 39, 42 when present, else BP4D's 27, 33, 39, 42, 36, 45); 'jaw'
        or 'eyes' that set for every frame (frames missing one of its points are dropped).
        Recorded in ``meta['options']['anchors']``.
    state : TaskState, optional
        Progress ('kpm' stage) and cancellation.

    Returns
    -------
    KPMSet
        One row per frame that could be standardized, in table order. Frames that cannot
        (registration anchors or frontalization points missing) are dropped and counted in
        ``meta['n_dropped']`` and ``meta['notes']``.

    Raises
    ------
    InputError
        Unknown ``neutral``/``group_by``/``anchors``, no frame that can be standardized, a neutral frame id absent from a group, or an
        override naming a frame that is not in the table.
    MissingResourceError
        Frames need frontalization weights of a layout that were not given.
    """
    state = ensure_state(state)
    if group_by not in ("sequence", "subject"):
        raise InputError(f"group_by must be 'sequence' or 'subject', got {group_by!r}", field="group_by")
    if isinstance(neutral, bool) or not (neutral in ("first", "auto") or isinstance(neutral, (int, np.integer))):
        raise InputError(f"neutral must be 'first', 'auto' or a frame number, got {neutral!r}", field="neutral")
    if not isinstance(anchors, str) or anchors not in ANCHOR_CHOICES:
        raise InputError(f"anchors must be one of {', '.join(ANCHOR_CHOICES)}, got {anchors!r}",
                         field="anchors")
    frontalize = frontalization is not None
    notes: list[str] = list(table.notes)

    state.report("kpm", 0.0, "checking frames")
    smask = standardized_mask(table.mask, frontalize, anchors)
    keep = smask.any(axis=1)
    n_dropped = int((~keep).sum())
    why = _anchors_text(anchors) + (" or the points of a frontalization layout" if frontalize else "")
    if n_dropped:
        notes.append(f"dropped {n_dropped} of {len(table)} frame(s) missing the {why}")
    rows = np.flatnonzero(keep) if n_dropped else slice(None)
    n = len(table) - n_dropped
    if n == 0:
        path, where = _files_of(table.source)
        raise InputError(
            f"none of the {len(table)} frame(s){where} can be standardized: all miss the {why}"
            + ("" if anchors == "auto" else "; try anchors 'auto' or 'eyes'"),
            path=path,
            field="anchors" if anchors != "auto" else None,
        )
    points, smask, in_mask = table.points[rows], smask[rows], table.mask[rows]
    subject, sequence, frame = table.subject[rows], table.sequence[rows], table.frame[rows]
    flat = flat_frames(points, in_mask)  # all points on one line or one spot
    if flat.any():
        path, where = _files_of(table.source[rows][flat])
        if flat.all():
            raise InputError(f"no frame{where} could be standardized (degenerate shapes: all "
                             "points on one line or one spot)", path=path)
        notes.append(f"dropped {int(flat.sum())} degenerate frame(s){where or ' in ' + path}"
                     " (all points on one line or one spot)")
        n_dropped += int(flat.sum())
        good = np.flatnonzero(~flat)
        points, smask, in_mask, subject, sequence, frame = (
            a[good] for a in (points, smask, in_mask, subject, sequence, frame))
        n = good.size
    weights = weights_by_layout(frontalization) if frontalize else None
    layout = frontalization_layout(in_mask) if frontalize else None

    std, finite = _standardize_rows(points, in_mask, layout, weights, anchors, state)
    if not finite.all():
        bad = int((~finite).sum())
        notes.append(f"dropped {bad} degenerate frame(s) (anchors on one line or one spot)")
        n_dropped += bad
        good = np.flatnonzero(finite)
        std, smask, subject, sequence, frame = (a[good] for a in (std, smask, subject, sequence, frame))
        n = good.size
        if n == 0:
            path, where = _files_of(table.source[rows])
            raise InputError(f"no frame{where} could be standardized (degenerate shapes: anchor "
                             "points on one line or one spot)", path=path)
    gid, n_groups = _group_ids(subject, sequence, group_by)
    singles = int((np.bincount(gid, minlength=n_groups) == 1).sum())
    if singles:
        notes.append(f"{singles} {group_by}(s) have a single frame: their KPMs are all zero")
    neutral_row = _neutral_rows(neutral, gid, n_groups, std, smask, subject, sequence, frame, neutral_overrides)

    kmask = smask & smask[neutral_row][gid]
    X = std
    neutral_vec = std[neutral_row]  # (n_groups, 136), a copy
    full = kmask.all()
    for start in range(0, n, CHUNK):
        c = slice(start, min(n, start + CHUNK))
        X[c] -= neutral_vec[gid[c]]
        if not full:
            X[c] *= point_mask_to_feature_mask(kmask[c])
    state.report("kpm", 1.0, f"{n} KPMs", force=True)

    meta: dict[str, Any] = {
        "sources": _distinct(table.source),
        "options": {
            "neutral": neutral if isinstance(neutral, str) else int(neutral),
            "group_by": group_by,
            "frontalize": frontalize,
            "anchors": anchors,
            "neutral_overrides": [
                [str(k[0]), str(k[1]), int(v)] for k, v in (neutral_overrides or {}).items()
            ],
        },
        "frontalization": (
            None
            if not frontalize
            else {
                name: {"source": w.source, "sha256": w.sha256}
                for name, w in sorted(weights.items())
            }
        ),
        "neutral_frames": [
            {"subject": str(subject[r]), "sequence": str(sequence[r]), "frame": int(frame[r])}
            for r in neutral_row
        ],
        "n_input_frames": len(table),
        "n_dropped": n_dropped,
        "notes": notes,
    }
    return KPMSet(X=X, mask=kmask, subject=subject, sequence=sequence, frame=frame, meta=meta)


def _standardize_rows(
    points: np.ndarray,
    mask: np.ndarray,
    layout: np.ndarray | None,
    weights: dict[str, Any] | None,
    anchors: str,
    state: TaskState,
) -> tuple[np.ndarray, np.ndarray]:
    """Standardized vectors ``(n, 136)`` of frames that can all be standardized, and (n,) True
    where a row is finite.

    Chunks of :data:`CHUNK` frames (small enough for their temporaries to stay in the CPU
    cache) run on :data:`THREADS` threads (numpy and BLAS release the GIL; BLAS is kept at one
    thread meanwhile). Every chunk is computed exactly as a single call would compute it, so
    the result does not depend on the number of threads.
    """
    n = points.shape[0]
    std = np.empty((n, N_FEATURES))
    finite = np.empty(n, dtype=bool)

    def one(start: int) -> int:
        c = slice(start, min(n, start + CHUNK))
        x, y = _planar(points[c], mask[c])
        x, y = _standardize_planar(x, y, mask[c], None if layout is None else layout[c],
                                   weights, anchors)
        std[c, :N_POINTS] = x
        std[c, N_POINTS:] = y
        finite[c] = np.isfinite(std[c]).all(axis=1)
        return c.stop

    starts = range(0, n, CHUNK)
    threads = min(THREADS, len(starts))
    if threads <= 1:
        with single_blas_thread():
            for start in starts:
                stop = one(start)
                state.report("kpm", 0.9 * stop / n, f"standardized {stop}/{n} frames")
        return std, finite
    with single_blas_thread(), ThreadPoolExecutor(threads) as pool:
        done = 0
        futures = [pool.submit(one, start) for start in starts]
        try:
            for fut in futures:
                done = max(done, fut.result())
                state.report("kpm", 0.9 * done / n, f"standardized {done}/{n} frames")
        finally:
            for fut in futures:
                fut.cancel()
    return std, finite


def _files_of(source: np.ndarray) -> tuple[str | None, str]:
    """(the one file, "") when all frames come from one file, else (None, " in a, b and 3 more")."""
    files = sorted({str(f) for f in np.unique(source)}) if len(source) else []
    if len(files) == 1:
        return files[0], ""
    if not files:
        return None, ""
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return None, f" (in {shown})"


def _anchors_text(anchors: str) -> str:
    """What a frame needs for the affine step, e.g. "registration anchors of the jaw set (...)"."""
    if anchors == "auto":
        both = " or ".join(", ".join(map(str, t)) for t in (AFFINE_TARGETS_68, AFFINE_TARGETS_49))
        return f"registration anchors ({both})"
    return f"registration anchors of the {ANCHOR_LABELS[anchors]}"


def _neutral_rows(
    neutral: NeutralRule,
    gid: np.ndarray,
    n_groups: int,
    std: np.ndarray,
    smask: np.ndarray,
    subject: np.ndarray,
    sequence: np.ndarray,
    frame: np.ndarray,
    overrides: Mapping[tuple[str, str], int] | None,
) -> np.ndarray:
    """Row index (into the kept rows) of each group's neutral frame, shape (n_groups,)."""
    n = gid.size
    out = np.full(n_groups, -1, dtype=np.intp)
    if neutral == "first":
        order = np.lexsort((np.arange(n), frame, gid))  # by group, then frame id, then row
        starts = np.ones(n, dtype=bool)
        starts[1:] = gid[order][1:] != gid[order][:-1]
        out[gid[order][starts]] = order[starts]
    elif neutral == "auto":
        order = np.argsort(gid, kind="stable")
        bounds = np.flatnonzero(np.diff(gid[order])) + 1
        for idx in np.split(order, bounds):
            out[gid[idx[0]]] = idx[_auto_neutral(std[idx], point_mask_to_feature_mask(smask[idx]))]
    else:
        hits = np.flatnonzero(frame == int(neutral))
        # first hit per group, in table order
        hg, first = np.unique(gid[hits], return_index=True)
        out[hg] = hits[first]
    for (subj, seq), fr in (overrides or {}).items():
        hit = np.flatnonzero((subject == subj) & (sequence == seq) & (frame == int(fr)))
        if hit.size == 0:
            raise InputError(
                f"neutral frame {int(fr)} of subject {subj!r}, sequence {seq!r} is not among the "
                "usable frames", field="neutral",
            )
        out[gid[hit[0]]] = hit[0]
    missing = np.flatnonzero(out < 0)
    if missing.size:
        r = np.flatnonzero(gid == missing[0])[0]
        raise InputError(
            f"no frame {neutral} in subject {str(subject[r])!r}, sequence {str(sequence[r])!r} "
            f"({missing.size} group(s) lack it); pick another --neutral",
            field="neutral",
        )
    return out
