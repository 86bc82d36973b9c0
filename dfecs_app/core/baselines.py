"""Baseline AU models of §3.1–3.2: PCA AUs ``[U, −U]`` and keypoint FACS AUs.

PCA AUs
-------
KPMs are motions *from the neutral face*, and every VE of the paper (§3.4) is measured against
``‖Y‖²`` — not against the variance around a mean — with reconstructions ``Ŷ = U V`` that have
no offset term; the paper writes PCA as ``X ≈ A D Bᵀ`` without a mean as well (after Tripathi
et al.). So the PCA here is **uncentered**: the principal directions are the right singular
vectors of ``X`` itself (eigenvectors of ``XᵀX``), which maximise exactly that VE for a given
number of components. (A centered PCA would spend a component on the mean motion and need an
offset that positive encodings cannot provide.)

For positive encodings the component matrix becomes ``[U, −U]`` (§3.2): the non-negative
encoding on ``[U, −U]`` reaches exactly the least-squares fit on ``U``, so the number of
principal components is the smallest ``k`` whose VE(train) of that encoding reaches the
target; with missing keypoints that VE is computed with each sample's masked Gram matrix.
Components are ordered ``PC1..PCk`` then ``−PC1..−PCk``, named "Component i (+ve)" /
"Component i (-ve)" as in the paper's Table 2; each PC's sign makes its largest entry positive.

Keypoint FACS AUs
-----------------
The paper's recipe (§3.1): one neutral image and one apex image per AU of the same person,
landmarks standardized with the same corrections as the KPMs (§2.1), AU = apex − neutral.
:func:`facs_aus_from_landmarks` does that from landmark arrays, :func:`facs_aus_from_vectors`
takes ready-made 136-vectors, and :func:`facs_aus_from_displacements` builds AUs from a linear
landmark model (neutral shape plus a displacement per unit AU — e.g. py-feat's 2021
AU-to-landmark tables) by posing each AU at ``intensity`` units on the neutral shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from dfecs_app.core.aumodel import AUModel, data_hash
from dfecs_app.core.geometry import standardize as _standardize
from dfecs_app.core.landmarks import N_FEATURES, N_POINTS, points_to_vec
from dfecs_app.core.metrics import feature_mask, mask_patterns
from dfecs_app.errors import InputError

#: AU numbers of py-feat's 2021 AU-to-landmark model, in its (inferred) input order.
PYFEAT_2021_AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 18, 20, 23, 24, 25,
                                    26, 28, 43)

#: FACS names of the AUs above (FACS manual).
FACS_AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    11: "nasolabial deepener", 12: "lip corner puller", 14: "dimpler",
    15: "lip corner depressor", 17: "chin raiser", 18: "lip pucker", 20: "lip stretcher",
    23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop", 28: "lip suck",
    43: "eyes closed",
}

#: Default apex intensity (model units) for :func:`facs_aus_from_displacements`. py-feat's
#: 2021 model takes AU inputs on a 0–1 occurrence scale (training std ≈ 0.45); 3 units give
#: clearly visible apex motions of about 3–12 px on its template face, whose outer eye corners
#: are 76 px apart (4–16 %), the size of posed apex motions relative to the face.
DEFAULT_APEX_INTENSITY = 3.0

Standardizer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check_X(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise InputError(f"KPM data must have shape (n, {N_FEATURES}), got {X.shape}", field="X")
    if X.shape[0] == 0:
        raise InputError("no samples", field="X")
    if not np.isfinite(X).all():
        raise InputError("KPM data contain NaN or inf", field="X")
    return X


def _masked_ls_rss(X: np.ndarray, fmask: np.ndarray | None, U: np.ndarray) -> float:
    """Σ over samples of the least-squares residual of ``y ≈ Uᵀ v`` over present entries."""
    if fmask is None:
        C = X @ U.T
        # U has orthonormal rows
        return float(np.einsum("ij,ij->", X, X) - np.einsum("ij,ij->", C, C))
    patterns, inverse = mask_patterns(fmask)
    rss = 0.0
    for p in range(patterns.shape[0]):
        rows = np.flatnonzero(inverse == p)
        Up = U * patterns[p]
        Yp = X[rows] * patterns[p]
        G = Up @ Up.T
        C = Yp @ Up.T
        sol = np.linalg.lstsq(G, C.T, rcond=None)[0]
        rss += float(np.einsum("ij,ij->", Yp, Yp) - np.einsum("ij,ji->", C, sol))
    return max(rss, 0.0)


def pca_aus(X: np.ndarray, ve: float = 95.0, mask: np.ndarray | None = None,
            n_components: int | None = None) -> AUModel:
    """PCA AUs ``[U, −U]`` reaching ``ve`` percent VE(train) with positive encodings.

    Parameters
    ----------
    X : ndarray, shape (n_samples, 136)
        Training KPMs.
    ve : float
        Target VE(train) in percent, in (0, 100] (ignored when ``n_components`` is given).
    n_components : int, optional
        Number of principal components ``k`` instead of a VE target (the model then has
        ``2k`` AUs; Table 2 rates ``k = 8`` as 16 AUs). At most the rank bound 136.
    mask : ndarray of bool, shape (n_samples, 68), optional
        Present keypoints (missing entries of ``X`` are ignored in the VE; they count as 0 in
        the principal directions).

    Returns
    -------
    AUModel
        ``kind='pca'``, components ``(2k, 136)`` named ``Component i (+ve)`` then
        ``Component i (-ve)`` (the paper's Table 2 names); ``meta`` holds ``ve_target`` (None
        with ``n_components``), ``n_components_requested``, ``ve_train``, ``n_pcs``,
        ``centered`` (False) and ``training_data_hash``; ``arrays['singular_values']``.
    """
    X = _check_X(X)
    if n_components is None and not 0.0 < float(ve) <= 100.0:
        raise InputError(f"target VE must be in (0, 100], got {ve}", field="ve")
    if n_components is not None and not 1 <= int(n_components) <= N_FEATURES:
        raise InputError(f"the number of principal components must be in 1..{N_FEATURES}, "
                         f"got {n_components}", field="n_components")
    fmask = feature_mask(mask, X.shape)
    Xm = X if fmask is None else np.where(fmask, X, 0.0)
    total = float(np.einsum("ij,ij->", Xm, Xm))
    if total == 0.0:
        raise InputError("all samples are zero (no motion): no principal components", field="X")
    evals, evecs = np.linalg.eigh(Xm.T @ Xm)
    order = np.argsort(evals)[::-1]
    evals = np.clip(evals[order], 0.0, None)
    V = evecs[:, order].T  # rows: principal directions
    # deterministic signs: largest-magnitude entry positive
    big = np.argmax(np.abs(V), axis=1)
    V *= np.where(V[np.arange(V.shape[0]), big] < 0, -1.0, 1.0)[:, None]
    if n_components is not None:
        k = int(n_components)
        ve_k = 100.0 * (1.0 - _masked_ls_rss(Xm, fmask, V[:k]) / total)
    else:
        cum = 100.0 * np.cumsum(evals) / evals.sum()
        k = int(min(np.searchsorted(cum, float(ve) - 1e-9) + 1, V.shape[0]))
        ve_k = 100.0 * (1.0 - _masked_ls_rss(Xm, fmask, V[:k]) / total)
        while ve_k < float(ve) and k < V.shape[0]:
            k += 1
            ve_k = 100.0 * (1.0 - _masked_ls_rss(Xm, fmask, V[:k]) / total)
    U = V[:k]
    return AUModel(
        components=np.vstack([U, -U]),
        kind="pca",
        names=pca_au_names(k),
        meta={
            "ve_target": None if n_components is not None else float(ve),
            "n_components_requested": None if n_components is None else int(n_components),
            "ve_train": float(ve_k),
            "n_pcs": k,
            "centered": False,
            "n_train": int(X.shape[0]),
            "training_data_hash": data_hash(X),
        },
        arrays={"singular_values": np.sqrt(evals)},
    )


def pca_au_names(n_pcs: int) -> list[str]:
    """The paper's Table 2 names of ``[U, −U]``: ``Component i (+ve)`` for ``i = 1..k``, then
    ``Component i (-ve)`` (ASCII hyphen, as the paper prints them)."""
    return ([f"Component {i + 1} (+ve)" for i in range(n_pcs)]
            + [f"Component {i + 1} (-ve)" for i in range(n_pcs)])


def facs_aus_from_vectors(
    vectors: np.ndarray, names: Sequence[str], meta: Mapping | None = None
) -> AUModel:
    """A FACS AU model from AU KPM vectors.

    Parameters
    ----------
    vectors : ndarray, shape (q, 136)
        One KPM ``[x0..x67, y0..y67]`` per AU (apex minus neutral, standardized).
    names : sequence of str, length q
    meta : mapping, optional

    Returns
    -------
    AUModel
        ``kind='facs'``.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != N_FEATURES or vectors.shape[0] == 0:
        raise InputError(f"AU vectors must have shape (q, {N_FEATURES}), got {vectors.shape}",
                         field="vectors")
    if not np.isfinite(vectors).all():
        raise InputError("AU vectors contain NaN or inf", field="vectors")
    names = [str(s) for s in names]
    if len(names) != vectors.shape[0]:
        raise InputError(f"{len(names)} names for {vectors.shape[0]} AU vectors", field="names")
    zero = ~np.any(vectors != 0.0, axis=1)
    if zero.any():
        raise InputError(f"AU vector(s) {', '.join(np.asarray(names)[zero])} are all zero",
                         field="vectors")
    return AUModel(components=vectors, kind="facs", names=names, meta=dict(meta or {}))


