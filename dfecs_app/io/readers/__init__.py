"""Landmark readers: any supported landmark file, folder or tree in, one LandmarkTable out.

Formats (``FORMATS``; ``format="auto"`` detects each file by extension and content):

============  ===================================================================  ==========
name          what                                                                  module
============  ===================================================================  ==========
openface      OpenFace 2.x CSV, old (``", "``) and new (``face_id``) layouts        openface
pyfeat        py-feat detector CSV (``FaceRectX``, ``x_0..``, ``y_0..``, ...)       pyfeat
dfecs_track   CSV of ``dfecs track`` (``frame,time_s,detected,...``)                dfecs_track
csv           generic table: ``x_i,y_i`` header, or headerless rows of 2N numbers   generic_csv
ckplus        CK+ ``*_landmarks.txt`` (68 lines ``x y``), file, folder or tree      points
disfa         DISFA 66 points: per-frame ``.mat`` (``pts``) or text (points/rows)   disfa_mat
bp4d          BP4D 49 points: text (one frame per file, or one per row)             points
points        any other text file of 68/66/49 lines ``x y`` (one frame)             points
pts           300-W ``.pts`` (1-based; read as 0-based)                             pts
npy           ``.npy``/``.npz`` arrays (n, 68|66|49, 2)                              arrays
============  ===================================================================  ==========

66- and 49-point data are placed into the 68 layout with the absent points masked
(:func:`dfecs_app.core.landmarks.expand_to_68`). How subject, sequence and frame ids are
derived from paths is described in :mod:`dfecs_app.io.readers._naming`.

Errors
------
Every malformed input raises :class:`~dfecs_app.errors.InputError` naming the file (and line
and column when known). With several inputs the caller chooses the policy:
``errors="raise"`` stops at the first bad file; ``errors="collect"`` reads every good file
and returns the errors alongside (:func:`read_landmark_files` -> :class:`ReadResult`), or, in
:func:`read_landmarks`, lists each skipped file in ``table.notes`` (an InputError is still
raised when no file at all could be read). Frames dropped on purpose (failed tracking, no
face) are never silent: each file's drops are reported in ``table.notes``.

Inside a directory (searched recursively, hidden entries skipped) only files with a landmark
extension (``LANDMARK_SUFFIXES``) are considered; text files there that hold no landmark data
(e.g. CK+ ``*_emotion.txt``) are skipped and reported. A directory without any landmark
file is an InputError naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import LandmarkTable
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.errors import InputError
from dfecs_app.io.readers._naming import CKPLUS_NAME, multi_frame_ids, natural_key, per_frame_ids
from dfecs_app.io.readers._parsed import Parsed
from dfecs_app.io.readers._text import (
    NeedMoreText,
    NotLandmarkData,
    TextSource,
    first_line,
    full_text,
    guess_separator,
    read_source,
    sniff,
    split_fields,
    text_start,
)
from dfecs_app.io.readers.arrays import read_numpy
from dfecs_app.io.readers.dfecs_track import is_dfecs_track, read_dfecs_track
from dfecs_app.io.readers.disfa_mat import read_disfa_mat
from dfecs_app.io.readers.generic_csv import read_generic_csv
from dfecs_app.io.readers.openface import DEFAULT_MIN_CONFIDENCE, is_openface, read_openface
from dfecs_app.io.readers.points import read_points_txt
from dfecs_app.io.readers.pts import read_pts
from dfecs_app.io.readers.pyfeat import is_pyfeat, read_pyfeat

__all__ = [
    "FORMATS",
    "LANDMARK_SUFFIXES",
    "ReadResult",
    "detect_format",
    "landmark_files",
    "read_landmark_files",
    "read_landmarks",
    "require_table",
]

#: Format names accepted by ``format=`` (besides "auto").
FORMATS: tuple[str, ...] = (
    "openface", "pyfeat", "dfecs_track", "csv", "ckplus", "disfa", "bp4d", "points", "pts", "npy",
)
#: Extensions of files picked up inside a directory.
LANDMARK_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".pts", ".npy", ".npz", ".mat")
#: Point count a format requires, where it requires one.
_REQUIRED = {"ckplus": 68, "disfa": 66, "bp4d": 49}
_X_COL_PREFIX = "x_"


@dataclass
class ReadResult:
    """Outcome of reading several inputs with ``errors="collect"``.

    Attributes
    ----------
    table : LandmarkTable or None
        All frames of the files that were read (None when none could be).
    errors : list of InputError
        One per file (or directory) that could not be read.
    files : list of Path
        Files read successfully.
    skipped : list of Path
        Files inside directories that hold no landmark data.
    file_rows : dict of str to (ndarray of int64, ndarray of float64)
        Per tracker CSV read (dfecs track, OpenFace, py-feat; keyed by ``str(path)``, the
        table's ``source``): :attr:`._parsed.Parsed.file_rows`, the frame and time of every
        data row of the file, the rows dropped for want of a face included.
    """

    table: LandmarkTable | None
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    file_rows: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Format detection
# ---------------------------------------------------------------------------------------------
def detect_format(path: str | os.PathLike, *, head_only: bool = False) -> str:
    """The format (one of ``FORMATS``) of a landmark file, from its extension and content.

    The content test looks at the first non-blank line (and, for point lists, counts the
    lines), so it costs little beyond reading and checking the file. With
    ``head_only=True`` only the first 64 KB are read and checked (more only when they do not
    decide, e.g. for point lists): the same format for every file the full call accepts,
    but errors later in the file (not UTF-8, NUL bytes) go unnoticed.

    Raises
    ------
    InputError
        If the file is unreadable, empty, not UTF-8 text (for text formats) or holds no
        landmark data.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a directory; give a file", path)
    fmt = _format_by_suffix(path)
    if fmt is not None:
        return fmt
    if head_only:
        try:
            return _detect_text(path, read_source(path, head=1 << 16))
        except NeedMoreText:
            pass
    return _detect_text(path, read_source(path))


def _format_by_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".pts":
        return "pts"
    if suffix in (".npy", ".npz"):
        return "npy"
    if suffix == ".mat":
        return "disfa"
    return None


def _detect_text(path: Path, text: TextSource | str) -> str:
    if text_start(text).lower().startswith(("version:", "n_points:")):
        return "pts"
    kind, n_lines, n_fields = sniff(path, text)
    if kind == "header":
        first = first_line(text)
        columns = split_fields(first, guess_separator(first))
        if is_dfecs_track(columns):
            return "dfecs_track"
        if is_pyfeat(columns):
            return "pyfeat"
        if is_openface(columns):
            return "openface"
        if any(c.startswith(_X_COL_PREFIX) for c in columns):
            return "csv"
        raise NotLandmarkData("no landmark columns x_0.., y_0.. in the header", path, 1)
    if kind == "points":
        if n_lines == 68 and CKPLUS_NAME.match(path.stem):
            return "ckplus"
        return {66: "disfa", 49: "bp4d"}.get(n_lines, "points")
    return {132: "disfa", 98: "bp4d"}.get(n_fields, "csv")


# ---------------------------------------------------------------------------------------------
# Reading one file
# ---------------------------------------------------------------------------------------------
def _read_file(path: Path, fmt: str, min_confidence: float) -> tuple[str, Parsed]:
    by_suffix = _format_by_suffix(path)
    if fmt == "auto":
        fmt = by_suffix or "text"
    required = _REQUIRED.get(fmt)
    if fmt == "npy" or (by_suffix == "npy" and fmt in _REQUIRED):
        return "npy", read_numpy(path, required=required)
    if by_suffix == "disfa" and fmt in ("disfa", "points", "ckplus", "bp4d"):
        return fmt, read_disfa_mat(path, required=required)
    text = read_source(path)
    if fmt == "text":
        fmt = _detect_text(path, text)
        required = _REQUIRED.get(fmt)
    if fmt == "pts":
        return fmt, read_pts(path, full_text(text), required=required)
    if fmt == "openface":
        return fmt, read_openface(path, text, min_confidence=min_confidence)
    if fmt == "pyfeat":
        return fmt, read_pyfeat(path, text)
    if fmt == "dfecs_track":
        return fmt, read_dfecs_track(path, text)
    kind = sniff(path, text)[0]
    if kind == "points":
        return fmt, read_points_txt(path, full_text(text), required=required)
    return fmt, read_generic_csv(path, text, header=kind == "header", required=required)


# ---------------------------------------------------------------------------------------------
# Many inputs
# ---------------------------------------------------------------------------------------------
def _expand(paths: Iterable) -> list[tuple[Path, Path | None] | InputError]:
    """(file, enclosing input directory or None) per file, or an InputError per bad input."""
    out: list = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = [f for f in p.rglob("*")
                     if f.suffix.lower() in LANDMARK_SUFFIXES and f.is_file()
                     and not any(part.startswith(".") for part in f.relative_to(p).parts)]
            if not files:
                out.append(InputError(
                    "no landmark files (" + ", ".join(LANDMARK_SUFFIXES) + ") in this directory", p))
            out.extend((f, p) for f in sorted(files, key=natural_key))
        elif p.exists():
            out.append((p, None))
        else:
            out.append(InputError("no such file or directory", p))
    return out


def landmark_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The files :func:`read_landmark_files` would read from ``paths`` (bad inputs left out)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [it[0] for it in _expand(paths) if not isinstance(it, InputError)]


def read_landmark_files(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    format: str = "auto",
    progress: TaskState | None = None,
    *,
    errors: str = "collect",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    map_files: Callable[[Callable, list], list] | None = None,
) -> ReadResult:
    """Read landmark files, folders or trees into one table, collecting per-file errors.

    Parameters
    ----------
    paths : path or iterable of paths
        Files and/or directories (searched recursively).
    format : {'auto'} or one of FORMATS
        Force one format for every file, or detect each.
    progress : TaskState, optional
        Receives ``report("read", fraction, file name)`` per file; cancellable.
    errors : {'collect', 'raise'}
        'raise' stops at the first bad input; 'collect' keeps going.
    min_confidence : float
        OpenFace frames tracked with a lower ``confidence`` are dropped (reported).
    map_files : callable, optional
        ``map_files(func, items) -> list`` in item order, e.g. a process pool's ordered map
        (:func:`dfecs_app.io.batch.map_ordered`): parses the files in parallel; the result is
        the same as without it.

    Returns
    -------
    ReadResult
        ``table`` has frames of shape (n, 68, 2), mask (n, 68), subject/sequence/frame ids.
    """
    if format != "auto" and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; choose auto or one of {', '.join(FORMATS)}")
    if errors not in ("collect", "raise"):
        raise ValueError("errors must be 'collect' or 'raise'")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    state = ensure_state(progress)
    result = ReadResult(table=None)
    items = _expand(paths)
    premapped = _premap(map_files, items, format, min_confidence)
    parsed: list[tuple[Path, Parsed]] = []
    n_landmark: dict[Path, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, InputError):
            if errors == "raise":
                raise item
            result.errors.append(item)
            continue
        path, folder = item
        state.report("read", i / len(items), path.name)
        try:
            _, data = (_unwrap(premapped[i]) if premapped is not None
                       else _read_file(path, format, min_confidence))
        except NotLandmarkData as err:
            if folder is None:
                if errors == "raise":
                    raise
                result.errors.append(err)
            else:
                result.skipped.append(path)
            continue
        except InputError as err:
            if folder is not None:
                n_landmark[folder] = n_landmark.get(folder, 0) + 1
            if errors == "raise":
                raise
            result.errors.append(err)
            continue
        except OSError as err:
            ierr = InputError(f"cannot read ({err.strerror or err})", path)
            if errors == "raise":
                raise ierr from None
            result.errors.append(ierr)
            continue
        if folder is not None:
            n_landmark[folder] = n_landmark.get(folder, 0) + 1
        parsed.append((path, data))
        result.files.append(path)
        if data.file_rows is not None:
            result.file_rows[str(path)] = data.file_rows
    for folder in dict.fromkeys(f for it in items if not isinstance(it, InputError)
                                for f in [it[1]] if f is not None):
        if not n_landmark.get(folder):
            err = InputError("no landmark files in this directory (only files without "
                             "landmark data)", folder)
            if errors == "raise":
                raise err
            result.errors.append(err)
    state.report("read", 1.0, f"{len(result.files)} files", force=True)
    if parsed:
        result.table = _assemble(parsed, result, errors)
        if result.skipped:
            result.table.notes.append(
                f"skipped {len(result.skipped)} files without landmark data: "
                + ", ".join(str(p) for p in result.skipped[:5])
                + (", ..." if len(result.skipped) > 5 else ""))
    return result


def read_file_task(job: tuple[Path, str, float]) -> tuple:
    """Parse one file (for :func:`read_landmark_files`'s ``map_files``; picklable, top level).

    Returns ``("ok", fmt, Parsed)``, or the error as plain values (an exception's own pickle
    would lose its path, line and field): ``("input", not_landmark_data, message, path, line,
    field)`` or ``("os", strerror)``.
    """
    path, fmt, min_confidence = job
    try:
        return ("ok", *_read_file(path, fmt, min_confidence))
    except InputError as err:
        return ("input", isinstance(err, NotLandmarkData), err.message, err.path, err.line,
                err.field)
    except OSError as err:
        return ("os", err.strerror or str(err))


def _premap(map_files, items, fmt: str, min_confidence: float) -> list | None:
    if map_files is None:
        return None
    jobs = [(it[0], fmt, min_confidence) for it in items if not isinstance(it, InputError)]
    done = iter(map_files(read_file_task, jobs))
    return [None if isinstance(it, InputError) else next(done) for it in items]


def _unwrap(outcome: tuple) -> tuple[str, Parsed]:
    """``read_file_task``'s outcome back into a result or the raised error."""
    if outcome[0] == "ok":
        return outcome[1], outcome[2]
    if outcome[0] == "input":
        cls = NotLandmarkData if outcome[1] else InputError
        raise cls(*outcome[2:])
    raise OSError(outcome[1])


def _assemble(parsed: list[tuple[Path, Parsed]], result: ReadResult, errors: str) -> LandmarkTable:
    """Name and order the frames of every file, and stack them into one table."""
    per_frame = [(p, d) for p, d in parsed if d.per_frame]
    ids = dict(zip([p for p, _ in per_frame], per_frame_ids([p for p, _ in per_frame])))
    units: dict[tuple, dict] = {}  # origin key -> unit (in order of first appearance)
    notes: list[str] = []
    for path, data in parsed:
        notes.extend(data.notes)
        n = len(data.points)
        if data.per_frame:
            subject, sequence, frame, key = ids[path]
            unit = units.setdefault(key, {"rows": [], "derived": True, "dir": path.parent})
            unit["rows"].append((frame, path, data, subject, sequence))
            continue
        subject, sequence = multi_frame_ids(path)
        derived = data.subject is None and data.sequence is None
        units[("file", path)] = {
            "derived": derived, "dir": path.parent,
            "table": LandmarkTable(
                points=data.points, mask=data.mask,
                subject=data.subject if data.subject is not None else np.full(n, subject),
                sequence=data.sequence if data.sequence is not None else np.full(n, sequence),
                frame=data.frame if data.frame is not None else np.arange(n),
                source=np.full(n, str(path)), own_points=True)}
    tables = []
    for key, unit in list(units.items()):
        if "rows" in unit:
            rows = sorted(unit["rows"], key=lambda r: r[0])
            frames = [r[0] for r in rows]
            dup = next((i for i in range(1, len(rows)) if frames[i] == frames[i - 1]), None)
            if dup is not None:
                err = InputError(f"same frame number {frames[dup]} as {rows[dup - 1][1]}", rows[dup][1])
                if errors == "raise":
                    raise err
                result.errors.append(err)
                del units[key]
                continue
            unit["table"] = LandmarkTable(
                points=np.concatenate([r[2].points for r in rows]),
                mask=np.concatenate([r[2].mask for r in rows]),
                subject=[r[2].subject[0] if r[2].subject is not None else r[3] for r in rows],
                sequence=[r[2].sequence[0] if r[2].sequence is not None else r[4] for r in rows],
                frame=frames, source=[str(r[1]) for r in rows])
        tables.append(unit)
    _disambiguate(tables, notes)
    # One table needs no stacking (a copy of every array).
    table = (tables[0]["table"] if len(tables) == 1
             else LandmarkTable.concat([u["table"] for u in tables]))
    table.notes = notes
    return table


def _disambiguate(units: list[dict], notes: list[str]) -> None:
    """Prefix path-derived sequences that two origins share with their folder name."""
    for level in (1, 2):
        owners: dict[tuple[str, str], list[dict]] = {}
        for u in units:
            if u["derived"]:
                t = u["table"]
                for s, q in set(zip(t.subject.tolist(), t.sequence.tolist())):
                    owners.setdefault((s, q), []).append(u)
        clashes = [us for us in owners.values() if len(us) > 1]
        if not clashes:
            return
        for us in clashes:
            for u in us:
                prefix = "/".join(u["dir"].resolve().parts[-level:])
                t = u["table"]
                t.sequence = np.char.add(f"{prefix}/", t.sequence.astype(str))
                notes.append(f"{t.source[0]}: sequence renamed to {t.sequence[0]!r} "
                             "(another input has the same subject and sequence)")


def read_landmarks(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    format: str = "auto",
    progress: TaskState | None = None,
    *,
    errors: str = "raise",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    map_files: Callable[[Callable, list], list] | None = None,
) -> LandmarkTable:
    """Read landmark files, folders or trees into one :class:`LandmarkTable`.

    Parameters are those of :func:`read_landmark_files`; ``errors`` defaults to 'raise'.
    With ``errors="collect"`` every file that could not be read is listed in
    ``table.notes`` as ``"skipped: <error>"``.

    Returns
    -------
    LandmarkTable
        points (n, 68, 2), mask (n, 68), subject, sequence, frame, source (n,), notes.

    Raises
    ------
    InputError
        The first bad input ('raise'), or when no file could be read at all ('collect').
    """
    return require_table(read_landmark_files(paths, format, progress, errors=errors,
                                             min_confidence=min_confidence,
                                             map_files=map_files)).table


def require_table(result: ReadResult) -> ReadResult:
    """``result`` of :func:`read_landmark_files` with a table (its notes then list the skipped
    inputs), as :func:`read_landmarks` needs it; InputError (the first bad input) otherwise.
    For callers that want the rest of the result too, e.g. the trackers' ``file_rows``."""
    if result.table is None:
        if result.errors:
            first = result.errors[0]
            if len(result.errors) > 1:
                raise InputError(f"{first.message} (and {len(result.errors) - 1} more bad inputs)",
                                 first.path, first.line, first.field)
            raise first
        raise InputError("no landmark data in the inputs")
    result.table.notes.extend(f"skipped: {err}" for err in result.errors)
    return result
