"""Projected AU images (SI 7.1): the neutral image morphed with pychubby onto projected AU keypoints.

Route
-----
The projected AU keypoints come from :func:`dfecs_app.core.projection.project_au` (the one
place where AU displacements are mapped into the image). The warp is pychubby's: the backward
displacement field of :meth:`pychubby.base.DisplacementField.generate` (linear radial basis
functions of the old -> new landmark moves, placed at the new positions, region border fixed)
and :meth:`DisplacementField.warp` (``cv2.remap``). The field is computed by
:func:`dfecs_app.core.warp_field.plan_warp` — the same interpolant (a test checks it against
pychubby's ``generate``), evaluated in float32 blocks (pychubby's evaluation takes seconds and
gigabytes on a large face) — around control points that make every real neutral face work:
coincident landmarks (closed lips and eyes) merged while they move together and parted when
the AU opens them, inner lips and eyelids that never cross, and an intensity cap where the
warp would fold (``det(I + ∇δ) < J_MIN``). When an AU opens a closed mouth, the new opening is
shaded with the darkest colour of the lip line (:func:`shade_mouth_opening`): a closed-mouth
photograph has no mouth interior to stretch.

Region
------
pychubby's field is global: with only the image corners fixed, an AU at the lips shifts the
background by a fraction of a pixel too and, for large images, the RBF evaluation needs
``H * W * 72 * 8`` bytes (1.2 GB for 1080p). By default the warp is therefore restricted to
the face region — the landmarks' bounding box grown by ``margin`` face sizes on each side —
with a ring of fixed points on that region's border, so everything outside it is untouched
and there is no seam. ``margin=None`` warps the whole image (its border held fixed).

pychubby and your home folder
-----------------------------
Importing pychubby creates ``~/.pychubby`` (its dlib model cache, unused here). When the home
folder is not writable, :func:`load_pychubby` retries the import with ``HOME`` pointing at a
folder in the temporary directory for the duration of the import; nothing else uses it.
pychubby's ``detect`` module also imports ``matplotlib.pyplot`` (no figure is created) and
``dlib``; call :func:`load_pychubby` once from the main thread at start-up to pay that cost
early.

Threads
-------
:func:`morph_au` holds no global state and may run in any thread. :class:`MorphCache` is
guarded by a lock; the morph itself runs outside the lock.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from dfecs_app.core.landmarks import N_FEATURES, N_POINTS
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.core.projection import project_au
from dfecs_app.core.warp_field import WarpPlan, plan_warp
from dfecs_app.errors import DfecsError, InputError, MissingResourceError

__all__ = ["load_pychubby", "morph_au", "morph_au_result", "MorphResult", "morph_region", "morph_aus",
           "MorphCache", "au_file_stem", "try_morph",
           "write_projected_set", "describe_projected", "check_morph_input"]

_IMPORT_LOCK = threading.Lock()
_PYCHUBBY: dict[str, ModuleType] = {}


def _import_pychubby_modules() -> dict[str, ModuleType]:
    with warnings.catch_warnings():
        # scikit-image 0.26 and pkg_resources-era code warn on import; none of it concerns us.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        import pychubby.base
        import pychubby.detect
    return {"base": pychubby.base, "detect": pychubby.detect}


def load_pychubby() -> dict[str, ModuleType]:
    """Import pychubby once (thread-safe) and return its ``base`` and ``detect`` modules.

    Raises
    ------
    MissingResourceError
        pychubby (or its dependencies dlib, OpenCV) is not installed.
    """
    with _IMPORT_LOCK:
        if _PYCHUBBY:
            return _PYCHUBBY
        try:
            try:
                modules = _import_pychubby_modules()
            except OSError:
                # ~/.pychubby could not be created: import once more with a writable HOME.
                home = os.path.join(tempfile.gettempdir(), "dfecs-pychubby-home")
                old = os.environ.get("HOME")
                os.environ["HOME"] = home
                try:
                    modules = _import_pychubby_modules()
                finally:
                    if old is None:
                        os.environ.pop("HOME", None)
                    else:
                        os.environ["HOME"] = old
        except ImportError as err:
            raise MissingResourceError(
                f"projected AU images need pychubby 0.2 with dlib and OpenCV ({err}); install "
                "them with `pip install --no-deps pychubby==0.2` beside dlib-bin and "
                "opencv-python-headless") from err
        _PYCHUBBY.update(modules)
        return _PYCHUBBY


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputError(f"the neutral image must be a uint8 (H, W) or (H, W, 3|4) array, got "
                         f"{image.dtype} {image.shape}", field="image")
    return np.ascontiguousarray(image)


def check_morph_input(image: np.ndarray, neutral_points: np.ndarray) -> np.ndarray:
    """Check a neutral face for morphing; returns its landmarks as float64 ``(68, 2)``.

    Raises
    ------
    InputError
        Not a uint8 image, not 68 landmarks, some missing or outside the image (named).
    """
    image = _check_image(image)
    return _check_points(neutral_points, image.shape[:2])


def _check_points(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (N_POINTS, 2):
        raise InputError(f"the neutral face needs all {N_POINTS} landmarks as a ({N_POINTS}, 2) "
                         f"array, got {points.shape}", field="landmarks")
    bad = np.flatnonzero(~np.isfinite(points).all(axis=1))
    if len(bad):
        raise InputError("the neutral face needs all 68 landmarks to be morphed; missing: "
                         + _names(bad), field="landmarks")
    h, w = shape
    out = np.flatnonzero((points[:, 0] < 0) | (points[:, 0] > w - 1) | (points[:, 1] < 0)
                         | (points[:, 1] > h - 1))
    if len(out):
        raise InputError(f"landmarks {_names(out)} lie outside the {w}x{h} image: wrong "
                         "landmarks file?", field="landmarks")
    return points


def _names(indices: np.ndarray) -> str:
    idx = [int(i) for i in indices]
    shown = ", ".join(str(i) for i in idx[:8])
    return shown + (f" and {len(idx) - 8} more" if len(idx) > 8 else "")


def morph_region(points: np.ndarray, shape: tuple[int, int], margin: float | None = 0.5) -> tuple[int, int, int, int]:
    """The image region warped for a face: ``(x0, y0, x1, y1)``, end-exclusive.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
        Keypoints (neutral and projected) that must lie inside the region.
    shape : (int, int)
        Image height and width.
    margin : float or None
        Border added on each side, in units of the face size (the larger side of the points'
        bounding box). ``None``: the whole image.
    """
    h, w = shape
    if margin is None:
        return 0, 0, w, h
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    pad = margin * float(max(hi - lo)) + 2.0
    x0 = max(0, int(np.floor(lo[0] - pad)))
    y0 = max(0, int(np.floor(lo[1] - pad)))
    x1 = min(w, int(np.ceil(hi[0] + pad)) + 1)
    y1 = min(h, int(np.ceil(hi[1] + pad)) + 1)
    return x0, y0, x1, y1


@dataclass
class MorphResult:
    """One projected AU image and what its warp did.

    Attributes
    ----------
    image : ndarray of uint8, same shape as the neutral image
    intensity : float
        The intensity asked for (multiplier of the AU vector).
    applied : float
        The intensity applied (``intensity × plan.fraction``; lower when capped).
    targets : ndarray, shape (68, 2)
        Where the keypoints went (image pixels).
    plan : WarpPlan or None
        None when nothing moved.
    """

    image: np.ndarray
    intensity: float
    applied: float
    targets: np.ndarray
    plan: WarpPlan | None = None

    @property
    def capped(self) -> bool:
        return self.plan is not None and self.plan.capped

    def notes(self) -> list[str]:
        return [] if self.plan is None else self.plan.notes()


def morph_au_result(
    image: np.ndarray,
    neutral_points: np.ndarray,
    au: np.ndarray,
    intensity: float = 1.0,
    *,
    margin: float | None = 0.5,
    order: int = 1,
) -> MorphResult:
    """The projected AU image with what its warp did (see :func:`morph_au`)."""
    image = _check_image(image)
    au = np.asarray(au, dtype=np.float64)
    if au.shape != (N_FEATURES,):
        raise InputError(f"an AU must be a vector of {N_FEATURES} numbers, got shape {au.shape}",
                         field="au")
    points = _check_points(neutral_points, image.shape[:2])
    try:
        new_points = project_au(points, au, intensity)
    except ValueError as err:
        raise InputError(f"cannot map the AU onto this face: {err}", field="landmarks") from err
    if np.abs(new_points - points).max() < 1e-6:
        return MorphResult(image.copy(), float(intensity), float(intensity), points.copy())
    modules = load_pychubby()
    x0, y0, x1, y1 = morph_region(np.vstack([points, new_points]), image.shape[:2], margin)
    region = image[y0:y1, x0:x1]
    offset = np.array([x0, y0], dtype=np.float64)
    plan = plan_warp(points - offset, new_points - points, x1 - x0, y1 - y0)
    dx, dy = plan.field_xy
    plan.field_xy = None
    # pychubby's displacement field (backward: output pixel p samples p + delta(p)) and warp
    field = modules["base"].DisplacementField(dx, dy)
    if not field.is_valid:
        raise InputError("the landmark moves could not be interpolated (non-finite field)",
                         field="au")
    warped = field.warp(np.ascontiguousarray(region), order=order).reshape(region.shape)
    shade_mouth_opening(warped, region, points - offset, plan.targets)
    out = image.copy()
    out[y0:y1, x0:x1] = warped
    return MorphResult(out, float(intensity), float(intensity) * plan.fraction,
                       plan.targets + offset, plan)


#: Inner-lip contour, in order (mouth corners 60 and 64).
_INNER_LIPS = (60, 61, 62, 63, 64, 65, 66, 67)
#: A neutral mouth whose inner lips are this far apart (pixels) or more is already open.
_OPEN_MOUTH = 3.0


def _mouth_gap(points: np.ndarray) -> float:
    """Largest opening between the inner lips (61/67, 62/66, 63/65), pixels."""
    return float(max(np.linalg.norm(points[a] - points[b]) for a, b in ((61, 67), (62, 66), (63, 65))))


def shade_mouth_opening(warped: np.ndarray, neutral_image: np.ndarray, neutral: np.ndarray,
                        targets: np.ndarray) -> None:
    """Darken the inside of a mouth that the AU opens from closed lips (in place).

    A closed-mouth neutral image has no mouth interior: the warp can only stretch the thin
    line where the lips meet. When the neutral inner lips are closer than ``_OPEN_MOUTH`` px
    and the AU parts them, the new inner-lip polygon (60-67) is filled with the darkest colour
    found along the neutral lip line (halved), anti-aliased, faded in over the first 2 px of
    opening. Already open neutral mouths are left to the warp.

    Parameters
    ----------
    warped : ndarray of uint8, shape (h, w[, c])
        The warped region (modified).
    neutral_image : ndarray of uint8, same shape
        The region before warping.
    neutral, targets : ndarray, shape (68, 2)
        Neutral and projected keypoints in region pixels.
    """
    opened = _mouth_gap(targets) - _mouth_gap(neutral)
    if _mouth_gap(neutral) >= _OPEN_MOUTH or opened <= 0.5:
        return
    import cv2

    h, w = warped.shape[:2]
    line = np.vstack([np.linspace(neutral[a], neutral[b], 8) for a, b in
                      ((60, 61), (61, 62), (62, 63), (63, 64))])
    xs = np.clip(np.rint(line[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.rint(line[:, 1]).astype(int), 0, h - 1)
    samples = neutral_image[ys, xs].reshape(len(line), -1).astype(np.float64)
    darkest = samples[np.argsort(samples[:, :3].mean(axis=1))[: max(1, len(line) // 10)]]
    colour = 0.5 * darkest.mean(axis=0)
    mask = np.zeros((h, w), dtype=np.uint8)
    poly = np.rint(targets[list(_INNER_LIPS)] * 16).astype(np.int32)
    cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=4)
    alpha = (mask.astype(np.float32) / 255.0) * min(1.0, (opened - 0.5) / 2.0)
    if not alpha.any():
        return
    if warped.ndim == 3:
        alpha = alpha[:, :, None]
        colour = colour.reshape(1, 1, -1)
    blended = warped.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha
    if warped.ndim == 3 and warped.shape[2] == 4:
        blended[..., 3] = warped[..., 3]
    warped[...] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def morph_au(
    image: np.ndarray,
    neutral_points: np.ndarray,
    au: np.ndarray,
    intensity: float = 1.0,
    *,
    margin: float | None = 0.5,
    order: int = 1,
) -> np.ndarray:
    """The projected AU image: ``image`` morphed so its landmarks move by the AU (SI 7.1).

    Coincident or nearly coincident neutral landmarks (closed lips, closed eyes) are fine:
    they share one control point while they move together and part when the AU opens them
    (:mod:`dfecs_app.core.warp_field`). Inner lips and eyelids never cross, and an intensity
    that would fold the image is capped (:func:`morph_au_result` says by how much).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3) (also (H, W) or (H, W, 4))
        The neutral face image.
    neutral_points : ndarray, shape (68, 2)
        Its 68 landmarks in pixel coordinates (x, y), 0-based, y down; all present.
    au : ndarray, shape (136,)
        The AU as a KPM vector ``[x0..x67, y0..y67]`` in standardized units.
    intensity : float
        Multiplier of the AU vector (0 gives the neutral image back).
    margin : float or None
        Warp only the face region grown by this many face sizes on each side (see the module
        docstring); ``None`` warps the whole image.
    order : {0, 1, 2}
        Interpolation order of the warp (pychubby's: nearest, linear, cubic).

    Returns
    -------
    ndarray of uint8, same shape as ``image``
        A new array; ``image`` is not modified.

    Raises
    ------
    InputError
        Bad image or landmarks (the landmarks are named).
    MissingResourceError
        pychubby is not installed.
    """
    return morph_au_result(image, neutral_points, au, intensity, margin=margin, order=order).image


def morph_aus(
    image: np.ndarray,
    neutral_points: np.ndarray,
    components: np.ndarray,
    intensity: float = 1.0,
    *,
    cache: MorphCache | None = None,
    state: TaskState | None = None,
    **kwargs: Any,
) -> list[np.ndarray]:
    """:func:`morph_au` for each row of ``components`` (q, 136), reporting progress.

    Parameters
    ----------
    cache : MorphCache, optional
        Reuse and store results.
    state : TaskState, optional
        Receives ``report("morph", i / q, ...)`` before each AU; cancelling raises
        :class:`~dfecs_app.errors.Cancelled` between AUs.
    **kwargs
        ``margin``, ``order`` as in :func:`morph_au`.

    Returns
    -------
    list of ndarray
        One projected AU image per component.
    """
    state = ensure_state(state)
    components = np.atleast_2d(np.asarray(components, dtype=np.float64))
    q = components.shape[0]
    out = []
    for i, au in enumerate(components):
        state.report("morph", i / q, f"projected AU image {i + 1}/{q}", index=i)
        if cache is not None:
            out.append(cache.get(image, neutral_points, au, intensity, **kwargs))
        else:
            out.append(morph_au(image, neutral_points, au, intensity, **kwargs))
    state.report("morph", 1.0, f"{q} projected AU images", force=True)
    return out


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class MorphCache:
    """A thread-safe LRU cache of projected AU images.

    Keys are content hashes of the image, the landmarks and the AU plus the intensity and the
    warp options, so the same AU on the same face is morphed once whichever thread asks.
    Returned images are read-only (they are shared); copy one before drawing on it.

    Parameters
    ----------
    max_items : int
        Images kept (a 512x512 RGB image is 0.8 MB).

    Examples
    --------
    >>> cache = MorphCache(max_items=64)
    >>> img = cache.get(image, points, model.components[0], intensity=1.5)  # doctest: +SKIP
    """

    def __init__(self, max_items: int = 64) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = int(max_items)
        self._items: OrderedDict[tuple, MorphResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(image: np.ndarray, neutral_points: np.ndarray, au: np.ndarray, intensity: float = 1.0,
            **kwargs: Any) -> tuple:
        """The cache key of one morph (hashes of the inputs, intensity, options)."""
        return (
            _digest(np.asarray(image)),
            _digest(np.asarray(neutral_points, dtype=np.float64)),
            _digest(np.asarray(au, dtype=np.float64)),
            float(intensity),
            tuple(sorted(kwargs.items())),
        )

    def get(self, image: np.ndarray, neutral_points: np.ndarray, au: np.ndarray,
            intensity: float = 1.0, **kwargs: Any) -> np.ndarray:
        """The projected AU image from the cache, morphed (and stored) if missing.

        Same parameters as :func:`morph_au`.
        """
        return self.get_result(image, neutral_points, au, intensity, **kwargs).image

    def get_result(self, image: np.ndarray, neutral_points: np.ndarray, au: np.ndarray,
                   intensity: float = 1.0, **kwargs: Any) -> MorphResult:
        """:func:`morph_au_result` through the cache (the image is read-only)."""
        key = self.key(image, neutral_points, au, intensity, **kwargs)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        result = morph_au_result(image, neutral_points, au, intensity, **kwargs)
        result.image.setflags(write=False)
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return result

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget every image (e.g. when the neutral face changes)."""
        with self._lock:
            self._items.clear()



def au_file_stem(name: str, index: int) -> str:
    """A file-name stem for an AU: ``"AU 12 (lip corner)"`` -> ``"01_AU_12_lip_corner"``.

    The 1-based index comes first so names that sanitise alike stay distinct and files sort
    in the model's order.
    """
    clean = re.sub(r"[^0-9A-Za-z+-]+", "_", str(name).replace("−", "-")).strip("_")
    return f"{index + 1:02d}_{clean[:60] or 'AU'}"


def try_morph(image: np.ndarray, neutral_points: np.ndarray, au: np.ndarray, scale: float,
              cache: MorphCache | None = None) -> tuple[MorphResult | None, str | None]:
    """One projected AU image, or the reason it cannot be made: ``(result, None)`` or
    ``(None, reason)``. What the GUI's panels and ``dfecs morph`` call for every AU."""
    try:
        if cache is not None:
            return cache.get_result(image, neutral_points, au, float(scale)), None
        return morph_au_result(image, neutral_points, au, float(scale)), None
    except DfecsError as err:
        return None, str(err)


def write_projected_set(folder: str | os.PathLike, images: dict[int, np.ndarray],
                        names: list[str], description: dict[str, Any],
                        formats: tuple[str, ...] = (".png",)) -> list[Path]:
    """Write projected AU images (one file per AU and format, named by :func:`au_file_stem`)
    and ``projected_aus.json`` (``description``: intensity, unit, per-AU multipliers, notes).

    What ``dfecs morph`` and the Projected panel's *Export all* write. Files are written
    atomically; the JSON comes last and lists the image files.
    """
    import json

    from dfecs_app.io.atomic import write_text_atomic
    from dfecs_app.render.figures import save_image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    files: dict[str, list[str]] = {}
    for comp in sorted(images):
        stem = au_file_stem(names[comp], comp)
        for suffix in formats:
            p = save_image(folder / f"{stem}{suffix}", images[comp])
            written.append(p)
            files.setdefault(str(comp), []).append(p.name)
    desc = dict(description)
    for entry_index, entry in enumerate(desc.get("aus", [])):
        entry["files"] = files.get(str(entry_index), [])
    path = folder / "projected_aus.json"
    write_text_atomic(path, json.dumps(desc, indent=2) + "\n")
    written.append(path)
    return written


def describe_projected(names: list[str], scales: np.ndarray, results: dict[int, MorphResult],
                       failures: dict[int, str], *, intensity: float | None,
                       unit: Any = None, max_move: float | None = None,
                       arrow_scale: float | None = None) -> dict[str, Any]:
    """The JSON description of a set of projected AU images (what exports write).

    Parameters
    ----------
    names : list of str
        AU names, in model order.
    scales : ndarray, shape (q,)
        Multiplier of each AU vector asked for.
    results, failures : dict
        Per component: its :class:`MorphResult`, or the reason it could not be made.
    intensity : float or None
        The shared intensity (unit of :mod:`dfecs_app.core.intensity`); None with ``max_move``.
    unit : IntensityUnit, optional
    max_move : float, optional
        Each AU scaled so its largest keypoint move is this fraction of the face width.
    arrow_scale : float, optional
        Arrow length multiplier of the matching arrow plots.
    """
    out: dict[str, Any] = {"intensity": intensity}
    if max_move is not None:
        out["max_move"] = float(max_move)
        out["max_move_definition"] = ("each AU scaled so that its largest keypoint move is "
                                      "max_move x the face width (horizontal extent of the 68 "
                                      "neutral landmarks)")
    if arrow_scale is not None:
        out["arrow_scale"] = float(arrow_scale)
    if unit is not None:
        out.update(unit.to_json())
    aus = []
    for c, name in enumerate(names):
        entry: dict[str, Any] = {"index": c, "name": name, "scale": float(scales[c])}
        if unit is not None and unit.p95[c] > 0:
            entry["intensity"] = float(scales[c] / unit.p95[c])
        r = results.get(c)
        if r is not None:
            entry["applied_scale"] = float(r.applied)
            if unit is not None and unit.p95[c] > 0:
                entry["applied_intensity"] = float(r.applied / unit.p95[c])
            entry["capped"] = bool(r.capped)
            entry["notes"] = r.notes()
        if c in failures:
            entry["error"] = failures[c]
        aus.append(entry)
    out["aus"] = aus
    return out
