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
      "votes": [{"rater": "Rater 1", "component": 5, "vote": true, "points": [17, 18],
                 "artifact": "...", "basis": "...", "time": ISO time}, ...]
    }

Binding to a model
------------------
A session rates one model, identified by :meth:`AUModel.content_hash`. Opening it with a
different model is refused (:class:`InputError` naming both hashes), except when the model comes
from the very file the session was created with and still has as many components: the model
file *changed*, the session opens with a :class:`ModelChangedWarning` (``session.model_warning``
holds the message). Opening without a model checks the recorded model file the same way.

Durability
----------
Every mutating method rewrites the file through :func:`dfecs_app.io.atomic.write_json_atomic`
(temporary file, fsync, rename) before it returns: killing the process at any moment loses at
most the change in flight.

Blinding
--------
While a blinded session is open, only per-rater accessors (:meth:`RatingSession.rater_votes`,
:meth:`RatingSession.vote`) are available; the whole vote table (:meth:`votes`,
:meth:`matrix`, :meth:`summary`) raises :class:`DfecsError` until :meth:`close`.

Rating packs
------------
:func:`export_pack` writes a folder for a volunteer on another machine (``pack.json``, the AU
images and arrow plots as PNG, and ``ratings.json`` — a one-rater session the rater mode fills);
:func:`import_returned_ratings` merges the returned ``ratings.json`` (or the whole pack folder).
"""

from __future__ import annotations

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
from dfecs_app.io.atomic import write_json_atomic

SESSION_FORMAT = "dfecs-rating-session"
SESSION_FORMAT_VERSION = 1
PACK_FORMAT = "dfecs-rating-pack"
PACK_FORMAT_VERSION = 1
PACK_FILE = "pack.json"
RETURNED_FILE = "ratings.json"
DEFAULT_RATERS = ("Rater 1", "Rater 2", "Rater 3")
HASH_SHOWN = 16


class ModelChangedWarning(UserWarning):
    """The session's model file changed since the session was created."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _short(h: str | None) -> str:
    return "none" if not h else h[:HASH_SHOWN]


