"""Project files: what a study is made of, saved as versioned JSON plus NPZ files, no pickles.

A project holds the datasets (input paths, reader format, neutral-frame choices, corrections),
a neutral face (image + landmarks), AU models, rating sessions, evaluation test sets and the
UI-independent settings (training β, mode, seed, explicit hyperparameters).

Files
-----
``study.dfecs.json``
    The project (UTF-8 JSON, ``{"format": "dfecs-project", "format_version": 1, ...}``).
    Every path in it is stored relative to the folder holding this file (POSIX separators),
    so a project folder can be moved or shared together with its data; a path that has no
    relative form (another drive on Windows) is stored absolute. Files of the app's built-in
    resources (the demo face) are stored as ``builtin:demo/astronaut.png``
    (:mod:`dfecs_app.io.resources`), so a demo project opens wherever the app is installed.
    Paths are resolved on load and are absolute in memory.
``study.dfecs/``
    The project's own arrays, written by :func:`save_project` next to the JSON:

    * ``models/NN-<name>.npz`` — models held only in memory (a trained model not yet saved
      elsewhere), in the model file format of :mod:`dfecs_app.io.model_file`;
    * ``kpm/NN-<name>.npz`` — in-memory KPM sets of datasets or test sets
      (:mod:`dfecs_app.io.kpm_file`);
    * ``neutral/landmarks.npz`` — neutral-face landmarks given inline or edited by hand
      (``points`` float64 (68, 2), ``mask`` bool (68,));
    * ``neutral/image.png`` — a neutral image held only in memory.

    * ``.dfecs-written.json`` — the manifest: every file the app wrote here, with its size
      and modification time right after writing.

    Objects that already have a file are referenced, never copied. Each file is written
    atomically, the JSON last, so an interrupted save leaves the previous project readable;
    then sidecar files the project no longer references (a removed model) are deleted —
    only files the manifest lists and that are unchanged since the app wrote them. A file
    the user put in the sidecar folder is never deleted or overwritten (a new object gets
    another name), and nothing reached through a symlink (the sidecar folder itself, a
    sub-folder or a file) is ever deleted.

In memory
---------
:class:`Project` and its parts are dataclasses. Entries may carry an in-memory object
(``ModelRef.model``, ``Dataset.kpm``, ``TestSet.kpm``, ``NeutralFace.image``) that
:func:`save_project` writes to the sidecar folder when the entry has no ``path`` yet; these
objects do not take part in equality (``==`` compares what the JSON holds), so
``load_project(p) == save_project(p, project)`` is the round-trip test. The GUI keeps the
"modified" flag; this module has no notion of it.

Errors
------
Malformed JSON raises :class:`~dfecs_app.errors.InputError` naming the file and the field
(``datasets[0].paths[1]``); another ``format_version`` raises
:class:`~dfecs_app.errors.FormatVersionError`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.landmarks import ANCHOR_CHOICES, N_POINTS
from dfecs_app.errors import DfecsError, FormatVersionError, InputError
from dfecs_app.io.atomic import save_npz_atomic, write_json_atomic
from dfecs_app.io.resources import builtin_name, is_builtin, resolve_builtin
from dfecs_app.io.schema import validate
from dfecs_app.io.schemas import ProjectFile
from dfecs_app.io.textfile import read_json_file

__all__ = [
    "PROJECT_FORMAT", "PROJECT_FORMAT_VERSION", "PROJECT_SUFFIX", "DATASET_KINDS", "TRAIN_MODES",
    "Dataset", "NeutralFace", "ModelRef", "SessionRef", "TestSet", "TrainSettings", "Project",
    "EvaluationRecord",
    "save_project", "load_project", "sidecar_dir",
]

PROJECT_FORMAT = "dfecs-project"
PROJECT_FORMAT_VERSION = 1
#: Suffix of project files (the sidecar folder drops the ``.json``).
PROJECT_SUFFIX = ".dfecs.json"
#: ``landmarks``: tracks read by :func:`dfecs_app.io.readers.read_landmarks` then
#: :func:`dfecs_app.core.kpm.compute_kpm`; ``kpm``: KPM files (:func:`dfecs_app.io.kpm_file.load_kpm`);
#: ``synthetic``: :func:`dfecs_app.io.demo.demo_kpm` with ``params`` (the built-in demo).
DATASET_KINDS = ("landmarks", "kpm", "synthetic")
TRAIN_MODES = ("search", "explicit")
NEUTRAL_RULES = ("first", "auto")
MODEL_ROLES = ("dfecs", "baseline")


# ---------------------------------------------------------------------------------------------
# The project model
# ---------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """One training dataset and how its KPMs are made.

    Attributes
    ----------
    name : str
    kind : {'landmarks', 'kpm', 'synthetic'}
        See :data:`DATASET_KINDS`.
    paths : list of Path
        Landmark files/folders (``landmarks``) or KPM files (``kpm``).
    format : str
        Reader format for ``landmarks`` (``"auto"`` or one of the readers' ``FORMATS``).
    neutral : {'first', 'auto'} or int
        Neutral-frame rule of :func:`~dfecs_app.core.kpm.compute_kpm`.
    neutral_overrides : dict {(subject, sequence): frame id}
        Neutral frames picked by hand (win over the rule).
    frontalization : bool
        Landmark frontalization on/off (affine and per-part similarity registration always run).
    anchors : {'auto', 'jaw', 'eyes'}
        Affine registration anchors of :func:`~dfecs_app.core.kpm.compute_kpm`
        (``landmarks.ANCHOR_SETS``). Project files without the key load as ``'auto'``.
    group_by : {'sequence', 'subject'}
        The unit sharing one neutral frame.
    params : dict
        Generator parameters of a ``synthetic`` dataset (``n_samples``, ``random_state``, ...).
    kpm : KPMSet or None
        KPMs held in memory; written to the sidecar folder on save when ``kind == 'kpm'`` and
        ``paths`` is empty. Not compared.
    """

    name: str = "data"
    kind: str = "landmarks"
    paths: list[Path] = field(default_factory=list)
    format: str = "auto"
    neutral: str | int = "first"
    neutral_overrides: dict[tuple[str, str], int] = field(default_factory=dict)
    frontalization: bool = True
    anchors: str = "auto"
    group_by: str = "subject"
    params: dict[str, Any] = field(default_factory=dict)
    kpm: KPMSet | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in DATASET_KINDS:
            raise ValueError(f"dataset kind must be one of {DATASET_KINDS}, got {self.kind!r}")
        if isinstance(self.neutral, bool) or not (isinstance(self.neutral, int) or self.neutral in NEUTRAL_RULES):
            raise ValueError(f"neutral must be 'first', 'auto' or a frame number, got {self.neutral!r}")
        if self.group_by not in ("sequence", "subject"):
            raise ValueError(f"group_by must be 'sequence' or 'subject', got {self.group_by!r}")
        if self.anchors not in ANCHOR_CHOICES:
            raise ValueError(f"anchors must be one of {ANCHOR_CHOICES}, got {self.anchors!r}")
        self.paths = [Path(p) for p in self.paths]


@dataclass(eq=False)
class NeutralFace:
    """The neutral face AUs are projected on (SI 7.1).

    Attributes
    ----------
    image_path : Path or None
        The face image (PNG, JPEG, ...).
    landmarks_path : Path or None
        Its landmarks file (``.pts``, CSV, ...), when the landmarks come from a file.
    points : ndarray of float64, shape (68, 2), or None
        Landmarks given inline or edited by hand (pixels, 0-based, y down); they win over
        ``landmarks_path`` and are stored in ``neutral/landmarks.npz``.
    mask : ndarray of bool, shape (68,), or None
        Present landmarks of ``points`` (default all).
    image : ndarray of uint8, shape (H, W, 3), or None
        An image held only in memory; written as ``neutral/image.png`` when ``image_path``
        is None. Not compared.
    """

    image_path: Path | None = None
    landmarks_path: Path | None = None
    points: np.ndarray | None = None
    mask: np.ndarray | None = None
    image: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.points is not None:
            self.points = np.asarray(self.points, dtype=np.float64)
            if self.points.shape != (N_POINTS, 2):
                raise ValueError(f"neutral points must have shape (68, 2), got {self.points.shape}")
            if self.mask is None:
                self.mask = np.isfinite(self.points).all(axis=1)
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=bool).reshape(N_POINTS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeutralFace):
            return NotImplemented
        return (self.image_path == other.image_path
                and self.landmarks_path == other.landmarks_path
                and _arrays_equal(self.points, other.points)
                and _arrays_equal(self.mask if self.points is not None else None,
                                  other.mask if other.points is not None else None))


@dataclass
class ModelRef:
    """An AU model of the project.

    Attributes
    ----------
    name : str
        Display name (unique within the project).
    path : Path or None
        The model file (:mod:`dfecs_app.io.model_file`).
    role : {'dfecs', 'baseline'}
        A learned DFECS model or a baseline (PCA / FACS) for evaluation.
    model : AUModel or None
        The model in memory (after training or :meth:`load`); written to the sidecar folder
        on save when ``path`` is None. Not compared.
    """

    name: str
    path: Path | None = None
    role: str = "dfecs"
    model: AUModel | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.role not in MODEL_ROLES:
            raise ValueError(f"model role must be one of {MODEL_ROLES}, got {self.role!r}")
        self.path = None if self.path is None else Path(self.path)

    def load(self) -> AUModel:
        """The model: the one in memory, else read (and kept) from ``path``."""
        if self.model is None:
            if self.path is None:
                raise InputError(f"model {self.name!r} has neither a file nor data", field="models")
            from dfecs_app.io.model_file import load_model

            self.model = load_model(self.path)
        return self.model


@dataclass
class SessionRef:
    """A rating session file (:mod:`dfecs_app.io.rating_session`)."""

    name: str
    path: Path


@dataclass
class TestSet:
    """An evaluation test set: a KPM file, a KPM set in memory, or one of the project's datasets.

    Attributes
    ----------
    name : str
    path : Path or None
        KPM file.
    dataset : str or None
        Name of a project :class:`Dataset` used as test data instead of a file.
    kpm : KPMSet or None
        In memory; written to the sidecar folder on save when ``path`` and ``dataset`` are
        None. Not compared.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    path: Path | None = None
    dataset: str | None = None
    kpm: KPMSet | None = field(default=None, compare=False, repr=False)

    def load(self) -> KPMSet:
        """The KPMs in memory, else read (and kept) from ``path``."""
        if self.kpm is None:
            if self.path is None:
                raise InputError(f"test set {self.name!r} is a dataset reference or empty; compute "
                                 "its KPMs from the dataset", field="test_sets")
            from dfecs_app.io.kpm_file import load_kpm

            self.kpm = load_kpm(self.path)
        return self.kpm


@dataclass(eq=False)
class EvaluationRecord:
    """One evaluation result of the project: a model (by name) on a KPM set (by name).

    Attributes
    ----------
    model : str
    data : str
        A test set's name, or ``"train"`` for the training KPMs.
    result : EvaluationResult
        :class:`~dfecs_app.core.evaluation.EvaluationResult`; compared field by field.
    """

    model: str
    data: str
    result: Any

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EvaluationRecord):
            return NotImplemented
        from dfecs_app.io.evaluation_file import result_state

        return ((self.model, self.data) == (other.model, other.data)
                and result_state(self.result) == result_state(other.result))