def _standardize_points(points: np.ndarray, mask: np.ndarray, frontalization,
                        standardize: Standardizer | None) -> np.ndarray:
    if standardize is not None:
        return np.asarray(standardize(points, mask), dtype=np.float64)
    return _standardize(points, mask, frontalization)


def facs_aus_from_landmarks(
    neutral_points: np.ndarray,
    apex_points: Mapping[str, np.ndarray],
    *,
    mask: np.ndarray | None = None,
    frontalization=None,
    standardize: Standardizer | None = None,
    meta: Mapping | None = None,
) -> AUModel:
    """FACS AUs from a neutral face and one apex face per AU (§3.1).

    Parameters
    ----------
    neutral_points : ndarray, shape (68, 2)
        Landmarks of the neutral image (image coordinates, y down).
    apex_points : mapping of str -> ndarray, shape (68, 2)
        Landmarks of each AU's apex image of the same person, keyed by AU name.
    mask : ndarray of bool, shape (68,), optional
        Present keypoints (all by default).
    frontalization : FrontalizationWeights, optional
        Landmark frontalization weights (None skips frontalization).
    standardize : callable ``(points (n, 68, 2), mask (n, 68)) -> (n, 68, 2)``, optional
        Replaces :func:`dfecs_app.core.geometry.standardize` (with ``frontalization``).

    Returns
    -------
    AUModel
        ``kind='facs'``, one component per apex: ``vec(std(apex)) − vec(std(neutral))``.
    """
    if not apex_points:
        raise InputError("no apex landmarks given", field="apex")
    names = [str(k) for k in apex_points]
    pts = np.stack([np.asarray(neutral_points, dtype=np.float64)]
                   + [np.asarray(apex_points[k], dtype=np.float64) for k in apex_points])
    if pts.shape[1:] != (N_POINTS, 2):
        raise InputError(f"landmarks must have shape ({N_POINTS}, 2), got {pts.shape[1:]}",
                         field="points")
    if not np.isfinite(pts).all():
        raise InputError("landmarks contain NaN or inf", field="points")
    m = np.ones(N_POINTS, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    masks = np.broadcast_to(m, (pts.shape[0], N_POINTS)).copy()
    std = _standardize_points(pts, masks, frontalization, standardize)
    vecs = points_to_vec(std)
    kpm = vecs[1:] - vecs[0]
    info = {"source": "landmarks", "frontalized": frontalization is not None}
    info.update(meta or {})
    return facs_aus_from_vectors(kpm, names, meta=info)


def facs_aus_from_displacements(
    neutral_xy: np.ndarray,
    delta_xy: np.ndarray,
    names: Sequence[str],
    *,
    intensity: float = DEFAULT_APEX_INTENSITY,
    y_up: bool = False,
    frontalization=None,
    standardize: Standardizer | None = None,
    meta: Mapping | None = None,
) -> AUModel:
    """FACS AUs from a linear landmark model: apex = neutral + intensity · delta per AU.

    Parameters
    ----------
    neutral_xy : ndarray, shape (68, 2)
        Neutral landmarks (e.g. py-feat's ``zero_xy``).
    delta_xy : ndarray, shape (q, 68, 2)
        Landmark displacement per unit of each AU.
    names : sequence of str, length q
    intensity : float
        Apex intensity in model units (default :data:`DEFAULT_APEX_INTENSITY`).
    y_up : bool
        Coordinates have y pointing up (flipped to image convention first).
    frontalization, standardize
        As in :func:`facs_aus_from_landmarks`.

    Returns
    -------
    AUModel
        ``kind='facs'``: ``vec(std(neutral + s·Δ_j)) − vec(std(neutral))`` per AU.
    """
    neutral_xy = np.asarray(neutral_xy, dtype=np.float64)
    delta_xy = np.asarray(delta_xy, dtype=np.float64)
    if neutral_xy.shape != (N_POINTS, 2) or delta_xy.ndim != 3 or delta_xy.shape[1:] != (N_POINTS, 2):
        raise InputError(f"expected neutral (68, 2) and deltas (q, 68, 2), got "
                         f"{neutral_xy.shape} and {delta_xy.shape}", field="delta_xy")
    if not float(intensity) > 0.0:
        raise InputError(f"apex intensity must be > 0, got {intensity}", field="intensity")
    if y_up:
        flip = np.array([1.0, -1.0])
        neutral_xy = neutral_xy * flip
        delta_xy = delta_xy * flip
    names = [str(s) for s in names]
    if len(names) != delta_xy.shape[0]:
        raise InputError(f"{len(names)} names for {delta_xy.shape[0]} AUs", field="names")
    apex = {name: neutral_xy + float(intensity) * delta_xy[j] for j, name in enumerate(names)}
    info = {"source": "displacement model", "intensity": float(intensity)}
    info.update(meta or {})
    return facs_aus_from_landmarks(neutral_xy, apex, frontalization=frontalization,
                                   standardize=standardize, meta=info)


def pyfeat_au_names(au_numbers: Sequence[int] = PYFEAT_2021_AUS) -> list[str]:
    """Display names "AU12 lip corner puller" for AU numbers."""
    return [f"AU{n} {FACS_AU_NAMES.get(int(n), '')}".strip() for n in au_numbers]