def _norm_name(name: str) -> str:
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
        ``{"session_id", "rater"}`` in a returned-ratings file made by :func:`export_pack`.
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
        self.model_warning: str | None = None
        self._votes: dict[str, dict[int, Vote]] = {r: {} for r in self.raters}
        self._times: dict[tuple[str, int], str] = {}
        self._stacks: dict[str, CommandStack] = {r: CommandStack() for r in self.raters}

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
        return cls.create_from_names(path, list(model.names), raters,
                                     model_hash=model.content_hash(), model_kind=model.kind,
                                     seed=seed, tie=tie, blinded=blinded,
                                     model_path=model_path, overwrite=overwrite)

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
        now = _now()
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
        session = _from_json(Path(path), _read_json(Path(path)))
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
                f"model sha256 {_short(self.model_hash)}…, file now {_short(h)}…): the votes "
                "refer to the components as they were")
            warnings.warn(self.model_warning, ModelChangedWarning, stacklevel=3)
            return
        raise InputError(
            f"this session rates another model (session model sha256 {_short(self.model_hash)}…, "
            f"given model sha256 {_short(h)}…)", self.path, field="model.hash")

    def _check_names(self, model: AUModel) -> None:
        if [_norm_name(n) for n in model.names] != [_norm_name(n) for n in self.components]:
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
        return {
            "format": SESSION_FORMAT, "format_version": SESSION_FORMAT_VERSION,
            "app_version": __version__, "session_id": self.session_id,
            "created": self.created, "modified": self.modified,
            "model": {"hash": self.model_hash, "kind": self.model_kind, "path": self.model_path},
            "components": self.components,
            "raters": [{"name": r, "order": self._orders[r]} for r in self.raters],
            "seed": self.seed, "tie_rule": self.tie, "blinded": self.blinded,
            "closed": self.closed, "pack": self.pack, "votes": votes,
        }

    def save(self) -> None:
        """Write the session atomically (called by every mutating method)."""
        self.modified = _now()
        write_json_atomic(self.path, self.to_json())

    def save_as(self, path: str | os.PathLike) -> None:
        """Write a copy to ``path`` and continue with that file."""
        old_dir = self.path.parent
        self.path = Path(path)
        if self.model_path and not Path(self.model_path).is_absolute():
            self.model_path = _relative_to(old_dir / self.model_path, self.path.parent)
        self.save()

    # -- per-rater access -----------------------------------------------------------------
    @property
    def n_components(self) -> int:
        return len(self.components)

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
        votes = self._votes[cmd.rater]
        if cmd.after is None:
            votes.pop(cmd.component, None)
            self._times.pop((cmd.rater, cmd.component), None)
        else:
            votes[cmd.component] = cmd.after
            self._times[(cmd.rater, cmd.component)] = _now()

    def _change(self, rater: str, component: int, after: Vote | None) -> Vote | None:
        self._check_open()
        rater, component = self._rater(rater), self._component(component)
        before = self._votes[rater].get(component)
        if before == after:
            return after
        cmd = SetVote(rater, component, before, after)
        self._apply(cmd)
        self._stacks[rater].push(cmd)
        self.save()
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
        self._check_open()
        cmd = self._stacks[self._rater(rater)].undo()
        if cmd is None:
            return None
        self._apply(cmd)
        self.save()
        return cmd.component

    def redo(self, rater: str) -> int | None:
        """Redo the rater's last undone change; returns the component (None: nothing)."""
        self._check_open()
        cmd = self._stacks[self._rater(rater)].redo()
        if cmd is None:
            return None
        self._apply(cmd)
        self.save()
        return cmd.component

    def add_rater(self, name: str) -> None:
        """Add a rater (with their own blinded order) and save."""
        self._check_open()
        _check_raters(self.raters + [name], self.path)
        self.raters.append(name)
        k = self.n_components
        self._orders[name] = blinded_order(k, name, self.seed) if self.blinded else list(range(k))
        self._votes[name] = {}
        self._stacks[name] = CommandStack()
        self.save()

    def close(self) -> None:
        """Close the session: votes freeze and become visible to all. Saves."""
        self.closed = True
        for s in self._stacks.values():
            s.clear()
        self.save()

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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise InputError("no such file", path) from err
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the file ({err})", path) from err
    if not text.strip():
        raise InputError("the file is empty", path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path, line=err.lineno) from err
    if not isinstance(data, dict):
        raise InputError("not a DFECS rating session (expected a JSON object)", path)
    return data


