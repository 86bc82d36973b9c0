"""Rating sessions on disk: one JSON file, rewritten atomically after every change.

File format (``format: "dfecs-rating-session"``, ``format_version: 1``)::

    {
      "format": "dfecs-rating-session", "format_version": 1, "app_version": "0.1.0",
      "session_id": "3f2a...", "created": ISO time, "modified": ISO time,
      "model": {"hash": sha256 | null, "kind": "dfecs", "path": "model.npz" | null},
      "components": ["Component 1", ...],          # the model's names, model order
      "raters": [{"name": "Rater 1", "order": [5, 0, ...]}, ...],   # blinded orders
      "seed": 1234, "tie_rule": "non_interpretable", "blinded": true, "closed": false,
      "pack": null | {"session_id": ..., "rater": ...},   # set in a returned-ratings file
      "models": [...],                             # format_version 2 only, see below
      "votes": [{"rater": "Rater 1", "component": 5, "vote": true, "points": [17, 18],
                 "artifact": "...", "basis": "...", "time": ISO time}, ...]
    }

Comparison sessions (format version 2)
--------------------------------------
A session may rate the AUs of two or more models shuffled together
(:class:`~dfecs_app.core.rated_models.RatedModels`); it then also has
``"models": [{"label", "kind", "hash", "path", "start", "stop"}, ...]`` (the model of AUs
``start..stop-1``), ``model.kind`` is ``"comparison"`` and ``model.hash`` is the hash of the
whole set. Such files are written with ``format_version: 2`` (so older versions of the app
refuse them instead of mixing the models up); single-model sessions stay version 1. Raters see
AUs only by their :meth:`RatingSession.display_names` (neutral labels, never the model).

Binding to a model
------------------
A session rates one model, identified by :meth:`AUModel.content_hash`. Opening it with a
different model is refused (:class:`InputError` naming both hashes), except when the model comes
from the very file the session was created with and still has as many components: the model
file *changed*, the session opens with a :class:`ModelChangedWarning` (``session.model_warning``
holds the message). Opening without a model checks the recorded model file the same way.

Durability
----------
Every mutating method rewrites the file through :func:`dfecs_app.io.atomic.write_text_atomic`
(temporary file, fsync, rename) before it returns: killing the process at any moment loses at
most the change in flight. A change that cannot be written (disk full, read-only folder) raises
:class:`SessionSaveError` and is rolled back: the vote is on disk or not recorded at all.

Concurrent writers
------------------
Every save holds :func:`dfecs_app.io.file_lock.folder_lock` and first compares the file with
what this object last read or wrote (SHA-256 of the bytes). If another writer (``dfecs ratings
merge``, a second window) changed it, its state is merged in first: votes this object did not
change since come from the file, this object's own changes win on the votes they touch, new
raters are added, and a session closed elsewhere refuses further votes.

Blinding
--------
While a blinded session is open, only per-rater accessors (:meth:`RatingSession.rater_votes`,
:meth:`RatingSession.vote`) are available; the whole vote table (:meth:`votes`,
:meth:`matrix`, :meth:`summary`) raises :class:`DfecsError` until :meth:`close`.

Related modules
---------------
Rating packs for volunteers on other machines are in :mod:`dfecs_app.io.rating_pack`; votes
tables (CSV) in :mod:`dfecs_app.io.votes_csv`.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import os
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.core.ratings import (
    DEFAULT_TIE_RULE,
    TIE_RULES,
    CommandStack,
    RatingSummary,
    SetVote,
    Vote,
    blinded_order,
    summarize,
    vote_matrix,
)
from dfecs_app.errors import DfecsError, FormatVersionError, InputError
from dfecs_app.io.atomic import write_text_atomic
from dfecs_app.io.file_lock import folder_lock
from dfecs_app.io.schema import validate
from dfecs_app.io.schemas import SessionFile
from dfecs_app.io.textfile import json_field, read_json_file

SESSION_FORMAT = "dfecs-rating-session"
SESSION_FORMAT_VERSION = 1
#: Format version of sessions that rate several models (the ``models`` field).
COMPARISON_FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (SESSION_FORMAT_VERSION, COMPARISON_FORMAT_VERSION)
DEFAULT_RATERS = ("Rater 1", "Rater 2", "Rater 3")
HASH_SHOWN = 16


class SessionSaveError(DfecsError):
    """A change could not be written to the session file; it was not recorded (memory, undo
    stack and file agree on the state before the change)."""


class ModelChangedWarning(UserWarning):
    """The session's model file changed since the session was created."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def short_hash(h: str | None) -> str:
    return "none" if not h else h[:HASH_SHOWN]