@dataclass
class TrainSettings:
    """How the FFM is trained (§2.3.3).

    Attributes
    ----------
    beta : float
        Target unexplained variance: the search stops at VE ≥ 1 − β (PFM at 1 − β/2).
    mode : {'search', 'explicit'}
        The paper's hyperparameter search, or the explicit ``hyperparameters``.
    seed : int
        ``random_state`` of every fit.
    hyperparameters : dict
        Explicit hyperparameters (JSON) in the form of ``dfecs train --params`` and
        :class:`~dfecs_app.core.ffm.FullFaceModel` (``parts=``, ``hfm=``), e.g.
        ``{"parts": {"lips": {"k": 4, "alpha": 2.5}}, "hfm": {"q": 16, "alpha_A": 5.0,
        "alpha_B": 0.5}}``; parts left out (and a missing ``hfm``) are searched.
    """

    beta: float = 0.05
    mode: str = "search"
    seed: int = 0
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in TRAIN_MODES:
            raise ValueError(f"training mode must be one of {TRAIN_MODES}, got {self.mode!r}")
        if not 0.0 <= float(self.beta) < 1.0:
            raise ValueError(f"beta must lie in [0, 1), got {self.beta!r}")


@dataclass
class Project:
    """A DFECS Studio project (see the module docstring for files and paths).

    Attributes
    ----------
    name : str
    datasets : list of Dataset
    neutral_face : NeutralFace or None
    models : list of ModelRef
    active_model : str or None
        Name of the model the AU panels show.
    sessions : list of SessionRef
    test_sets : list of TestSet
    training : TrainSettings
    view : dict
        JSON-serialisable, UI-independent display settings (arrow scale, morph intensity, ...)
        that belong to the project rather than to the user's preferences.
    evaluations : list of EvaluationRecord
        Evaluation results (VE curves and table), stored in ``evaluation/results.npz``.
    path : Path or None
        The project file it was loaded from / saved to. Not compared.
    """

    name: str = "Untitled"
    datasets: list[Dataset] = field(default_factory=list)
    neutral_face: NeutralFace | None = None
    models: list[ModelRef] = field(default_factory=list)
    active_model: str | None = None
    sessions: list[SessionRef] = field(default_factory=list)
    test_sets: list[TestSet] = field(default_factory=list)
    training: TrainSettings = field(default_factory=TrainSettings)
    view: dict[str, Any] = field(default_factory=dict)
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    path: Path | None = field(default=None, compare=False)

    def model(self, name: str | None = None) -> ModelRef | None:
        """The model entry called ``name`` (default: the active one), or None."""
        name = self.active_model if name is None else name
        return next((m for m in self.models if m.name == name), None)

    def referenced_files(self) -> list[Path]:
        """Every file or folder the project refers to."""
        out: list[Path] = []
        for d in self.datasets:
            out += d.paths
        if self.neutral_face is not None:
            out += [p for p in (self.neutral_face.image_path, self.neutral_face.landmarks_path) if p]
        out += [m.path for m in self.models if m.path is not None]
        out += [s.path for s in self.sessions]
        out += [t.path for t in self.test_sets if t.path is not None]
        return out

    def missing_files(self) -> list[Path]:
        """Referenced files or folders that do not exist (e.g. data moved away)."""
        return [p for p in self.referenced_files() if not p.exists()]


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------
def sidecar_dir(project_path: str | os.PathLike) -> Path:
    """The folder of a project file's own arrays.

    ``study.dfecs.json`` -> ``study.dfecs/``; ``study.json`` -> ``study.dfecs/``; any other
    name -> ``<name>.data/``.
    """
    p = Path(project_path)
    name = p.name
    if name.lower().endswith(".dfecs.json"):
        return p.with_name(name[:-5])
    if name.lower().endswith(".json"):
        return p.with_name(name[:-5] + ".dfecs")
    return p.with_name(name + ".data")


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def _encode_path(path: Path, base: Path) -> str:
    builtin = builtin_name(path)
    if builtin is not None:
        return builtin
    path = _absolute(path)
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        return path.as_posix()
    return PurePosixPath(*Path(rel).parts).as_posix()


