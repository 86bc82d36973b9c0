"""Rating packs: rating by a volunteer on another machine.

:func:`export_pack` writes a folder for one rater of a session — ``pack.json`` (the AUs, the
neutral keypoints, display scales), the projected AU images and arrow plots as PNG, and
``ratings.json``, a one-rater :class:`~dfecs_app.io.rating_session.RatingSession` that the
rater mode (``dfecs-studio --rate PACK_DIR``, :class:`RatingPack`) fills and autosaves.
:func:`import_returned_ratings` merges the returned ``ratings.json`` (or the whole pack folder)
into the coordinator's session.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dfecs_app import __version__
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.core.ratings import Vote
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.atomic import write_json_atomic
from dfecs_app.io.rating_session import (
    RatingSession,
    normalize_name,
    read_session_json,
    session_from_json,
    short_hash,
    utc_now,
)
from dfecs_app.io.schema import validate
from dfecs_app.io.schemas import PackFile
from dfecs_app.io.textfile import json_field

__all__ = ["PACK_FORMAT", "PACK_FORMAT_VERSION", "PACK_FILE", "RETURNED_FILE", "export_pack",
           "RatingPack", "import_returned_ratings", "merge_returned_ratings"]

PACK_FORMAT = "dfecs-rating-pack"
PACK_FORMAT_VERSION = 1
PACK_FILE = "pack.json"
RETURNED_FILE = "ratings.json"


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
        Display multiplier per AU (default :func:`~dfecs_app.io.rating_export.au_scales`).

    Returns
    -------
    Path
        The pack folder.
    """
    from dfecs_app.io.images import write_image
    from dfecs_app.io.rating_export import (
        au_scales,
        render_arrow_png,
        render_au_image,
        scales_definition,
    )

    rater = session._rater(rater)
    if model.content_hash() != session.model_hash:
        raise InputError(f"the model (sha256 {short_hash(model.content_hash())}…) is not the "
                         f"session's model (sha256 {short_hash(session.model_hash)}…)", session.path,
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
    scl = (au_scales(model) if scales is None
           else np.broadcast_to(np.asarray(scales, dtype=float), (model.n_components,)))
    shown = session.display_names()  # a comparison pack never names the models
    images_dir = folder / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    au_files: dict[str, str] = {}
    arrow_files: dict[str, str] = {}
    for c in range(model.n_components):
        num = int(shown[c].split()[-1]) if session.is_comparison else c + 1
        name = f"arrows_{num:02d}.png"
        render_arrow_png(images_dir / name, pts, model.components[c], scl[c], title=shown[c])
        arrow_files[str(c)] = f"images/{name}"
        img = None
        if au_images and c in au_images:
            img = au_images[c]
        elif neutral_image is not None:
            img = render_au_image(neutral_image, pts, model.components[c], scl[c])
        if img is not None:
            name = f"au_{num:02d}.png"
            write_image(images_dir / name, img)
            au_files[str(c)] = f"images/{name}"
    neutral_file = None
    if neutral_image is not None:  # for the rater aids (neutral face, animation)
        write_image(images_dir / "neutral.png", np.asarray(neutral_image)[:, :, :3]
                    if np.asarray(neutral_image).ndim == 3 else neutral_image)
        neutral_file = "images/neutral.png"
    returned = RatingSession.create_from_names(
        folder / RETURNED_FILE, shown, [rater], model_hash=session.model_hash,
        model_kind=session.model_kind, seed=session.seed, tie=session.tie,
        blinded=session.blinded, save=False)
    returned._orders[rater] = session.order(rater)
    returned.session_id = session.session_id
    returned.pack = {"session_id": session.session_id, "rater": rater}
    returned.save()
    write_json_atomic(folder / PACK_FILE, {
        "format": PACK_FORMAT, "format_version": PACK_FORMAT_VERSION, "app_version": __version__,
        "created": utc_now(), "session_id": session.session_id, "rater": rater,
        "model": {"hash": session.model_hash, "kind": session.model_kind},
        "components": shown, "order": session.order(rater),
        "neutral_points": pts.tolist(), "components_std": model.components.tolist(),
        "scales": [float(x) for x in scl],
        "scales_definition": (scales_definition(model) if np.allclose(scl, au_scales(model))
                              else "multipliers of the AU vectors given by the caller"),
        "au_images": au_files, "arrow_images": arrow_files, "ratings": RETURNED_FILE,
        "neutral_image": neutral_file,
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
    neutral_image : Path or None
        The neutral face (rater aids), when the pack has one.
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
        data = read_session_json(manifest)
        if data.get("format") != PACK_FORMAT:
            raise InputError("not a DFECS rating pack", manifest, field="format")
        if data.get("format_version") != PACK_FORMAT_VERSION:
            raise FormatVersionError(f"rating pack format version {data.get('format_version')} "
                                     "is not supported", manifest, field="format_version")
        validate(PackFile, data, manifest)  # declared types (io/schemas.py)
        self.folder = folder
        self.rater = json_field(data, "rater", str, manifest)
        self.names = json_field(data, "components", list, manifest)
        self.model_hash = data.get("model", {}).get("hash")
        try:
            self.neutral_points = np.asarray(data["neutral_points"], dtype=float).reshape(N_POINTS, 2)
            self.components = np.asarray(data["components_std"], dtype=float).reshape(
                len(self.names), 2 * N_POINTS)
            self.scales = np.asarray(data["scales"], dtype=float).reshape(len(self.names))
        except (KeyError, ValueError, TypeError) as err:
            raise InputError(f"malformed keypoints ({err})", manifest,
                             field="neutral_points") from err
        self.au_images = _image_paths(folder, data, "au_images", manifest)
        self.arrow_images = _image_paths(folder, data, "arrow_images", manifest)
        neutral = data.get("neutral_image")
        self.neutral_image: Path | None = None
        if neutral is not None:  # only a file inside the pack folder
            cand = pack_path(folder, neutral, manifest, "neutral_image")
            if cand.is_file():
                self.neutral_image = cand
        self.session = RatingSession.open(
            pack_path(folder, data.get("ratings", RETURNED_FILE), manifest, "ratings"))
        if self.session.model_hash != self.model_hash or self.session.raters != [self.rater]:
            raise InputError("the pack's ratings file does not belong to this pack",
                             self.session.path)


def pack_path(folder: Path, value: object, manifest: Path, field: str) -> Path:
    """``value`` (a path written in ``pack.json``) as a path inside the pack ``folder``.

    Packs come from other people: a path must be relative, without ``..``, and must not
    leave the folder through a symlink, so that opening a pack never reads or (autosaving
    the ratings) writes anything outside it.

    Raises
    ------
    InputError
        Naming ``pack.json`` and the field (``ratings``, ``au_images.3``, ...).
    """
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be a file name inside the pack folder", manifest, field=field)
    rel = Path(value)
    if rel.is_absolute() or rel.drive or value.startswith(("/", "\\")) or ".." in rel.parts \
            or ".." in value.replace("\\", "/").split("/"):
        raise InputError(f"{value!r} is outside the pack folder; a pack may only name files "
                         "inside its own folder", manifest, field=field)
    target = folder / rel
    root = Path(os.path.realpath(folder))
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        raise InputError(f"{value!r} leads outside the pack folder (through a symlink); a pack "
                         "may only name files inside its own folder", manifest, field=field)
    return target


def _image_paths(folder: Path, data: dict, key: str, manifest: Path) -> dict[int, Path]:
    images = data.get(key, {})
    if not isinstance(images, dict):
        raise InputError("must be a JSON object of component -> image file", manifest, field=key)
    out = {}
    for k, v in images.items():
        try:
            c = int(k)
        except ValueError:
            raise InputError(f"{k!r} is not a component number", manifest, field=key) from None
        out[c] = pack_path(folder, v, manifest, f"{key}.{k}")
    return out


def import_returned_ratings(session: RatingSession, path: str | os.PathLike) -> int:
    """Merge a returned ratings file (or pack folder) into ``session``; returns the vote count.

    Refused (nothing changes, nothing is written) when the file is not a returned ratings
    file, rates another model or belongs to another session, names an unknown rater, when that
    rater already voted in ``session``, or when ``session`` is closed.
    """
    return merge_returned_ratings(session, [path])[0]


def merge_returned_ratings(session: RatingSession, paths: list[str | os.PathLike]) -> list[int]:
    """Merge several returned ratings files all or nothing; returns the vote count of each.

    Every file is read and checked (as :func:`import_returned_ratings`, and no rater twice)
    before anything is merged; then all votes are saved in one write.

    Raises
    ------
    InputError
        The first file that is refused (naming it); the session is unchanged.
    """
    checked = [_check_returned(session, Path(p)) for p in paths]
    seen: dict[str, Path] = {}
    for path, rater, _, _ in checked:
        if rater in seen:
            raise InputError(f"rater {rater!r} is also in {seen[rater]}; nothing merged", path,
                             field="pack.rater")
        seen[rater] = path
    with session._transaction():
        for _, rater, votes, times in checked:
            for c, v in votes.items():
                session._votes[rater][c] = v
                session._times[(rater, c)] = times.get(c, "")
                session._dirty.add((rater, c))
    return [len(votes) for _, _, votes, _ in checked]


def _check_returned(session: RatingSession, path: Path
                    ) -> tuple[Path, str, dict[int, Vote], dict[int, str]]:
    if path.is_dir():
        path = path / RETURNED_FILE
    returned = session_from_json(path, read_session_json(path))
    if returned.pack is None:
        raise InputError("not a returned ratings file (no pack information)", path, field="pack")
    if returned.model_hash != session.model_hash:
        raise InputError(
            f"these ratings are for another model (ratings model sha256 "
            f"{short_hash(returned.model_hash)}…, session model sha256 {short_hash(session.model_hash)}…)"
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
    if ([normalize_name(c) for c in returned.components]
            != [normalize_name(c) for c in session.display_names()]):
        raise InputError("the ratings' components differ from the session's; nothing merged",
                         path, field="components")
    incoming = dict(returned._votes.get(rater, {}))
    times = {c: returned._times.get((rater, c), "") for c in incoming}
    return path, rater, incoming, times
