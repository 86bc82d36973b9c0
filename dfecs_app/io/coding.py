"""Code videos, landmark files and KPM files with an AU model: one table row per frame.

:func:`code_file` is the per-input step (``dfecs encode``, :func:`dfecs_app.encode` and the Code
panel call it once per input); :func:`encode` runs it over several inputs and returns one
:class:`pandas.DataFrame`; :func:`write_codes` writes that table as CSV, Parquet or NPZ,
atomically; :func:`code_to_file` codes one input into its own file (the batch task of
``dfecs encode --out-dir``).

Inputs
------
video (``.mp4``, ``.avi``, ...)
    Tracked with the built-in dlib tracker (:mod:`dfecs_app.io.tracking`); frames without a
    face are rows with ``no_face`` = 1.
landmark file or folder (every reader format of :mod:`dfecs_app.io.readers`)
    Prepared with the model's recipe (:mod:`dfecs_app.io.prepare`). ``dfecs track`` CSVs keep
    their ``time_s`` and their frames without a face.
KPM file (``.npz`` holding ``X`` (n, 136), from ``dfecs kpm``)
    Encoded as it is; its recorded preparation is compared with the model's recipe.

Table columns (:func:`frame_columns`)
-------------------------------------
``subject, sequence, frame, time_s`` (seconds, empty when unknown), one column per AU (the
model's AU names), ``ve`` (per-frame VE %, empty for an all-zero KPM such as the neutral frame
itself), ``recon_error`` (``‖y − ŷ‖²`` over present coordinates), ``no_face`` (1: no usable
face in the frame, its AU cells are empty), ``recipe_mismatch`` (empty, or what the forced
preparation changes from the model's recipe) and ``source`` (the input file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.coding import Coding, code_frames, encoder_name
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.landmarks import N_POINTS, LandmarkTable
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.core.recipe import Recipe
from dfecs_app.errors import InputError
from dfecs_app.io.atomic import atomic_open, save_npz_atomic, write_bytes_atomic
from dfecs_app.io.prepare import prepare_table, reader_options
from dfecs_app.io.tracking import VIDEO_SUFFIXES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Columns before the AU columns, and after them.
HEAD_COLUMNS = ("subject", "sequence", "frame", "time_s")
TAIL_COLUMNS = ("ve", "recon_error", "no_face", "recipe_mismatch", "source")
OUTPUT_SUFFIXES = (".csv", ".parquet", ".npz")
CODES_FORMAT = "dfecs-codes"
CODES_FORMAT_VERSION = 1


@dataclass
class EncodeOptions:
    """How to prepare and encode inputs (every field optional).

    Attributes
    ----------
    alpha : float
        α of eq. 3 (0: NNLS, the default).
    max_active : int, optional
        At most this many active AUs per frame (LARS path).
    frontalize, anchors, neutral, neutral_per : optional
        Force a preparation other than the model's recipe (flagged in ``recipe_mismatch``).
    format : str, optional
        Force a landmark reader format (default: detected per file).
    frontalization_dir : path, optional
    recipe_from : path, optional
        A KPM file whose recorded preparation replaces the model's recipe (for models
        written before models carried one).
    upsample : int
        Tracker upsampling for videos.
    """

    alpha: float = 0.0
    max_active: int | None = None
    frontalize: bool | None = None
    anchors: str | None = None
    neutral: str | int | None = None
    neutral_per: str | None = None
    format: str | None = None
    frontalization_dir: str | os.PathLike | None = None
    recipe_from: str | os.PathLike | None = None
    upsample: int = 0


@dataclass
class CodedClip:
    """One coded input.

    Attributes
    ----------
    source : str
    names : list of str
        AU names (model order).
    subject, sequence : ndarray of str, shape (m,)
    frame : ndarray of int64, shape (m,)
    time_s : ndarray, shape (m,)
        NaN where unknown.
    no_face : ndarray of bool, shape (m,)
    codes : ndarray, shape (m, q)
        NaN on no-face rows.
    ve, recon_error : ndarray, shape (m,)
    points : ndarray, shape (m, 68, 2)
        Tracked image landmarks (NaN on no-face rows; NaN too for KPM inputs).
    kpm : KPMSet
        The prepared KPMs of the face rows (``kpm_row[i]`` is row i's KPM, −1 without).
    kpm_row : ndarray of int64, shape (m,)
    mismatch : list of str
        What the preparation changes from the model's recipe.
    notes : list of str
        What reading, tracking and preparing reported.
    video : str or None
        The video file, when the input was one.
    """

    source: str
    names: list[str]
    subject: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    time_s: np.ndarray
    no_face: np.ndarray
    codes: np.ndarray
    ve: np.ndarray
    recon_error: np.ndarray
    points: np.ndarray
    kpm: KPMSet
    kpm_row: np.ndarray
    mismatch: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    video: str | None = None

    def __len__(self) -> int:
        return int(self.frame.size)

    def to_frame(self) -> pd.DataFrame:
        """The per-frame table (columns as the module docstring says)."""
        import pandas as pd

        cols: dict[str, Any] = {
            "subject": self.subject, "sequence": self.sequence, "frame": self.frame,
            "time_s": self.time_s,
        }
        for j, name in enumerate(au_columns(self.names)):
            cols[name] = self.codes[:, j]
        cols["ve"] = self.ve
        cols["recon_error"] = self.recon_error
        cols["no_face"] = self.no_face.astype(np.int8)
        cols["recipe_mismatch"] = "; ".join(self.mismatch)
        cols["source"] = self.source
        df = pd.DataFrame(cols)
        df.attrs["notes"] = list(self.notes)
        df.attrs["recipe_mismatch"] = list(self.mismatch)
        df.attrs["au_columns"] = au_columns(self.names)
        return df


def au_columns(names: Sequence[str]) -> list[str]:
    """Column names of the AUs: the model's names, made unique and distinct from the others."""
    taken = set(HEAD_COLUMNS) | set(TAIL_COLUMNS)
    out = []
    for name in names:
        col, k = str(name), 2
        while col in taken:
            col, k = f"{name}_{k}", k + 1
        taken.add(col)
        out.append(col)
    return out


def frame_columns(names: Sequence[str]) -> list[str]:
    """All columns of the per-frame table, in order."""
    return [*HEAD_COLUMNS, *au_columns(names), *TAIL_COLUMNS]


# ---------------------------------------------------------------------------------------------
# Model and recipe
# ---------------------------------------------------------------------------------------------
def load_au_model(model: AUModel | str | os.PathLike) -> tuple[AUModel, str | None]:
    """``(model, its file or None)`` from a model or a model file."""
    if isinstance(model, AUModel):
        return model, None
    from dfecs_app.io.model_file import load_model

    return load_model(model), str(model)


def model_recipe(model: AUModel, source: str | None = None,
                 recipe_from: str | os.PathLike | None = None,
                 fallback: Recipe | None = None) -> Recipe:
    """The recipe new data are prepared with: ``recipe_from``'s, the model's, else ``fallback``
    (the GUI passes the recipe of the project's training KPMs).

    Raises
    ------
    InputError
        The model records none (written before models carried their recipe) and no
        ``recipe_from`` KPM file is given, or that file records none either.
    """
    if recipe_from is not None:
        from dfecs_app.io.kpm_file import load_kpm

        recipe = Recipe.from_kpm_meta(load_kpm(recipe_from).meta)
        if recipe is None:
            raise InputError("this KPM file records no preparation (options); make it with "
                             "`dfecs kpm`", recipe_from)
        return recipe
    if "recipe" not in model.meta and fallback is not None:
        return fallback
    if "recipe" not in model.meta:
        raise InputError("the model records no preprocessing recipe (written by an older "
                         "version); retrain it, or give its training KPM file with "
                         "--recipe-from", source or "model")
    return Recipe.from_dict(model.meta["recipe"], source)


def applied_recipe(recipe: Recipe, options: EncodeOptions) -> Recipe:
    """``recipe`` with the preparation the user forced in ``options``."""
    return recipe.with_overrides(frontalize=options.frontalize, anchors=options.anchors,
                                 neutral=options.neutral, neutral_per=options.neutral_per)


# ---------------------------------------------------------------------------------------------
# One input
# ---------------------------------------------------------------------------------------------
def input_kind(path: str | os.PathLike) -> str:
    """'video', 'kpm' or 'landmarks' (by suffix; an NPZ/NPY holding ``X`` (n, 136) is KPM)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    try:
        if suffix == ".npz" and p.is_file():
            with np.load(p, allow_pickle=False) as z:
                return "kpm" if "X" in z.files else "landmarks"
        if suffix == ".npy" and p.is_file():
            arr = np.load(p, allow_pickle=False, mmap_mode="r")
            return "kpm" if arr.ndim == 2 and arr.shape[1] == 2 * N_POINTS else "landmarks"
    except (OSError, ValueError, EOFError):
        pass  # the reader names what is wrong
    return "landmarks"


def _track_rows(path: Path, file_rows: dict[str, tuple[np.ndarray, np.ndarray]]
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(frame, time_s)`` of every frame of a file whose reader drops frames without a usable
    face (``dfecs track``, OpenFace and py-feat CSVs), else None.

    From what the reader parsed (``file_rows`` of
    :class:`~dfecs_app.io.readers.ReadResult`); the file is read again (its frame and time
    columns, by pandas, times that are not numbers becoming NaN) only when the reader could
    not give them.
    """
    rows = file_rows.get(str(path))
    if rows is None:
        rows = _reread_track_rows(path)
        if rows is None:
            return None
    frame, time_s = rows
    # one row per frame, in file order (py-feat and OpenFace list each face of a frame)
    first = np.sort(np.unique(frame, return_index=True)[1])
    return frame[first], time_s[first]


def _reread_track_rows(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_track_rows`' frame and time columns of every row, read again by pandas."""
    from dfecs_app.io.readers import detect_format
    from dfecs_app.io.readers._parsed import TRACKER_TIME_COLUMNS

    try:
        fmt = detect_format(path, head_only=True)
        if fmt not in TRACKER_TIME_COLUMNS:
            return None
        import pandas as pd

        time_col = TRACKER_TIME_COLUMNS[fmt]
        t = pd.read_csv(path, usecols=["frame"] + ([time_col] if time_col else []),
                        skipinitialspace=True)  # OpenFace 2.0 writes ", " between fields
        time_s = (pd.to_numeric(t[time_col], errors="coerce").to_numpy(np.float64)
                  if time_col is not None else np.full(len(t), np.nan))
        return t["frame"].to_numpy(np.int64), time_s
    except (InputError, ValueError, KeyError, OSError):
        return None


def code_file(
    model: AUModel | str | os.PathLike,
    path: str | os.PathLike,
    options: EncodeOptions | None = None,
    *,
    recipe: Recipe | None = None,
    state: TaskState | None = None,
) -> CodedClip:
    """Code one input (video, landmark file/folder, or KPM file) frame by frame.

    Parameters
    ----------
    model : AUModel or path of a model file
    path : path
    options : EncodeOptions, optional
    recipe : Recipe, optional
        Prepare with this recipe instead of the model's (the GUI's fallback for models
        trained in the app without one).
    state : TaskState, optional
        Progress ('track', 'read', 'kpm', 'encode') and cancellation.

    Returns
    -------
    CodedClip

    Raises
    ------
    InputError
        A model without recipe, an unreadable or truncated input, a video without any face
        (each names the file).
    """
    options = options or EncodeOptions()
    state = ensure_state(state)
    model, model_src = load_au_model(model)
    encoder_name(options.alpha, options.max_active)  # bad options fail before any work
    if recipe is None:
        recipe = model_recipe(model, model_src, options.recipe_from)
    prepared = prepare_input(recipe, path, options, state=state)
    kpm = prepared.kpm
    state.report("encode", 0.0, f"encoding {len(kpm)} frames", force=True)
    coding = code_frames(model.components, kpm.X, kpm.mask, alpha=options.alpha,
                         max_active=options.max_active)
    state.report("encode", 1.0, f"{len(kpm)} frames encoded", force=True)
    return _clip(Path(path), model, prepared, coding)


@dataclass
class _Rows:
    subject: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    time_s: np.ndarray
    points: np.ndarray
    kpm_row: np.ndarray | None = None


@dataclass
class PreparedInput:
    """An input made into KPMs with a recipe (:func:`prepare_input`).

    Attributes
    ----------
    kpm : KPMSet
    rows : _Rows
        Every output row (frames without a face included) and its KPM row.
    mismatch : list of str
    notes : list of str
    video : str or None
    """

    kpm: KPMSet
    rows: _Rows
    mismatch: list[str]
    notes: list[str]
    video: str | None


def prepare_input(recipe: Recipe, path: str | os.PathLike, options: EncodeOptions | None = None,
                  *, state: TaskState | None = None) -> PreparedInput:
    """Track (video), read (landmarks) or load (KPM) one input and prepare it with ``recipe``.

    The Evaluate panel makes test KPM sets of landmark files and videos with this; the
    preparation ``options`` force is listed in ``mismatch``.
    """
    options = options or EncodeOptions()
    state = ensure_state(state)
    path = Path(path)
    kind = input_kind(path)
    notes: list[str] = []
    video = None
    if kind == "kpm":
        from dfecs_app.io.kpm_file import load_kpm

        kpm = load_kpm(path)
        n = len(kpm)
        recorded = Recipe.from_kpm_meta(kpm.meta)
        mismatch = (["KPM file records no preparation"] if recorded is None
                    else recipe.differences(recorded))
        rows = _Rows(kpm.subject, kpm.sequence, kpm.frame, np.full(n, np.nan),
                     np.full((n, N_POINTS, 2), np.nan), np.arange(n))
        return PreparedInput(kpm, rows, mismatch, notes, video)
    used = applied_recipe(recipe, options)
    if kind == "video":
        table, rows = _video_table(path, options, state, notes)
        video = str(path)
    else:
        table, rows = _landmark_table(path, used, options, state, notes)
    try:
        kpm = prepare_table(table, used.with_overrides(reader=reader_options(used, options.format)),
                            frontalization_dir=options.frontalization_dir, state=state)
    except InputError as err:
        if err.path is not None:
            raise
        raise InputError(err.message, path, field=err.field) from None  # name the input
    notes.extend(kpm.meta.get("notes", []))
    mismatch = recipe.differences(Recipe.from_dict(kpm.meta["recipe"]))
    rows.kpm_row = _match_rows(rows, kpm)
    return PreparedInput(kpm, rows, mismatch, notes, video)


def _video_table(path: Path, options: EncodeOptions, state: TaskState,
                 notes: list[str]) -> tuple[LandmarkTable, _Rows]:
    from dfecs_app.io.readers._naming import multi_frame_ids
    from dfecs_app.io.tracking import track_video

    track = track_video(path, state, upsample=options.upsample)
    notes.extend(track.notes)
    n = len(track)
    if not track.detected.any():
        raise InputError(f"no face found in any of its {n} frames", path)
    subject, sequence = multi_frame_ids(path)
    face = np.flatnonzero(track.detected)
    table = LandmarkTable.from_frames(track.points[face], subject=subject, sequence=sequence,
                                      source=str(path), frame=face)
    rows = _Rows(np.full(n, subject), np.full(n, sequence), np.arange(n, dtype=np.int64),
                 track.time_s.astype(np.float64), track.points.astype(np.float64))
    return table, rows


def _landmark_table(path: Path, recipe: Recipe, options: EncodeOptions, state: TaskState,
                    notes: list[str]) -> tuple[LandmarkTable, _Rows]:
    from dfecs_app.io.readers import read_landmark_files, require_table

    opts = reader_options(recipe, options.format)
    result = require_table(read_landmark_files([path], format=opts["format"], progress=state,
                                               errors="raise",
                                               min_confidence=opts["min_confidence"]))
    table = result.table
    notes.extend(table.notes)
    # missing points NaN; with none missing the table's own array serves (nothing writes into
    # either), instead of a copy of 109 MB at 100,000 frames
    points = (table.points if table.mask.all()
              else np.where(table.mask[..., None], table.points, np.nan))
    rows = _Rows(table.subject, table.sequence, table.frame, np.full(len(table), np.nan), points)
    # a dfecs track, OpenFace or py-feat CSV of one clip: every frame of the file gets a row
    # (those the reader dropped become no-face rows) and its time_s where the file has one
    one_seq = len(table) > 0 and _one_sequence(table.subject, table.sequence)
    extra = _track_rows(path, result.file_rows) if one_seq and path.is_file() else None
    if extra is not None:
        frame, time_s = extra
        at = _lookup(table.frame, frame)
        pts = np.full((frame.size, N_POINTS, 2), np.nan)
        hit = at >= 0
        pts[hit] = points[at[hit]]
        rows = _Rows(np.full(frame.size, table.subject[0]), np.full(frame.size, table.sequence[0]),
                     frame, time_s, pts)
    return table, rows


def _one_sequence(subject: np.ndarray, sequence: np.ndarray) -> bool:
    """True when every row has the same (subject, sequence)."""
    return bool((subject == subject[0]).all() and (sequence == sequence[0]).all())


def _lookup(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of each query in ``keys`` (int64; the last of equal keys, as a dict built in
    order would keep), −1 where absent."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    pos = np.searchsorted(ranked, queries, side="right") - 1
    out = np.full(queries.size, -1, dtype=np.int64)
    ok = pos >= 0
    ok[ok] = ranked[pos[ok]] == queries[ok]
    out[ok] = order[pos[ok]]
    return out


def _row_keys(subject: np.ndarray, sequence: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """One int64 key per row, shape (n,): equal keys exactly for equal ``(subject, sequence,
    frame)``. Each factor is numbered first, so every key is below n² (no overflow for any
    frame ids or table size that fits in memory)."""
    import pandas as pd

    subj, _ = pd.factorize(subject)
    seq, seq_names = pd.factorize(sequence)
    pair, _ = pd.factorize(subj.astype(np.int64) * len(seq_names) + seq)
    fr, frames = pd.factorize(frame)
    return pair.astype(np.int64) * len(frames) + fr


def _match_rows(rows: _Rows, kpm: KPMSet) -> np.ndarray:
    """Row of ``kpm`` holding each output row's frame, −1 where none (no usable face)."""
    m, n = rows.frame.size, len(kpm)
    out = np.full(m, -1, dtype=np.int64)
    if m == 0 or n == 0:
        return out
    face = ~np.isnan(rows.points).all(axis=(1, 2))
    keys = _row_keys(np.concatenate([kpm.subject, rows.subject]),
                     np.concatenate([kpm.sequence, rows.sequence]),
                     np.concatenate([kpm.frame, rows.frame]).astype(np.int64))
    found = _lookup(keys[:n], keys[n:])
    out[face] = found[face]
    return out


def _clip(path: Path, model: AUModel, prepared: PreparedInput, coding: Coding) -> CodedClip:
    rows = prepared.rows
    m = rows.frame.size
    q = model.n_components
    has = rows.kpm_row >= 0
    idx = rows.kpm_row[has]
    if idx.size == m == len(coding.codes) and (idx == np.arange(m)).all():  # row i is KPM i
        codes, ve, err = coding.codes, coding.ve, coding.recon_error
    else:
        codes = np.full((m, q), np.nan)
        codes[has] = coding.codes[idx]
        ve = np.full(m, np.nan)
        ve[has] = coding.ve[idx]
        err = np.full(m, np.nan)
        err[has] = coding.recon_error[idx]
    return CodedClip(source=str(path), names=list(model.names), subject=rows.subject,
                     sequence=rows.sequence, frame=rows.frame, time_s=rows.time_s,
                     no_face=~has, codes=codes, ve=ve, recon_error=err, points=rows.points,
                     kpm=prepared.kpm, kpm_row=rows.kpm_row, mismatch=prepared.mismatch,
                     notes=prepared.notes, video=prepared.video)


# ---------------------------------------------------------------------------------------------
# Many inputs, the Python API
# ---------------------------------------------------------------------------------------------
def encode(
    model: AUModel | str | os.PathLike,
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    state: TaskState | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Per-frame AU activations of videos, landmark files or KPM files.

    Parameters
    ----------
    model : AUModel or path of a model file (``dfecs train`` / ``dfecs baseline``)
    paths : path or paths
        Videos, landmark files (any reader format) or folders, KPM NPZ files.
    state : TaskState, optional
        Progress and cancellation.
    **options
        Fields of :class:`EncodeOptions`: ``alpha``, ``max_active``, ``frontalize``,
        ``anchors``, ``neutral``, ``neutral_per``, ``format``, ``frontalization_dir``,
        ``recipe_from``, ``upsample``.

    Returns
    -------
    pandas.DataFrame
        One row per frame, columns :func:`frame_columns` (module docstring). ``attrs`` holds
        ``notes``, ``recipe_mismatch`` and ``au_columns``.

    Examples
    --------
    >>> import dfecs_app
    >>> df = dfecs_app.encode("model.npz", ["clip.mp4", "tracks.csv"])  # doctest: +SKIP
    >>> df[df.attrs["au_columns"]].mean()  # doctest: +SKIP
    """
    try:
        opts = EncodeOptions(**options)
    except TypeError as err:
        raise InputError(f"unknown encode option ({err})") from None
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    model, src = load_au_model(model)
    if src is not None:  # name the model file in recipe errors
        model_recipe(model, src, opts.recipe_from)
    clips = [code_file(model, p, opts, state=state) for p in paths]
    return clips_frame(clips, model)


def clips_frame(clips: Sequence[CodedClip], model: AUModel) -> pd.DataFrame:
    """One table of several coded inputs; ``attrs`` gathers their notes and mismatches."""
    import pandas as pd

    if not clips:
        raise InputError("no inputs to encode")
    frames = [c.to_frame() for c in clips]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    mismatch: list[str] = []
    for c in clips:
        mismatch += [m for m in c.mismatch if m not in mismatch]
    df.attrs.update(notes=[n for c in clips for n in c.notes], recipe_mismatch=mismatch,
                    au_columns=au_columns(model.names))
    return df


def output_format(path: str | os.PathLike) -> str:
    """'csv', 'parquet' or 'npz' from an output file name; InputError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"--out must end in {', '.join(OUTPUT_SUFFIXES)}", path)
    if Path(path).is_dir():
        raise InputError("is a directory; --out needs a file name", path)
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("Parquet output needs pyarrow (pip install pyarrow); "
                             "write .csv or .npz instead", path) from None
    return suffix[1:]


def write_codes(path: str | os.PathLike, df: pd.DataFrame, meta: dict[str, Any] | None = None
                ) -> None:
    """Write a per-frame table atomically: CSV, Parquet (needs pyarrow) or NPZ.

    The NPZ holds one array per column (AU columns together as ``codes`` (n, q) with
    ``au_names``) and ``meta`` (JSON: format, version, notes, recipe mismatch, ``meta``).
    """
    fmt = output_format(path)
    if fmt == "csv":
        from dfecs_app.io.csv_table import write_csv

        with atomic_open(path, "wb") as fh:
            write_csv(fh, df)  # the bytes of df.to_csv(index=False, lineterminator="\n")
        return
    if fmt == "parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        write_bytes_atomic(path, buf.getvalue())
        return
    au = list(df.attrs.get("au_columns") or [c for c in df.columns
                                              if c not in HEAD_COLUMNS + TAIL_COLUMNS])
    info = {"format": CODES_FORMAT, "format_version": CODES_FORMAT_VERSION,
            "app_version": __version__, "notes": list(df.attrs.get("notes", [])),
            "recipe_mismatch": list(df.attrs.get("recipe_mismatch", [])), **(meta or {})}
    save_npz_atomic(
        path,
        subject=df["subject"].to_numpy(str), sequence=df["sequence"].to_numpy(str),
        frame=df["frame"].to_numpy(np.int64), time_s=df["time_s"].to_numpy(np.float64),
        codes=df[au].to_numpy(np.float64).reshape(len(df), len(au)),
        au_names=np.asarray(au, dtype=str), ve=df["ve"].to_numpy(np.float64),
        recon_error=df["recon_error"].to_numpy(np.float64),
        no_face=df["no_face"].to_numpy(bool),
        recipe_mismatch=df["recipe_mismatch"].to_numpy(str),
        source=df["source"].to_numpy(str),
        meta=np.asarray(json.dumps(info, sort_keys=True)),
    )


def registered_neutral(clip: CodedClip, recipe: Recipe,
                       frontalization_dir: str | os.PathLike | None = None) -> np.ndarray | None:
    """The standardized neutral face of a coded clip's first sequence, shape (68, 2), or None.

    ``neutral + KPM`` is a frame's registered face and ``neutral + codes·components`` its
    reconstruction (what the Code panel draws). None for KPM inputs (no landmarks).
    """
    from dfecs_app.core.geometry import standardize

    frames = clip.kpm.meta.get("neutral_frames") or []
    if not frames or np.isnan(clip.points).all():
        return None
    nf = frames[0]
    hit = np.flatnonzero((clip.subject == nf["subject"]) & (clip.sequence == nf["sequence"])
                         & (clip.frame == nf["frame"]))
    if hit.size == 0:
        return None
    pts = clip.points[hit[0]]
    mask = ~np.isnan(pts).any(axis=1)
    weights = None
    if recipe.frontalize:
        from dfecs_app.io.frontalization_weights import load_frontalization_for

        weights = load_frontalization_for(mask[None], directory=frontalization_dir)
    std = standardize(np.nan_to_num(pts)[None], mask[None], weights, recipe.anchors)[0]
    return std


# ---------------------------------------------------------------------------------------------
# One input, one output file: the batch task of ``dfecs encode --out-dir``
# ---------------------------------------------------------------------------------------------
def code_to_file(model_path: str, path: str, out: str, options: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Code one input and write its table to ``out`` atomically (a batch task: picklable,
    top level; :mod:`dfecs_app.io.batch`).

    Parameters
    ----------
    model_path : str
        The model file (loaded here, in whichever process runs the task).
    path : str
        One input (video, landmark file or folder, KPM file).
    out : str
        Output file; ``.csv``, ``.parquet`` or ``.npz`` (:func:`write_codes`).
    options : dict, optional
        Fields of :class:`EncodeOptions`.

    Returns
    -------
    dict
        ``frames`` (rows), ``faces`` (rows with a face), ``notes`` and ``mismatch`` (lists of
        str) — JSON-able, recorded in the batch manifest.
    """
    model, _ = load_au_model(model_path)
    clip = code_file(model, path, EncodeOptions(**(options or {})))
    df = clips_frame([clip], model)
    write_codes(out, df, {"model": str(model_path)})
    return {"frames": len(clip), "faces": int((~clip.no_face).sum()),
            "notes": list(clip.notes), "mismatch": list(clip.mismatch)}


def code_path(item: tuple[str, str, dict[str, Any] | None]) -> CodedClip:
    """``code_file`` of ``item = (model_path, path, options)`` (options: fields of
    :class:`EncodeOptions`): the per-input step of a one-table ``dfecs encode`` run on worker
    processes (:func:`dfecs_app.io.batch.map_ordered`; picklable, top level)."""
    model_path, path, options = item
    return code_file(model_path, path, EncodeOptions(**(options or {})))