def _decode_path(text: str, base: Path) -> Path:
    if is_builtin(text):
        return resolve_builtin(text)
    p = Path(text)  # forward slashes work on every OS
    return _absolute(p if p.is_absolute() else base / p)


def _arrays_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return s[:40] or "item"


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------
def save_project(path: str | os.PathLike, project: Project) -> Project:
    """Write ``project`` to ``path`` (JSON) and its in-memory arrays to the sidecar folder.

    Parameters
    ----------
    path : str or PathLike
        The project file, conventionally ``<name>.dfecs.json``.
    project : Project
        Not modified.

    Returns
    -------
    Project
        The project as written: absolute paths, in-memory models / KPM sets / landmarks given
        the sidecar files they were written to, ``path`` set. ``load_project(path)`` equals it.
    """
    path = _absolute(path)
    base = path.parent
    side = sidecar_dir(path)
    out = copy.copy(project)
    out.path = path
    owned = _read_manifest(side)
    # files already referenced, and files the app did not write, are never overwritten
    taken = {_absolute(p) for p in project.referenced_files()}
    free = lambda target: _free(target, taken, side, owned)  # noqa: E731
    written: list[Path] = []

    datasets = []
    for i, d in enumerate(project.datasets):
        d = replace(d, paths=[_absolute(p) for p in d.paths],
                    neutral_overrides=dict(d.neutral_overrides), params=dict(d.params))
        if d.kind == "kpm" and not d.paths and d.kpm is not None:
            target = free(side / "kpm" / f"d{i:02d}-{_slug(d.name)}.npz")
            _save_kpm(target, d.kpm)
            written.append(target)
            d.paths = [target]
        datasets.append(d)
    out.datasets = datasets

    models = []
    for i, m in enumerate(project.models):
        m = replace(m, path=None if m.path is None else _absolute(m.path))
        if m.path is None:
            if m.model is None:
                raise InputError(f"model {m.name!r} has neither a file nor data", field="models")
            from dfecs_app.io.model_file import save_model

            m.path = free(side / "models" / f"{i:02d}-{_slug(m.name)}.npz")
            save_model(m.path, m.model)
            written.append(m.path)
        models.append(m)
    out.models = models

    tests = []
    for i, t in enumerate(project.test_sets):
        t = replace(t, path=None if t.path is None else _absolute(t.path))
        if t.path is None and t.dataset is None:
            if t.kpm is None:
                raise InputError(f"test set {t.name!r} has no file, dataset or data", field="test_sets")
            t.path = free(side / "kpm" / f"t{i:02d}-{_slug(t.name)}.npz")
            _save_kpm(t.path, t.kpm)
            written.append(t.path)
        tests.append(t)
    out.test_sets = tests
    out.sessions = [replace(s, path=_absolute(s.path)) for s in project.sessions]
    out.training = replace(project.training, hyperparameters=copy.deepcopy(project.training.hyperparameters))
    out.view = copy.deepcopy(project.view)

    nf = project.neutral_face
    points_path = None
    if nf is not None:
        nf = NeutralFace(
            image_path=None if nf.image_path is None else _absolute(nf.image_path),
            landmarks_path=None if nf.landmarks_path is None else _absolute(nf.landmarks_path),
            points=None if nf.points is None else nf.points.copy(),
            mask=None if nf.mask is None else nf.mask.copy(),
            image=nf.image,
        )
        if nf.image_path is None and nf.image is not None:
            nf.image_path = free(side / "neutral" / "image.png")
            _save_png(nf.image_path, nf.image)
            written.append(nf.image_path)
        if nf.points is not None:
            points_path = free(side / "neutral" / "landmarks.npz")
            save_npz_atomic(points_path, points=nf.points, mask=nf.mask)
            written.append(points_path)
    out.neutral_face = nf

    evaluations_path = None
    out.evaluations = list(project.evaluations)
    if out.evaluations:
        from dfecs_app.io.evaluation_file import save_results

        evaluations_path = free(side / "evaluation" / "results.npz")
        save_results(evaluations_path, [(e.model, e.data, e.result) for e in out.evaluations])
        written.append(evaluations_path)

    # the manifest lists every file the app wrote before the JSON that may refer to them
    # lands, so an interrupted save leaves nothing it could later mistake for a user's file
    owned.update(_stat_entries(side, written))
    if written:
        _write_manifest(side, owned)
    write_json_atomic(path, _to_json(out, base, points_path, evaluations_path))
    keep = set(out.referenced_files()) | {p for p in (points_path, evaluations_path) if p is not None}
    _remove_stale_sidecar_files(side, owned, keep)
    return out