def _get(data: dict[str, Any], key: str, typ: type | tuple[type, ...], path: Path,
         where: str | None = None) -> Any:
    if key not in data:
        raise InputError("missing", path, field=f"{where}.{key}" if where else key)
    value = data[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise InputError(f"wrong type {type(value).__name__}", path,
                         field=f"{where}.{key}" if where else key)
    return value


def _from_json(path: Path, data: dict[str, Any]) -> RatingSession:
    if data.get("format") != SESSION_FORMAT:
        raise InputError(f"not a DFECS rating session (format {data.get('format')!r})", path,
                         field="format")
    version = data.get("format_version")
    if version != SESSION_FORMAT_VERSION:
        raise FormatVersionError(f"rating session format version {version} is not supported "
                                 f"(this app reads version {SESSION_FORMAT_VERSION})", path,
                                 field="format_version")
    model = _get(data, "model", dict, path)
    model_hash = model.get("hash")
    if model_hash is not None and not isinstance(model_hash, str):
        raise InputError("must be a string or null", path, field="model.hash")
    components = _get(data, "components", list, path)
    if not components or not all(isinstance(c, str) for c in components):
        raise InputError("must be a non-empty list of names", path, field="components")
    k = len(components)
    raters_raw = _get(data, "raters", list, path)
    raters: list[str] = []
    orders: dict[str, list[int]] = {}
    for i, r in enumerate(raters_raw):
        if not isinstance(r, dict):
            raise InputError("must be an object", path, field=f"raters[{i}]")
        name = _get(r, "name", str, path, f"raters[{i}]")
        order = _get(r, "order", list, path, f"raters[{i}]")
        if sorted(order) != list(range(k)) or not all(isinstance(o, int) for o in order):
            raise InputError(f"must be a permutation of 0..{k - 1}", path,
                             field=f"raters[{i}].order")
        raters.append(name)
        orders[name] = order
    _check_raters(raters, path)
    tie = data.get("tie_rule", DEFAULT_TIE_RULE)
    if tie not in TIE_RULES:
        raise InputError(f"must be one of {TIE_RULES}", path, field="tie_rule")
    pack = data.get("pack")
    if pack is not None and not (isinstance(pack, dict) and isinstance(pack.get("rater"), str)):
        raise InputError("must be null or an object with a rater", path, field="pack")
    session = RatingSession(
        path, session_id=str(data.get("session_id") or uuid.uuid4().hex), model_hash=model_hash,
        model_kind=str(model.get("kind", "dfecs")), model_path=model.get("path"),
        components=components, raters=raters, orders=orders, seed=int(data.get("seed", 0)),
        tie=tie, blinded=bool(data.get("blinded", True)), closed=bool(data.get("closed", False)),
        created=str(data.get("created", "")), modified=str(data.get("modified", "")), pack=pack)
    votes = _get(data, "votes", list, path)
    for i, v in enumerate(votes):
        where = f"votes[{i}]"
        if not isinstance(v, dict):
            raise InputError("must be an object", path, field=where)
        rater = _get(v, "rater", str, path, where)
        if rater not in orders:
            raise InputError(f"unknown rater {rater!r}", path, field=f"{where}.rater")
        comp = _get(v, "component", int, path, where)
        if not 0 <= comp < k:
            raise InputError(f"component {comp} out of range 0..{k - 1}", path,
                             field=f"{where}.component")
        if comp in session._votes[rater]:
            raise InputError(f"duplicate vote of {rater!r} on {components[comp]!r}", path,
                             field=where)
        val = _get(v, "vote", bool, path, where)
        points = v.get("points", [])
        if not isinstance(points, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and 0 <= p < N_POINTS
                for p in points):
            raise InputError(f"must be a list of keypoint indices 0..{N_POINTS - 1}", path,
                             field=f"{where}.points")
        session._votes[rater][comp] = Vote(component=comp, rater=rater, interpretable=val,
                                           points=tuple(points),
                                           artifact=str(v.get("artifact", "")),
                                           basis=str(v.get("basis", "")))
        session._times[(rater, comp)] = str(v.get("time", ""))
    return session


# ---------------------------------------------------------------------------------------------
# rating packs
# ---------------------------------------------------------------------------------------------
def export_pack(session: RatingSession, rater: str, path: str | os.PathLike, *,
                model: AUModel, neutral_points: np.ndarray, neutral_image: np.ndarray | None = None,
                au_images: dict[int, np.ndarray] | None = None,
                scales: np.ndarray | None = None) -> Path:
    """Write a rating pack folder for ``rater`` (see the module docstring).

    Parameters
    ----------
    session : RatingSession
        The coordinator's session (the rater must not have voted yet).
    rater : str
    path : path
        The pack folder (created; must not exist or be empty).
    model : AUModel
        The session's model (checked by hash).
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints (image pixels) the AUs are drawn on.
    neutral_image : ndarray (H, W, 3) uint8, optional
        Neutral face; with it the projected AU images are rendered into the pack.
    au_images : dict of int -> ndarray, optional
        Projected AU images already rendered (component -> (H, W, 3) uint8), used as they are.
    scales : ndarray, shape (q,), optional
        Display intensity per AU (default :func:`~dfecs_app.io.rating_export.display_scale`).

    Returns
    -------
    Path
        The pack folder.
    """
    from dfecs_app.io.rating_export import (
        display_scale,
        render_arrow_png,
        render_au_image,
        write_png,
    )

    rater = session._rater(rater)
    if model.content_hash() != session.model_hash:
        raise InputError(f"the model (sha256 {_short(model.content_hash())}…) is not the "
                         f"session's model (sha256 {_short(session.model_hash)}…)", session.path,
                         field="model.hash")
    if session.closed:
        raise InputError("the session is closed", session.path, field="closed")
    if session.vote_count(rater):
        raise InputError(f"rater {rater!r} already has {session.vote_count(rater)} votes in this "
                         "session: a pack is for a rater who has not started", session.path,
                         field="raters")
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError("the pack folder exists and is not empty", folder)
    pts = np.asarray(neutral_points, dtype=float)
    if pts.shape != (N_POINTS, 2):
        raise InputError(f"neutral points must be (68, 2), got {pts.shape}", folder)
    scl = (display_scale(model.components, pts) if scales is None
           else np.broadcast_to(np.asarray(scales, dtype=float), (model.n_components,)))
    images_dir = folder / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    au_files: dict[str, str] = {}
    arrow_files: dict[str, str] = {}
    for c in range(model.n_components):
        name = f"arrows_{c + 1:02d}.png"
        render_arrow_png(images_dir / name, pts, model.components[c], scl[c],
                         title=model.names[c])
        arrow_files[str(c)] = f"images/{name}"
        img = None
        if au_images and c in au_images:
            img = au_images[c]
        elif neutral_image is not None:
            img = render_au_image(neutral_image, pts, model.components[c], scl[c])
        if img is not None:
            name = f"au_{c + 1:02d}.png"
            write_png(images_dir / name, img)
            au_files[str(c)] = f"images/{name}"
    returned = RatingSession.create_from_names(
        folder / RETURNED_FILE, session.components, [rater], model_hash=session.model_hash,
        model_kind=session.model_kind, seed=session.seed, tie=session.tie,
        blinded=session.blinded, save=False)
    returned._orders[rater] = session.order(rater)
    returned.session_id = session.session_id
    returned.pack = {"session_id": session.session_id, "rater": rater}
    returned.save()
    write_json_atomic(folder / PACK_FILE, {
        "format": PACK_FORMAT, "format_version": PACK_FORMAT_VERSION, "app_version": __version__,
        "created": _now(), "session_id": session.session_id, "rater": rater,
        "model": {"hash": session.model_hash, "kind": session.model_kind},
        "components": session.components, "order": session.order(rater),
        "neutral_points": pts.tolist(), "components_std": model.components.tolist(),
        "scales": [float(x) for x in scl],
        "au_images": au_files, "arrow_images": arrow_files, "ratings": RETURNED_FILE,
    })
    return folder


class RatingPack:
    """A rating pack opened for the rater mode.

    Attributes
    ----------
    folder : Path
    rater : str
    names : list of str
        Component names.
    neutral_points : ndarray, shape (68, 2)
    components : ndarray, shape (q, 136)
        The AUs in standardized units.
    scales : ndarray, shape (q,)
        Display intensity of each AU.
    au_images : dict of int -> Path
    arrow_images : dict of int -> Path
    session : RatingSession
        The pack's ``ratings.json`` (one rater), autosaved like any session.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        if folder.is_file() and folder.name == PACK_FILE:
            folder = folder.parent
        manifest = folder / PACK_FILE
        if not manifest.is_file():
            raise InputError(f"not a rating pack (no {PACK_FILE})", folder)
        data = _read_json(manifest)
        if data.get("format") != PACK_FORMAT:
            raise InputError("not a DFECS rating pack", manifest, field="format")
        if data.get("format_version") != PACK_FORMAT_VERSION:
            raise FormatVersionError(f"rating pack format version {data.get('format_version')} "
                                     "is not supported", manifest, field="format_version")
        self.folder = folder
        self.rater = _get(data, "rater", str, manifest)
        self.names = _get(data, "components", list, manifest)
        self.model_hash = data.get("model", {}).get("hash")
        try:
            self.neutral_points = np.asarray(data["neutral_points"], dtype=float).reshape(N_POINTS, 2)
            self.components = np.asarray(data["components_std"], dtype=float).reshape(
                len(self.names), 2 * N_POINTS)
            self.scales = np.asarray(data["scales"], dtype=float).reshape(len(self.names))
        except (KeyError, ValueError, TypeError) as err:
            raise InputError(f"malformed keypoints ({err})", manifest,
                             field="neutral_points") from err
        self.au_images = {int(k): folder / v for k, v in data.get("au_images", {}).items()}
        self.arrow_images = {int(k): folder / v for k, v in data.get("arrow_images", {}).items()}
        self.session = RatingSession.open(folder / str(data.get("ratings", RETURNED_FILE)))
        if self.session.model_hash != self.model_hash or self.session.raters != [self.rater]:
            raise InputError("the pack's ratings file does not belong to this pack",
                             self.session.path)


def import_returned_ratings(session: RatingSession, path: str | os.PathLike) -> int:
    """Merge a returned ratings file (or pack folder) into ``session``; returns the vote count.

    Refused (nothing changes, nothing is written) when the file is not a returned ratings
    file, rates another model or belongs to another session, names an unknown rater, when that
    rater already voted in ``session``, or when ``session`` is closed.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RETURNED_FILE
    returned = _from_json(path, _read_json(path))
    if returned.pack is None:
        raise InputError("not a returned ratings file (no pack information)", path, field="pack")
    if returned.model_hash != session.model_hash:
        raise InputError(
            f"these ratings are for another model (ratings model sha256 "
            f"{_short(returned.model_hash)}…, session model sha256 {_short(session.model_hash)}…)"
            "; nothing merged", path, field="model.hash")
    if returned.pack.get("session_id") != session.session_id:
        raise InputError("these ratings come from a pack of another session; nothing merged",
                         path, field="pack.session_id")
    rater = returned.pack["rater"]
    if rater not in session.raters:
        raise InputError(f"unknown rater {rater!r} (session raters: "
                         f"{', '.join(session.raters)}); nothing merged", path, field="pack.rater")
    if session.closed:
        raise InputError("the session is closed; nothing merged", session.path, field="closed")
    if session.vote_count(rater):
        raise InputError(f"rater {rater!r} already voted in this session "
                         f"({session.vote_count(rater)} votes); nothing merged", path,
                         field="pack.rater")
    if [_norm_name(c) for c in returned.components] != [_norm_name(c) for c in session.components]:
        raise InputError("the ratings' components differ from the session's; nothing merged",
                         path, field="components")
    incoming = returned._votes.get(rater, {})
    for c, v in incoming.items():
        session._votes[rater][c] = v
        session._times[(rater, c)] = returned._times.get((rater, c), "")
    session.save()
    return len(incoming)


# ---------------------------------------------------------------------------------------------
# votes tables (CSV)
# ---------------------------------------------------------------------------------------------
VOTE_TRUE = frozenset({"1", "✓", "✔", "y", "yes", "true", "t", "interpretable"})
VOTE_FALSE = frozenset({"0", "×", "✗", "✘", "x", "n", "no", "false", "f", "non-interpretable",
                        "non_interpretable"})
_COLUMN_ALIASES = {
    "component": "component", "au": "component", "rater": "rater", "volunteer": "rater",
    "vote": "vote", "points": "points", "keypoints": "points", "artifact_points": "points",
    "artifact": "artifact", "basis": "basis", "muscular_basis": "basis",
    "muscular basis": "basis",
}


def parse_vote(text: str) -> bool | None:
    """'1'/'0', '✓'/'×', 'y'/'n', 'yes'/'no', 'true'/'false' -> bool; None if not a vote."""
    t = str(text).strip().casefold()
    if t in VOTE_TRUE:
        return True
    if t in VOTE_FALSE:
        return False
    return None


def read_votes_csv(path: str | os.PathLike, components: list[str] | None = None,
                   raters: list[str] | None = None) -> tuple[list[str], list[str], list[Vote]]:
    """Read a votes table: columns ``component,rater,vote`` (+ optional ``points``,
    ``artifact``, ``basis``).

    ``component`` is a component name or a 1-based number; ``vote`` is 1/0, ✓/×, y/n, yes/no
    or true/false; ``points`` are 0-based 68-layout keypoints separated by spaces or ``;``.

    Parameters
    ----------
    path : path
    components : list of str, optional
        Known component names (a model's or a session's); others are refused. Without them
        the components are those of the file: numbers sorted (named "Component i"), names in
        order of first appearance.
    raters : list of str, optional
        Known raters; others are refused. Without them, raters in order of first appearance.

    Returns
    -------
    components : list of str
    raters : list of str
    votes : list of Vote

    Raises
    ------
    InputError
        Empty file, missing column, unknown component/rater, bad vote, duplicate vote — naming
        the file, line and column.
    """
    import csv

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise InputError("no such file", path) from err
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the file ({err})", path) from err
    if not text.strip():
        raise InputError("the file is empty", path)
    reader = csv.reader(text.splitlines())
    header = next(reader)
    cols: dict[str, int] = {}
    for j, h in enumerate(header):
        key = _COLUMN_ALIASES.get(h.strip().casefold())
        if key is not None and key not in cols:
            cols[key] = j
    for need in ("component", "rater", "vote"):
        if need not in cols:
            raise InputError(f"missing column {need!r} (header: {', '.join(header)})", path,
                             line=1, field=need)
    known = {_norm_name(c): i for i, c in enumerate(components)} if components else None
    raw_rows: list[tuple[int, str, str, bool, tuple[int, ...], str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    rater_order: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        def cell(key: str, row: list[str] = row) -> str:
            j = cols.get(key)
            return row[j].strip() if j is not None and j < len(row) else ""

        comp, rater, vote_text = cell("component"), cell("rater"), cell("vote")
        if not comp:
            raise InputError("empty component", path, line=line, field="component")
        if not rater:
            raise InputError("empty rater", path, line=line, field="rater")
        if raters is not None and rater not in raters:
            raise InputError(f"unknown rater {rater!r} (expected one of {', '.join(raters)})",
                             path, line=line, field="rater")
        vote = parse_vote(vote_text)
        if vote is None:
            raise InputError(f"vote {vote_text!r} is not 1/0, ✓/×, y/n or true/false", path,
                             line=line, field="vote")
        points_text = cell("points")
        try:
            points = tuple(int(p) for p in points_text.replace(";", " ").replace(",", " ").split())
            if any(not 0 <= p < N_POINTS for p in points):
                raise ValueError
        except ValueError as err:
            raise InputError(f"keypoints must be integers 0..{N_POINTS - 1}, got {points_text!r}",
                             path, line=line, field="points") from err
        key = (_norm_name(comp), rater)
        if key in seen:
            raise InputError(f"duplicate vote of {rater!r} on {comp!r} (first on line "
                             f"{seen[key]})", path, line=line, field="component")
        seen[key] = line
        if rater not in rater_order:
            rater_order.append(rater)
        raw_rows.append((line, comp, rater, vote, points, cell("artifact"), cell("basis")))
    if not raw_rows:
        raise InputError("no votes in the file (only a header)", path, line=1)

    def number(s: str) -> int | None:
        return int(s) if s.isdigit() else None

    if known is not None:
        names = list(components or [])
        index_of = {}
        for line, comp, *_ in raw_rows:
            n = number(comp)
            if n is not None:
                if not 1 <= n <= len(names):
                    raise InputError(f"component number {n} out of range 1..{len(names)}", path,
                                     line=line, field="component")
                index_of[comp] = n - 1
            elif _norm_name(comp) in known:
                index_of[comp] = known[_norm_name(comp)]
            else:
                raise InputError(f"unknown component {comp!r} (not in the model/session)", path,
                                 line=line, field="component")
    elif all(number(r[1]) is not None for r in raw_rows):
        nums = sorted({number(r[1]) for r in raw_rows})
        if nums[0] < 1:
            raise InputError("component numbers start at 1", path, field="component")
        names = [f"Component {n}" for n in range(1, nums[-1] + 1)]
        index_of = {r[1]: number(r[1]) - 1 for r in raw_rows}
    else:
        names, index_of = [], {}
        by_norm: dict[str, int] = {}
        for _, comp, *_ in raw_rows:
            nk = _norm_name(comp)
            if nk not in by_norm:
                by_norm[nk] = len(names)
                names.append(comp)
            index_of[comp] = by_norm[nk]
    # duplicates across spellings ("1" and "Component 1")
    dup_check: dict[tuple[int, str], int] = {}
    votes = []
    for line, comp, rater, vote, points, artifact, basis in raw_rows:
        c = index_of[comp]
        if (c, rater) in dup_check:
            raise InputError(f"duplicate vote of {rater!r} on {names[c]!r} (first on line "
                             f"{dup_check[(c, rater)]})", path, line=line, field="component")
        dup_check[(c, rater)] = line
        votes.append(Vote(component=c, rater=rater, interpretable=vote, points=points,
                          artifact=artifact, basis=basis))
    return names, (list(raters) if raters is not None else rater_order), votes


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