def normalize_name(name: str) -> str:
    """Component names compare with ASCII and Unicode minus alike, case and spaces ignored."""
    return " ".join(str(name).replace("\u2212", "-").split()).casefold()


class RatingSession:
    """One rating session: raters, their blinded orders and votes, saved after every change.

    Create with :meth:`create` (or :meth:`create_from_names` without a model) and reopen with
    :meth:`open`. Attributes are read-only in spirit; change them through the methods, which
    save.

    Attributes
    ----------
    path : Path
    session_id : str
    model_hash : str or None
    model_kind : str
    components : list of str
    raters : list of str
    seed : int
    tie : str
    blinded : bool
    closed : bool
    pack : dict or None
        ``{"session_id", "rater"}`` in a returned-ratings file made by
        :func:`dfecs_app.io.rating_pack.export_pack`.
    model_warning : str or None
        Set when the model changed since the session was created.
    """

    def __init__(self, path: str | os.PathLike, *, session_id: str, model_hash: str | None,
                 model_kind: str, model_path: str | None, components: list[str],
                 raters: list[str], orders: dict[str, list[int]], seed: int, tie: str,
                 blinded: bool, closed: bool, created: str, modified: str,
                 pack: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.session_id = session_id
        self.model_hash = model_hash
        self.model_kind = model_kind
        self.model_path = model_path
        self.components = list(components)
        self.raters = list(raters)
        self._orders = {k: list(v) for k, v in orders.items()}
        self.seed = int(seed)
        self.tie = tie
        self.blinded = bool(blinded)
        self.closed = bool(closed)
        self.created = created
        self.modified = modified
        self.pack = pack
        #: Comparison sessions: one dict per model (label, kind, hash, path, start, stop).
        self.models: list[dict[str, Any]] | None = None
        self.model_warning: str | None = None
        self._votes: dict[str, dict[int, Vote]] = {r: {} for r in self.raters}
        self._times: dict[tuple[str, int], str] = {}
        self._stacks: dict[str, CommandStack] = {r: CommandStack() for r in self.raters}
        #: SHA-256 of the file as last read or written by this object (None: never).
        self._disk_digest: str | None = None
        #: (rater, component) changed here since the last save.
        self._dirty: set[tuple[str, int]] = set()

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, model: AUModel,
               raters: list[str] | tuple[str, ...] = DEFAULT_RATERS, *, seed: int | None = None,
               tie: str = DEFAULT_TIE_RULE, blinded: bool = True,
               model_path: str | os.PathLike | None = None, overwrite: bool = False
               ) -> RatingSession:
        """Start a session rating ``model`` and write it to ``path``.

        Parameters
        ----------
        path : path
            The session file (``.json``).
        model : AUModel
            The rated model (its names become the component names).
        raters : sequence of str
            Rater names (unique, non-empty); three by default.
        seed : int, optional
            Seed of the blinded orders (random when None; stored in the file).
        tie : {'non_interpretable', 'interpretable'}
            Tie rule for the majority vote.
        blinded : bool
            Per-rater random orders and no view of other raters' votes until closed.
        model_path : path, optional
            The model file, recorded (relative to the session) to detect a changed model.
        overwrite : bool
            Replace an existing file at ``path`` (refused otherwise).
        """
        describe = getattr(model, "describe", None)
        session = cls.create_from_names(path, list(model.names), raters,
                                        model_hash=model.content_hash(), model_kind=model.kind,
                                        seed=seed, tie=tie, blinded=blinded,
                                        model_path=None if describe else model_path,
                                        overwrite=overwrite, save=describe is None)
        if describe is not None:  # several models (RatedModels): model_path is one per model
            paths = list(model_path) if isinstance(model_path, list | tuple) else []
            models = describe()
            for i, m in enumerate(models):
                p = paths[i] if i < len(paths) else None
                m["path"] = None if p is None else _relative_to(Path(p), Path(path).parent)
            session.models = models
            session.save()
        return session

    @classmethod
    def create_from_names(cls, path: str | os.PathLike, components: list[str],
                          raters: list[str] | tuple[str, ...] = DEFAULT_RATERS, *,
                          model_hash: str | None = None, model_kind: str = "dfecs",
                          seed: int | None = None, tie: str = DEFAULT_TIE_RULE,
                          blinded: bool = True, model_path: str | os.PathLike | None = None,
                          overwrite: bool = False, save: bool = True) -> RatingSession:
        """Like :meth:`create` for components known by name only (``model_hash`` may be None)."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise InputError("a file already exists here; choose another name or overwrite it",
                             path)
        raters = _check_raters(list(raters), path)
        if not components:
            raise InputError("a session needs at least one component", path, field="components")
        if tie not in TIE_RULES:
            raise InputError(f"tie rule must be one of {TIE_RULES}, got {tie!r}", path,
                             field="tie_rule")
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        k = len(components)
        orders = {r: blinded_order(k, r, seed) if blinded else list(range(k)) for r in raters}
        now = utc_now()
        rel = None
        if model_path is not None:
            rel = _relative_to(Path(model_path), path.parent)
        session = cls(path, session_id=uuid.uuid4().hex, model_hash=model_hash,
                      model_kind=model_kind, model_path=rel, components=list(components),
                      raters=raters, orders=orders, seed=seed, tie=tie, blinded=blinded,
                      closed=False, created=now, modified=now)
        if save:
            session.save()
        return session

    @classmethod
    def open(cls, path: str | os.PathLike, model: AUModel | None = None,
             model_path: str | os.PathLike | None = None) -> RatingSession:
        """Read a session file and check it against ``model`` (see the module docstring).

        Raises
        ------
        InputError
            Unreadable or malformed file (naming the field), or a session for another model.
        FormatVersionError
            Another format version.
        """
        path = Path(path)
        with folder_lock(path):
            data = read_session_json(path)
            digest = _file_digest(path)
        session = session_from_json(path, data)
        session._disk_digest = digest
        session.check_model(model, model_path)
        return session

    def check_model(self, model: AUModel | None, model_path: str | os.PathLike | None = None
                    ) -> None:
        """Refuse another model; warn (``ModelChangedWarning``) about a changed model file."""
        recorded = self.recorded_model_path()
        if model is None:
            if recorded is None or not recorded.is_file():
                return
            from dfecs_app.io.model_file import load_model
            try:
                model = load_model(recorded)
            except DfecsError:
                return
            model_path = recorded
        h = model.content_hash()
        if self.model_hash is None:
            self._check_names(model)
            return
        if h == self.model_hash:
            return
        same_file = (model_path is not None and recorded is not None
                     and Path(model_path).resolve() == recorded.resolve())
        if same_file and model.n_components == len(self.components):
            self.model_warning = (
                f"the model file {recorded} changed since this session was created (session "
                f"model sha256 {short_hash(self.model_hash)}…, file now {short_hash(h)}…): the votes "
                "refer to the components as they were")
            warnings.warn(self.model_warning, ModelChangedWarning, stacklevel=3)
            return
        raise InputError(
            f"this session rates another model (session model sha256 {short_hash(self.model_hash)}…, "
            f"given model sha256 {short_hash(h)}…)", self.path, field="model.hash")

    def _check_names(self, model: AUModel) -> None:
        if [normalize_name(n) for n in model.names] != [normalize_name(n) for n in self.components]:
            raise InputError(
                f"the model's {model.n_components} components do not match the session's "
                f"{len(self.components)} components", self.path, field="components")

    def recorded_model_path(self) -> Path | None:
        if not self.model_path:
            return None
        p = Path(self.model_path)
        return p if p.is_absolute() else (self.path.parent / p)

    # -- saving ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        votes = []
        for r in self.raters:
            for c in sorted(self._votes[r]):
                v = self._votes[r][c]
                votes.append({"rater": r, "component": c, "vote": v.interpretable,
                              "points": list(v.points), "artifact": v.artifact,
                              "basis": v.basis, "time": self._times.get((r, c), "")})
        out = {
            "format": SESSION_FORMAT,
            "format_version": COMPARISON_FORMAT_VERSION if self.models else SESSION_FORMAT_VERSION,
            "app_version": __version__, "session_id": self.session_id,
            "created": self.created, "modified": self.modified,
            "model": {"hash": self.model_hash, "kind": self.model_kind, "path": self.model_path},
            "components": self.components,
            "raters": [{"name": r, "order": self._orders[r]} for r in self.raters],
            "seed": self.seed, "tie_rule": self.tie, "blinded": self.blinded,
            "closed": self.closed, "pack": self.pack, "votes": votes,
        }
        if self.models:
            out["models"] = [dict(m) for m in self.models]
        return out

    def save(self) -> None:
        """Merge what other writers saved meanwhile, then write the session atomically.

        Raises
        ------
        SessionSaveError
            The file could not be written, or the session was closed or replaced elsewhere.
        """
        with folder_lock(self.path):
            current = _file_digest(self.path)
            if (current is not None and self._disk_digest is not None
                    and current != self._disk_digest):
                self._merge_from_disk()
            self.modified = utc_now()
            text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
            try:
                write_text_atomic(self.path, text)
            except OSError as err:
                reason = ("the disk is full" if err.errno == errno.ENOSPC
                          else err.strerror or str(err))
                raise SessionSaveError(f"{self.path}: could not save the session ({reason}); "
                                       "the last change was NOT recorded") from None
            self._disk_digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            self._dirty.clear()

    def _merge_from_disk(self) -> None:
        """Take into memory what another writer saved (see "Concurrent writers")."""
        try:
            disk = session_from_json(self.path, read_session_json(self.path))
        except InputError as err:
            raise SessionSaveError(f"the session file was changed by another program and no "
                                   f"longer reads ({err}); the last change was NOT recorded"
                                   ) from None
        if disk.session_id != self.session_id:
            raise SessionSaveError(f"{self.path}: the file now holds another session; the last "
                                   "change was NOT recorded")
        if disk.closed and not self.closed:
            if self._dirty:
                raise SessionSaveError(f"{self.path}: the session was closed by another program; "
                                       "votes can no longer change (the last change was NOT "
                                       "recorded)")
            self.closed = True
        for r in disk.raters:
            if r not in self._votes:
                self.raters.append(r)
                self._orders[r] = disk.order(r)
                self._votes[r] = {}
                self._stacks[r] = CommandStack()
        for r in self.raters:
            if r not in disk._votes:
                continue
            mine, theirs = self._votes[r], disk._votes[r]
            changed = False
            for c in set(mine) | set(theirs):
                if (r, c) in self._dirty or mine.get(c) == theirs.get(c):
                    continue
                changed = True
                if c in theirs:
                    mine[c] = theirs[c]
                    self._times[(r, c)] = disk._times.get((r, c), "")
                else:
                    mine.pop(c, None)
                    self._times.pop((r, c), None)
            if changed:  # the undo history no longer describes this rater's votes
                self._stacks[r].clear()

    @contextlib.contextmanager
    def _transaction(self):
        """Apply changes in the block and save; on any failure restore the state before."""
        snapshot = copy.deepcopy((self._votes, self._times, self._stacks, self.raters,
                                  self._orders, self.closed, self._dirty))
        try:
            yield
            self.save()
        except BaseException:
            (self._votes, self._times, self._stacks, self.raters, self._orders, self.closed,
             self._dirty) = snapshot
            raise

    def save_as(self, path: str | os.PathLike) -> None:
        """Write a copy to ``path`` and continue with that file."""
        old_dir = self.path.parent
        self.path = Path(path)
        if self.model_path and not Path(self.model_path).is_absolute():
            self.model_path = _relative_to(old_dir / self.model_path, self.path.parent)
        for m in self.models or ():
            if m.get("path") and not Path(m["path"]).is_absolute():
                m["path"] = _relative_to(old_dir / m["path"], self.path.parent)
        self._disk_digest = None  # a new file: whatever is there is replaced
        self.save()

    # -- per-rater access -----------------------------------------------------------------
    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def is_comparison(self) -> bool:
        """Whether the session rates several models shuffled together."""
        return bool(self.models)

    def display_names(self) -> list[str]:
        """What raters see as each AU's name: the component names, or for a comparison
        session neutral labels that do not reveal the model
        (:func:`~dfecs_app.core.rated_models.blind_labels`)."""
        if not self.is_comparison:
            return list(self.components)
        from dfecs_app.core.rated_models import blind_labels

        return blind_labels(self.n_components, self.seed)

    def model_groups(self) -> list[tuple[str, list[int]]]:
        """(label, component indices) per model; one group for a single-model session."""
        if not self.is_comparison:
            return [(self.model_kind.upper() if self.model_kind != "dfecs" else "DFECS",
                     list(range(self.n_components)))]
        return [(str(m["label"]), list(range(int(m["start"]), int(m["stop"]))))
                for m in self.models]

    def _rater(self, rater: str) -> str:
        if rater not in self._votes:
            raise DfecsError(f"unknown rater {rater!r} (raters: {', '.join(self.raters)})")
        return rater

    def _component(self, component: int) -> int:
        c = int(component)
        if not 0 <= c < self.n_components:
            raise DfecsError(f"component {c} out of range 0..{self.n_components - 1}")
        return c

    def order(self, rater: str) -> list[int]:
        """The rater's order of components (0-based indices)."""
        return list(self._orders[self._rater(rater)])

    def vote(self, rater: str, component: int) -> Vote | None:
        """The rater's own vote on ``component`` (None if not rated)."""
        return self._votes[self._rater(rater)].get(self._component(component))

    def rater_votes(self, rater: str) -> dict[int, Vote]:
        """The rater's own votes, component -> Vote (what the rater's view may show)."""
        return dict(self._votes[self._rater(rater)])

    def progress(self, rater: str) -> tuple[int, int]:
        """(components rated by ``rater``, components)."""
        return len(self._votes[self._rater(rater)]), self.n_components

    def resume_position(self, rater: str) -> int:
        """Position in the rater's order where they stopped: the first component not rated."""
        votes = self._votes[self._rater(rater)]
        order = self._orders[rater]
        for pos, c in enumerate(order):
            if c not in votes:
                return pos
        return len(order) - 1

    def vote_count(self, rater: str) -> int:
        """How many components ``rater`` has rated."""
        return len(self._votes[self._rater(rater)])

    def rater_done(self, rater: str) -> bool:
        return len(self._votes[self._rater(rater)]) == self.n_components

    @property
    def complete(self) -> bool:
        return all(self.rater_done(r) for r in self.raters)

    def can_undo(self, rater: str) -> bool:
        return self._stacks[self._rater(rater)].can_undo

    def can_redo(self, rater: str) -> bool:
        return self._stacks[self._rater(rater)].can_redo

    # -- mutations (each one saves) -------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise DfecsError("the session is closed: votes can no longer change")

    def _apply(self, cmd: SetVote) -> None:
        self._dirty.add((cmd.rater, cmd.component))
        votes = self._votes[cmd.rater]
        if cmd.after is None:
            votes.pop(cmd.component, None)
            self._times.pop((cmd.rater, cmd.component), None)
        else:
            votes[cmd.component] = cmd.after
            self._times[(cmd.rater, cmd.component)] = utc_now()

    def _change(self, rater: str, component: int, after: Vote | None) -> Vote | None:
        self._check_open()
        rater, component = self._rater(rater), self._component(component)
        before = self._votes[rater].get(component)
        if before == after:
            return after
        cmd = SetVote(rater, component, before, after)
        with self._transaction():
            self._apply(cmd)
            self._stacks[rater].push(cmd)
        return after

    def set_vote(self, rater: str, component: int, interpretable: bool, *,
                 points: tuple[int, ...] | list[int] | None = None, artifact: str | None = None,
                 basis: str | None = None) -> Vote:
        """Record ✓/× (keeping earlier artifact notes unless new ones are given) and save."""
        before = self.vote(rater, component)
        vote = Vote(component=int(component), rater=rater, interpretable=bool(interpretable),
                    points=tuple(points) if points is not None else
                    (before.points if before else ()),
                    artifact=artifact if artifact is not None else (before.artifact if before else ""),
                    basis=basis if basis is not None else (before.basis if before else ""))
        self._change(rater, component, vote)
        return vote

    def clear_vote(self, rater: str, component: int) -> None:
        """Remove the rater's vote on ``component`` and save."""
        self._change(rater, component, None)

    def toggle_point(self, rater: str, component: int, point: int) -> Vote:
        """Add/remove an artifact keypoint (a × vote is created if there is none) and save."""
        if not 0 <= int(point) < N_POINTS:
            raise DfecsError(f"keypoint {point} out of range 0..{N_POINTS - 1}")
        before = self.vote(rater, component)
        base = before or Vote(component=int(component), rater=rater, interpretable=False)
        vote = base.toggled(int(point))
        self._change(rater, component, vote)
        return vote

    def set_points(self, rater: str, component: int, points: list[int] | tuple[int, ...]) -> Vote:
        """Replace the artifact keypoints (a × vote is created if there is none) and save."""
        before = self.vote(rater, component)
        base = before or Vote(component=int(component), rater=rater, interpretable=False)
        try:
            vote = base.with_points(tuple(int(p) for p in points))
        except ValueError as err:
            raise DfecsError(str(err)) from err
        self._change(rater, component, vote)
        return vote

    def set_artifact(self, rater: str, component: int, artifact: str | None = None,
                     basis: str | None = None) -> Vote:
        """Set the artifact text and/or muscular basis (× vote created if none) and save."""
        before = self.vote(rater, component)
        base = before or Vote(component=int(component), rater=rater, interpretable=False)
        vote = Vote(component=base.component, rater=rater, interpretable=base.interpretable,
                    points=base.points,
                    artifact=base.artifact if artifact is None else str(artifact),
                    basis=base.basis if basis is None else str(basis))
        self._change(rater, component, vote)
        return vote

    def undo(self, rater: str) -> int | None:
        """Undo the rater's last change; returns the component it touched (None: nothing)."""
        return self._replay(rater, redo=False)

    def redo(self, rater: str) -> int | None:
        """Redo the rater's last undone change; returns the component (None: nothing)."""
        return self._replay(rater, redo=True)

    def _replay(self, rater: str, *, redo: bool) -> int | None:
        self._check_open()
        self._rater(rater)
        if not (self._stacks[rater].can_redo if redo else self._stacks[rater].can_undo):
            return None
        with self._transaction():
            stack = self._stacks[rater]
            cmd = stack.redo() if redo else stack.undo()
            self._apply(cmd)
        return cmd.component

    def add_rater(self, name: str) -> None:
        """Add a rater (with their own blinded order) and save."""
        self._check_open()
        _check_raters(self.raters + [name], self.path)
        with self._transaction():
            self.raters.append(name)
            k = self.n_components
            self._orders[name] = (blinded_order(k, name, self.seed) if self.blinded
                                  else list(range(k)))
            self._votes[name] = {}
            self._stacks[name] = CommandStack()

    def close(self) -> None:
        """Close the session: votes freeze and become visible to all. Saves."""
        with self._transaction():
            self.closed = True
            for s in self._stacks.values():
                s.clear()

    # -- whole-table access (unblinded) ---------------------------------------------------
    def _check_unblinded(self) -> None:
        if self.blinded and not self.closed:
            raise DfecsError(f"{self.path}: the session is blinded and still open; close it to "
                             "see all raters' votes")

    def votes(self) -> list[Vote]:
        """Every vote, by rater then component (closed or unblinded sessions only)."""
        self._check_unblinded()
        return [self._votes[r][c] for r in self.raters for c in sorted(self._votes[r])]

    def vote_time(self, rater: str, component: int) -> str:
        return self._times.get((rater, int(component)), "")

    def matrix(self) -> np.ndarray:
        """The ``(k, r)`` vote matrix (1 ✓, 0 ×, NaN missing)."""
        return vote_matrix(self.votes(), self.n_components, self.raters)

    def summary(self, tie: str | None = None) -> RatingSummary:
        """Table 1 / Table 2 of this session (closed or unblinded sessions only)."""
        return summarize(self.matrix(), self.components, self.raters, tie or self.tie,
                         votes=self.votes())