#: The sidecar folder's list of the files :func:`save_project` wrote there (relative POSIX
#: path -> size and mtime_ns right after writing). Only files listed here, unchanged since,
#: are ever overwritten or deleted by a later save.
MANIFEST_NAME = ".dfecs-written.json"
MANIFEST_FORMAT = "dfecs-sidecar-manifest"


def _read_manifest(side: Path) -> dict[str, dict[str, int]]:
    """The manifest's entries; {} when missing, unreadable, or reached through a symlink."""
    f = side / MANIFEST_NAME
    if _through_symlink(side, f) or not f.is_file():
        return {}
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
        files = raw["files"] if raw.get("format") == MANIFEST_FORMAT else {}
        return {str(k): {"size": int(v["size"]), "mtime_ns": int(v["mtime_ns"])}
                for k, v in files.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # a damaged manifest only means nothing is deleted


def _write_manifest(side: Path, entries: dict[str, dict[str, int]]) -> None:
    if _through_symlink(side, side / MANIFEST_NAME):
        return
    write_json_atomic(side / MANIFEST_NAME, {"format": MANIFEST_FORMAT, "format_version": 1,
                                             "files": dict(sorted(entries.items()))})


def _stat_entries(side: Path, files: list[Path]) -> dict[str, dict[str, int]]:
    out = {}
    for f in files:
        st = os.lstat(f)
        out[PurePosixPath(*f.relative_to(side).parts).as_posix()] = {
            "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def _through_symlink(side: Path, target: Path) -> bool:
    """Whether ``side`` or any folder or file between it and ``target`` is a symlink."""
    try:
        rel = target.relative_to(side)
    except ValueError:
        return True
    p = side
    for part in ("", *rel.parts):
        p = p / part if part else p
        if p.is_symlink():
            return True
    return False


def _is_owned(side: Path, rel: str, entries: dict[str, dict[str, int]]) -> bool:
    """``side/rel`` is a regular file the app wrote (listed and unchanged), not behind a symlink."""
    entry = entries.get(rel)
    target = side / PurePosixPath(rel)
    if entry is None or ".." in PurePosixPath(rel).parts or _through_symlink(side, target):
        return False
    try:
        st = os.lstat(target)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == entry["size"]
            and st.st_mtime_ns == entry["mtime_ns"])


def _remove_stale_sidecar_files(side: Path, entries: dict[str, dict[str, int]], keep: set[Path]) -> None:
    """Delete files this module wrote to the sidecar folder that the project no longer uses
    (a removed model, a renamed test set), only after the new JSON is in place. A file is
    deleted only when the manifest lists it and it is unchanged since it was written;
    files put there by the user and anything behind a symlink are never touched."""
    changed = False
    for rel in list(entries):
        target = side / PurePosixPath(rel)
        if _absolute(target) in keep:
            continue
        if _is_owned(side, rel, entries):
            target.unlink(missing_ok=True)
        del entries[rel]  # deleted, or no longer the app's file
        changed = True
    if changed:
        _write_manifest(side, entries)


def _free(target: Path, taken: set[Path], side: Path, owned: dict[str, dict[str, int]]) -> Path:
    """``target``, or ``target`` with a counter: not in ``taken`` (which it joins) and not an
    existing file the app did not write (see :data:`MANIFEST_NAME`)."""
    candidate, k = target, 1
    while candidate in taken or (
            os.path.lexists(candidate)
            and not _is_owned(side, PurePosixPath(*candidate.relative_to(side).parts).as_posix(),
                              owned)):
        candidate = target.with_name(f"{target.stem}-{k}{target.suffix}")
        k += 1
    taken.add(candidate)
    return candidate


def _save_kpm(path: Path, kpm: KPMSet) -> None:
    from dfecs_app.io.kpm_file import save_kpm

    save_kpm(path, kpm)


def _save_png(path: Path, image: np.ndarray) -> None:
    from dfecs_app.io.images import write_image

    try:
        write_image(path, image)
    except ValueError as err:
        raise InputError(f"the neutral image: {err}", field="neutral_face.image") from None


def _to_json(p: Project, base: Path, points_path: Path | None,
             evaluations_path: Path | None) -> dict[str, Any]:
    enc = lambda q: None if q is None else _encode_path(q, base)  # noqa: E731
    nf = p.neutral_face
    return {
        "format": PROJECT_FORMAT,
        "format_version": PROJECT_FORMAT_VERSION,
        "app_version": __version__,
        "name": p.name,
        "datasets": [
            {
                "name": d.name,
                "kind": d.kind,
                "paths": [enc(x) for x in d.paths],
                "format": d.format,
                "neutral": d.neutral,
                "neutral_overrides": [
                    {"subject": s, "sequence": q, "frame": int(f)}
                    for (s, q), f in sorted(d.neutral_overrides.items())
                ],
                "frontalization": bool(d.frontalization),
                "anchors": d.anchors,
                "group_by": d.group_by,
                "params": d.params,
            }
            for d in p.datasets
        ],
        "neutral_face": None if nf is None else {
            "image": enc(nf.image_path),
            "landmarks": enc(nf.landmarks_path),
            "points": None if nf.points is None else enc(points_path),
        },
        "models": [{"name": m.name, "path": enc(m.path), "role": m.role} for m in p.models],
        "active_model": p.active_model,
        "rating_sessions": [{"name": s.name, "path": enc(s.path)} for s in p.sessions],
        "test_sets": [{"name": t.name, "path": enc(t.path), "dataset": t.dataset} for t in p.test_sets],
        "training": {
            "beta": float(p.training.beta),
            "mode": p.training.mode,
            "seed": int(p.training.seed),
            "hyperparameters": p.training.hyperparameters,
        },
        "view": p.view,
        "evaluations": enc(evaluations_path),
    }


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
_MISSING = object()


class _Fields:
    """Typed access to a JSON object, raising InputError naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, message: str) -> InputError:
        return InputError(message, self.path, field=where)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"must be a JSON object, got {type(value).__name__}")
        return value

    def get(self, obj: dict[str, Any], key: str, where: str, kinds: tuple[type, ...],
            default: Any = _MISSING, check: Callable[[Any], bool] | None = None,
            expect: str = "") -> Any:
        name = f"{where}.{key}" if where else key
        if key not in obj:
            if default is _MISSING:
                raise self.error(name, "missing")
            return default
        return self.value(obj[key], name, kinds, check, expect)

    def value(self, value: Any, name: str, kinds: tuple[type, ...],
              check: Callable[[Any], bool] | None = None, expect: str = "") -> Any:
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if ok and check is not None:
            ok = check(value)
        if not ok:
            what = expect or " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise self.error(name, f"must be {what}, got {json.dumps(value)[:60]}")
        return value

    def items(self, obj: dict[str, Any], key: str, where: str) -> list[tuple[str, dict[str, Any]]]:
        values = self.get(obj, key, where, (list,), default=[])
        name = f"{where}.{key}" if where else key
        return [(f"{name}[{i}]", self.obj(v, f"{name}[{i}]")) for i, v in enumerate(values)]


def load_project(path: str | os.PathLike) -> Project:
    """Read a project file written by :func:`save_project` (files it references are not read).

    Raises
    ------
    InputError
        Not a readable JSON project file, or a malformed field (named, e.g.
        ``[datasets[0].neutral]``).
    FormatVersionError
        Written with another project format version.
    """
    path = _absolute(path)
    raw = read_json_file(path, "project file")
    f = _Fields(path)
    if not isinstance(raw, dict) or raw.get("format") != PROJECT_FORMAT:
        raise InputError(f"not a DFECS project file (expected \"format\": \"{PROJECT_FORMAT}\")", path,
                         field="format")
    version = raw.get("format_version")
    if version != PROJECT_FORMAT_VERSION:
        raise FormatVersionError(
            f"project format version {json.dumps(version)} is not supported (this app reads version "
            f"{PROJECT_FORMAT_VERSION}; written by DFECS Studio {raw.get('app_version', '?')})",
            path, field="format_version")
    validate(ProjectFile, raw, path)  # the declared types and bounds (io/schemas.py)
    base = path.parent

    def decode(text: str, where: str) -> Path:
        try:
            return _decode_path(text, base)
        except ValueError as err:  # a malformed builtin: name
            raise f.error(where, str(err)) from None

    def opt_path(obj: dict[str, Any], key: str, where: str) -> Path | None:
        value = f.get(obj, key, where, (str, type(None)), default=None)
        return None if value is None else decode(value, f"{where}.{key}")

    def req_path(obj: dict[str, Any], key: str, where: str) -> Path:
        return decode(f.get(obj, key, where, (str,), check=bool, expect="a non-empty path"),
                      f"{where}.{key}")

    datasets = []
    for where, d in f.items(raw, "datasets", ""):
        kind = f.get(d, "kind", where, (str,), "landmarks", lambda v: v in DATASET_KINDS,
                     f"one of {DATASET_KINDS}")
        paths_raw = f.get(d, "paths", where, (list,), [])
        paths = [decode(f.value(p, f"{where}.paths[{i}]", (str,), bool, "a non-empty path"),
                        f"{where}.paths[{i}]")
                 for i, p in enumerate(paths_raw)]
        neutral = f.get(d, "neutral", where, (str, int), "first",
                        lambda v: isinstance(v, int) or v in NEUTRAL_RULES,
                        "'first', 'auto' or a frame number")
        overrides: dict[tuple[str, str], int] = {}
        for w2, o in f.items(d, "neutral_overrides", where):
            overrides[(f.get(o, "subject", w2, (str,)), f.get(o, "sequence", w2, (str,)))] = \
                f.get(o, "frame", w2, (int,))
        datasets.append(Dataset(
            name=f.get(d, "name", where, (str,), "data"),
            kind=kind,
            paths=paths,
            format=f.get(d, "format", where, (str,), "auto"),
            neutral=neutral,
            neutral_overrides=overrides,
            frontalization=f.get(d, "frontalization", where, (bool,), True),
            anchors=f.get(d, "anchors", where, (str,), "auto", lambda v: v in ANCHOR_CHOICES,
                          "one of " + ", ".join(map(repr, ANCHOR_CHOICES))),
            group_by=f.get(d, "group_by", where, (str,), "sequence",
                           lambda v: v in ("sequence", "subject"), "'sequence' or 'subject'"),
            params=f.get(d, "params", where, (dict,), {}),
        ))

    neutral_face = None
    nf_raw = f.get(raw, "neutral_face", "", (dict, type(None)), None)
    if nf_raw is not None:
        where = "neutral_face"
        points = mask = None
        pts_path = opt_path(nf_raw, "points", where)
        if pts_path is not None:
            points, mask = _load_neutral_points(pts_path, path)
        neutral_face = NeutralFace(image_path=opt_path(nf_raw, "image", where),
                                   landmarks_path=opt_path(nf_raw, "landmarks", where),
                                   points=points, mask=mask)

    models = []
    for where, m in f.items(raw, "models", ""):
        models.append(ModelRef(
            name=f.get(m, "name", where, (str,)),
            path=req_path(m, "path", where),
            role=f.get(m, "role", where, (str,), "dfecs", lambda v: v in MODEL_ROLES,
                       f"one of {MODEL_ROLES}"),
        ))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise f.error("models", "two models have the same name")
    active = f.get(raw, "active_model", "", (str, type(None)), None)
    if active is not None and active not in names:
        raise f.error("active_model", f"names no model of the project: {active!r}")

    sessions = [SessionRef(name=f.get(s, "name", where, (str,)), path=req_path(s, "path", where))
                for where, s in f.items(raw, "rating_sessions", "")]
    tests = []
    for where, t in f.items(raw, "test_sets", ""):
        test = TestSet(name=f.get(t, "name", where, (str,)), path=opt_path(t, "path", where),
                       dataset=f.get(t, "dataset", where, (str, type(None)), None))
        if test.path is None and test.dataset is None:
            raise f.error(where, "a test set needs a 'path' or a 'dataset'")
        if test.dataset is not None and test.dataset not in {d.name for d in datasets}:
            raise f.error(f"{where}.dataset", f"names no dataset of the project: {test.dataset!r}")
        tests.append(test)

    evaluations = []
    eval_path = opt_path(raw, "evaluations", "")
    if eval_path is not None:
        from dfecs_app.io.evaluation_file import load_results

        try:
            records = load_results(eval_path)
        except DfecsError as err:  # name the project file too: that is what the user opened
            raise f.error("evaluations", str(err)) from None
        evaluations = [EvaluationRecord(m, d, r) for m, d, r in records]

    tr = f.get(raw, "training", "", (dict,), {})
    training = TrainSettings(
        beta=float(f.get(tr, "beta", "training", (int, float), 0.05, lambda v: 0 <= v < 1,
                         "a number in [0, 1)")),
        mode=f.get(tr, "mode", "training", (str,), "search", lambda v: v in TRAIN_MODES,
                   f"one of {TRAIN_MODES}"),
        seed=f.get(tr, "seed", "training", (int,), 0),
        hyperparameters=f.get(tr, "hyperparameters", "training", (dict,), {}),
    )
    return Project(
        name=f.get(raw, "name", "", (str,), path.name.split(".")[0]),
        datasets=datasets,
        neutral_face=neutral_face,
        models=models,
        active_model=active,
        sessions=sessions,
        test_sets=tests,
        training=training,
        view=f.get(raw, "view", "", (dict,), {}),
        evaluations=evaluations,
        path=path,
    )


def _load_neutral_points(npz_path: Path, project_path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            points = np.asarray(npz["points"], dtype=np.float64)
            mask = np.asarray(npz["mask"], dtype=bool) if "mask" in npz.files else None
    except FileNotFoundError as err:
        raise InputError("the project's neutral landmarks file is missing (was the project's "
                         f"{sidecar_dir(project_path).name}/ folder left behind?)", npz_path) from err
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"cannot read the neutral landmarks ({err})", npz_path, field="points") from err
    if points.shape != (N_POINTS, 2):
        raise InputError(f"must have shape (68, 2), got {points.shape}", npz_path, field="points")
    if mask is None:
        mask = np.isfinite(points).all(axis=1)
    if mask.shape != (N_POINTS,):
        raise InputError(f"must have shape (68,), got {mask.shape}", npz_path, field="mask")
    return points, mask