# ---------------------------------------------------------------------------------------------
# reading and validation
# ---------------------------------------------------------------------------------------------
def _file_digest(path: Path) -> str | None:
    """SHA-256 of the file's bytes (None when it does not exist)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def _relative_to(target: Path, base: Path) -> str:
    try:
        return os.path.relpath(target.resolve(), base.resolve())
    except ValueError:  # another drive on Windows
        return str(target.resolve())


def _check_raters(raters: list[str], path: Path) -> list[str]:
    names = [str(r).strip() for r in raters]
    if not names:
        raise InputError("a session needs at least one rater", path, field="raters")
    if any(not n for n in names):
        raise InputError("a rater name is empty", path, field="raters")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"rater names must be unique ({', '.join(dup)} repeated)", path,
                         field="raters")
    return names


def read_session_json(path: Path) -> dict[str, Any]:
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise InputError("not a DFECS rating session (expected a JSON object)", path)
    return data




def session_from_json(path: Path, data: dict[str, Any]) -> RatingSession:
    """A session from its parsed JSON, validated against :class:`~dfecs_app.io.schemas.SessionFile`.

    Raises
    ------
    InputError
        The first field that breaks the schema (strict types: ``"closed": "false"`` is refused,
        never read as closed), an unknown rater or a duplicate vote.
    FormatVersionError
        Another format version.
    """
    if data.get("format") != SESSION_FORMAT:
        raise InputError(f"not a DFECS rating session (format {str(data.get('format'))[:40]!r})",
                         path, field="format")
    version = data.get("format_version")
    if isinstance(version, bool) or version not in SUPPORTED_FORMAT_VERSIONS:
        raise FormatVersionError(f"rating session format version {str(version)[:20]} is not "
                                 f"supported (this app reads versions "
                                 f"{', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))})", path,
                                 field="format_version")
    doc = validate(SessionFile, data, path)
    components = list(doc.components)
    k = len(components)
    raters = [r.name for r in doc.raters]
    orders = {r.name: list(r.order) for r in doc.raters}
    _check_raters(raters, path)
    if doc.tie_rule not in TIE_RULES:
        raise InputError(f"must be one of {TIE_RULES}", path, field="tie_rule")
    session = RatingSession(
        path, session_id=doc.session_id or uuid.uuid4().hex, model_hash=doc.model.hash,
        model_kind=doc.model.kind, model_path=doc.model.path,
        components=components, raters=raters, orders=orders, seed=doc.seed,
        tie=doc.tie_rule, blinded=doc.blinded, closed=doc.closed,
        created=doc.created, modified=doc.modified,
        pack=None if doc.pack is None else doc.pack.model_dump(exclude_none=True))
    if version == COMPARISON_FORMAT_VERSION:
        session.models = _read_models(data, path, k)
    for i, v in enumerate(doc.votes):
        where = f"votes[{i}]"
        if v.rater not in orders:
            raise InputError(f"unknown rater {v.rater!r}", path, field=f"{where}.rater")
        if not v.component < k:
            raise InputError(f"component {v.component} out of range 0..{k - 1}", path,
                             field=f"{where}.component")
        if v.component in session._votes[v.rater]:
            raise InputError(f"duplicate vote of {v.rater!r} on {components[v.component]!r}",
                             path, field=where)
        session._votes[v.rater][v.component] = Vote(
            component=v.component, rater=v.rater, interpretable=v.vote, points=tuple(v.points),
            artifact=v.artifact, basis=v.basis)
        session._times[(v.rater, v.component)] = v.time
    return session


def _read_models(data: dict[str, Any], path: Path, k: int) -> list[dict[str, Any]]:
    """The ``models`` list of a comparison session: contiguous slices covering 0..k-1."""
    models = json_field(data, "models", list, path)
    out: list[dict[str, Any]] = []
    start = 0
    for i, m in enumerate(models):
        where = f"models[{i}]"
        if not isinstance(m, dict):
            raise InputError("must be an object", path, field=where)
        label = json_field(m, "label", str, path, where)
        lo = json_field(m, "start", int, path, where)
        hi = json_field(m, "stop", int, path, where)
        if lo != start or not lo < hi <= k:
            raise InputError(f"must continue at AU {start} and end by {k}", path,
                             field=f"{where}.start")
        out.append({"label": label, "kind": str(m.get("kind", "")), "hash": m.get("hash"),
                    "path": m.get("path"), "start": lo, "stop": hi})
        start = hi
    if len(out) < 2 or start != k or len({m["label"] for m in out}) != len(out):
        raise InputError(f"must list two or more uniquely labelled models covering all {k} AUs",
                         path, field="models")
    return out


def session_from_votes(path: str | os.PathLike, components: list[str], raters: list[str],
                       votes: list[Vote], *, model: AUModel | None = None,
                       model_path: str | os.PathLike | None = None,
                       tie: str = DEFAULT_TIE_RULE, overwrite: bool = False,
                       save: bool = True) -> RatingSession:
    """A closed session holding ``votes`` (e.g. read from a CSV), written to ``path``."""
    session = RatingSession.create_from_names(
        path, components, raters, model_hash=model.content_hash() if model else None,
        model_kind=model.kind if model else "dfecs", seed=0, tie=tie, blinded=False,
        model_path=model_path, overwrite=overwrite, save=False)
    for v in votes:
        session._votes[v.rater][v.component] = v
        session._times[(v.rater, v.component)] = ""
    session.closed = True
    if save:
        session.save()
    return session
