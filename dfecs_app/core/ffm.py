"""Full Face Model (paper §2.3): ``X ≈ U A B`` — per-part dictionaries, then an L1 NMF.

``FullFaceModel`` fits, on KPMs ``X`` (n, 136), the seven Part Face Models (eq. 1,
:mod:`dfecs_app.core.pfm`) and the Hierarchical Face Model on their stacked codes (eq. 2,
:mod:`dfecs_app.core.hfm`), with hyperparameters searched as in §2.3.3
(:mod:`dfecs_app.core.search`) or given explicitly (e.g. SI Tables 1–2). The DFECS AUs are the
rows of ``components_ = (U A)ᵀ`` (q, 136), ordered by their share of the training variance
explained (:func:`au_statistics`), largest first.

α conventions: the PFM α is eq. 1's (with the ½); α_A, α_B are eq. 2's (no ½); ``transform``
encodes with eq. 3 (no ½) at ``transform_alpha``, by default 0: non-negative least squares, the
end point of the VE-vs-k curve. Give an eq. 3 α to get sparser codes.

Per-AU figures (``au_stats_``, ``meta["au_stats"]`` of the model file), from the NNLS codes
``c`` (n, q) of the training KPMs on the final AUs ``u_j``:

``ve_share``
    ``Σ_i c_ij ⟨x_i, u_j⟩ / ‖X‖²`` over present entries: the AU's part of the pooled NNLS VE
    as a fraction of the training variance. At the NNLS optimum ``⟨x_i − x̂_i, x̂_i⟩ = 0``
    for every sample, so ``Σ_j ve_share_j = ‖X̂‖²/‖X‖² = VE_NNLS / 100`` exactly.
``active_fraction``
    fraction of training frames whose NNLS activation ``c_ij`` is > 0;
``mean_activation``, ``p95_activation``
    mean and 95th percentile of ``c_ij`` over the frames where the AU is active (0 when it
    never is): the typical and the strong intensity of the AU, in the units of its codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from dfecs_app.core.aumodel import AUModel, data_hash
from dfecs_app.core.encoding import encode
from dfecs_app.core.landmarks import N_FEATURES, PART_FEATURES, PART_NAMES
from dfecs_app.core.metrics import feature_mask, variance_explained
from dfecs_app.core.pfm import PartFaceModel
from dfecs_app.core.progress import TaskState
from dfecs_app.core.search import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    SearchResult,
    check_strategy,
    run_search,
    stack_parts,
)
from dfecs_app.errors import InputError

#: Below this many training frames per KPM feature (136) a warning is given: a decomposition
#: of 136 correlated coordinates estimates their covariance, and the usual rule of thumb is at
#: least 10 samples per variable; with fewer, the search reaches its VE target with few
#: components because there is little to explain (3 KPMs gave "2 AUs, VE 98 %").
MIN_FRAMES_PER_FEATURE = 10
#: Below this many subjects a warning is given: AUs are meant to be motions shared across faces
#: (the paper trains on 27 DISFA subjects); with one or a few people they describe those
#: people's expressions and tracking quirks (72 frames of one man gave 2 AUs).
MIN_SUBJECTS = 5


def training_data_warnings(n_samples: int, n_subjects: int | None = None) -> list[str]:
    """Plain-language warnings about too little training data (empty list when none).

    Parameters
    ----------
    n_samples : int
        Training KPMs.
    n_subjects : int, optional
        Distinct subjects among them (not checked when None).
    """
    out = []
    need = MIN_FRAMES_PER_FEATURE * N_FEATURES
    if n_samples < need:
        out.append(f"only {n_samples} training frames ({n_samples / N_FEATURES:.1f} per KPM "
                   f"feature; at least {MIN_FRAMES_PER_FEATURE} per feature, i.e. {need}, are "
                   "advised): the VE target is reached with few components because there is "
                   "little to explain; treat the AUs as a sketch of these frames")
    if n_subjects is not None and n_subjects < MIN_SUBJECTS:
        out.append(f"only {n_subjects} subject(s) (at least {MIN_SUBJECTS} advised): the AUs "
                   "describe these people's motions, not motions shared across faces")
    return out


def au_statistics(X: np.ndarray, components: np.ndarray, fmask: np.ndarray | None,
                  codes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-AU figures of the module docstring from the NNLS codes of ``X`` (n, 136).

    Parameters
    ----------
    X : ndarray, shape (n, 136)
    components : ndarray, shape (q, 136)
    fmask : ndarray of bool, shape (n, 136), or None
    codes : ndarray, shape (n, q), optional
        NNLS codes, computed when omitted.

    Returns
    -------
    dict of str -> ndarray, shape (q,)
        ``ve_share``, ``active_fraction``, ``mean_activation``, ``p95_activation``, and
        ``ve_nnls`` (a float: pooled NNLS VE in percent, ``100 Σ ve_share``).
    """
    Xz = X if fmask is None else np.where(fmask, X, 0.0)
    C = encode(X, components, 0.0, fmask) if codes is None else codes
    total = float(np.einsum("ij,ij->", Xz, Xz))
    share = (C * (Xz @ components.T)).sum(axis=0) / total if total > 0 else np.zeros(C.shape[1])
    active = C > 0.0
    q = C.shape[1]
    mean = np.zeros(q)
    p95 = np.zeros(q)
    for j in range(q):
        a = C[active[:, j], j]
        if a.size:
            mean[j] = a.mean()
            p95[j] = np.percentile(a, 95)
    return {"ve_share": share, "active_fraction": active.mean(axis=0), "mean_activation": mean,
            "p95_activation": p95,
            "ve_nnls": variance_explained(X, C @ components, fmask)}


#: One line per figure of ``meta["au_stats"]`` (tooltips, ``dfecs train``, README).
AU_STATS_DEFINITION = {
    "ve_share": "share of the training variance this AU explains in the NNLS encoding "
                "(Σ_i c_ij⟨x_i, u_j⟩ / ‖X‖²; the shares add up to the pooled NNLS VE)",
    "active_fraction": "fraction of training frames in which the AU's NNLS activation is > 0",
    "mean_activation": "mean NNLS activation over the training frames where the AU is active",
    "p95_activation": "95th percentile of the NNLS activation over the training frames where "
                      "the AU is active",
}


def check_kpm(X: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate KPMs for training; return ``X`` (float64) and the feature mask (or None).

    Raises
    ------
    InputError
        Wrong shape, NaN/inf, or no motion at all (fields ``X`` / ``mask``).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise InputError(f"KPMs must have shape (n, {N_FEATURES}), got {X.shape}", field="X")
    if X.shape[0] < 2:
        raise InputError(f"need at least 2 KPM samples, got {X.shape[0]}", field="X")
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InputError(f"X contains NaN or inf (first in sample {row})", field="X")
    try:
        fmask = feature_mask(mask, X.shape)
    except ValueError as err:
        raise InputError(str(err), field="mask") from err
    Xp = X if fmask is None else np.where(fmask, X, 0.0)
    if not np.any(Xp):
        raise InputError("all KPMs are zero: there is no motion to learn from", field="X")
    return X, fmask


class FullFaceModel(TransformerMixin, BaseEstimator):
    """DFECS AUs from KPMs: PFM per face part + HFM, searched (§2.3.3) or explicit.

    Parameters
    ----------
    beta : float in (0, 1)
        Target loss of variance: PFM VE ≥ 100(1 − β/2), FFM VE ≥ 100(1 − β).
    parts : dict, optional
        Explicit PFM settings ``{part: {"k": int, "alpha": float}}`` (or ``(k, alpha)``) for
        some or all parts of :data:`~dfecs_app.core.landmarks.PART_NAMES`; the others are
        searched.
    hfm : dict, optional
        Explicit HFM setting ``{"q": int, "alpha_A": float, "alpha_B": float}``.
    search_mode : {'exact', 'literal', 'heuristic'}
        Search strategy (:mod:`dfecs_app.core.search`): ``'exact'`` (default) returns the
        literal grid's choice with fewer fits, ``'literal'`` runs the whole grid in order,
        ``'heuristic'`` (old name ``'fast'``) is faster and may choose other settings.
    transform_alpha : float, optional
        α of eq. 3 used by :meth:`transform` (default 0: non-negative least squares).
    random_state : int, RandomState or None
    n_jobs : int, optional
        Threads for the part searches (default: all cores, up to 8).

    Attributes
    ----------
    components_ : ndarray, shape (q, 136)
        DFECS AUs ``(U A)ᵀ``, by decreasing share of the training VE (``au_stats_``). AUs the L1 penalties switched off entirely
        (zero component or no use) are dropped (``hyperparameters_["hfm"]["n_unused"]``).
    n_components_ : int
    part_models_ : dict of str -> PartFaceModel
        The fitted PFMs (skipped parts absent).
    U_ : ndarray, shape (k, 136)
        Stacked part atoms.
    A_ : ndarray, shape (k, q)
    codes_ : ndarray, shape (n_samples, q)
        Training codes ``Bᵀ``.
    usage_ : ndarray, shape (q,)
        Column sums of ``codes_``.
    ve_train_ : float
        ``VE(X, U A B)`` in percent (:data:`~dfecs_app.core.ve_labels.VE_FFM`).
    ve_nnls_train_ : float
        Pooled VE of the NNLS encoding of the training KPMs
        (:data:`~dfecs_app.core.ve_labels.VE_NNLS`).
    au_stats_ : dict of str -> ndarray, shape (q,)
        :func:`au_statistics` in the AU order.
    warnings_ : list of str
        :func:`training_data_warnings`.
    hyperparameters_ : dict
        Chosen settings per part and for the HFM, targets, β, mode, number of fits.
    search_ : SearchResult
    """

    def __init__(
        self,
        *,
        beta: float = 0.05,
        parts: dict[str, Any] | None = None,
        hfm: dict[str, Any] | None = None,
        search_mode: str = DEFAULT_STRATEGY,
        transform_alpha: float | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.beta = beta
        self.parts = parts
        self.hfm = hfm
        self.search_mode = search_mode
        self.transform_alpha = transform_alpha
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- parameter checks ---------------------------------------------------------------------
    def _explicit_parts(self) -> dict[str, tuple[int, float]]:
        out = {}
        for name, spec in (self.parts or {}).items():
            if name not in PART_FEATURES:
                raise InputError(f"unknown face part {name!r} (one of {', '.join(PART_NAMES)})",
                                 field=f"parts.{name}")
            if isinstance(spec, dict):
                k, a = spec.get("k"), spec.get("alpha")
            else:
                k, a = spec
            p = len(PART_FEATURES[name])
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= p:
                raise InputError(f"k must be an integer between 1 and {p}, got {k!r}",
                                 field=f"parts.{name}.k")
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not np.isfinite(a) or a < 0:
                raise InputError(f"alpha must be a number >= 0, got {a!r}",
                                 field=f"parts.{name}.alpha")
            out[name] = (int(k), float(a))
        return out

    def _explicit_hfm(self) -> tuple[int, float, float] | None:
        if self.hfm is None:
            return None
        spec = self.hfm
        if not isinstance(spec, dict):
            raise InputError("hfm must be an object with q, alpha_A, alpha_B", field="hfm")
        q = spec.get("q")
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
            raise InputError(f"q must be a positive integer, got {q!r}", field="hfm.q")
        alphas = []
        for key in ("alpha_A", "alpha_B"):
            a = spec.get(key)
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not np.isfinite(a) or a < 0:
                raise InputError(f"{key} must be a number >= 0, got {a!r}", field=f"hfm.{key}")
            alphas.append(float(a))
        return int(q), alphas[0], alphas[1]

    # -- estimator API ------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: None = None, mask: np.ndarray | None = None,
            state: TaskState | None = None, subjects: np.ndarray | None = None) -> FullFaceModel:
        """Fit on KPMs ``X`` (n, 136); ``mask`` (n, 68) marks present keypoints.

        ``state`` receives progress reports and may cancel between fits
        (:class:`~dfecs_app.errors.Cancelled`); ``subjects`` (n,) labels the rows for the
        small-data warnings.
        """
        try:
            mode = check_strategy(self.search_mode)
        except ValueError:
            raise InputError(f"search_mode must be one of {STRATEGIES}, got "
                             f"{self.search_mode!r}", field="mode") from None
        if not (isinstance(self.beta, (int, float)) and 0.0 < float(self.beta) < 1.0):
            raise InputError(f"beta must be in (0, 1), got {self.beta!r}", field="beta")
        X, fmask = check_kpm(X, mask)
        parts = self._explicit_parts()
        hfm = self._explicit_hfm()
        seed = self.random_state
        result = run_search(X, fmask, beta=float(self.beta), mode=mode, parts=parts,
                            hfm=hfm, random_state=seed, n_jobs=self.n_jobs, state=state)
        self._set_from_search(X, fmask, result)
        n_subj = None if subjects is None else int(np.unique(np.asarray(subjects)).size)
        self.warnings_ = training_data_warnings(X.shape[0], n_subj)
        return self

    def _set_from_search(self, X: np.ndarray, fmask: np.ndarray | None,
                         result: SearchResult) -> None:
        U, _, owner = stack_parts(result.parts, X.shape[0])
        hc = result.hfm
        W, H = hc.W, hc.H
        usage = W.sum(axis=0)
        # An AU the L1 penalties switched off (zero component or never used) is no AU.
        alive = np.flatnonzero((usage > 0) & (np.abs(H @ U).sum(axis=1) > 0))
        stats = au_statistics(X, H[alive] @ U, fmask)
        order = alive[np.argsort(-stats["ve_share"], kind="stable")]
        rank = np.argsort(-stats["ve_share"], kind="stable")
        W, H, usage = W[:, order], H[order], usage[order]
        self.ve_nnls_train_ = float(stats.pop("ve_nnls"))
        self.au_stats_ = {key: np.asarray(v)[rank] for key, v in stats.items()}
        self.U_ = U
        self.A_ = np.ascontiguousarray(H.T)
        self.codes_ = np.ascontiguousarray(W)
        self.usage_ = usage
        self.components_ = H @ U
        self.n_components_ = int(H.shape[0])
        self.atom_parts_ = owner
        self.ve_train_ = variance_explained(X, W @ self.components_, fmask)
        self.part_models_ = {}
        for name, pc in result.parts.items():
            if pc.k == 0:
                continue
            m = PartFaceModel(pc.k, alpha=pc.alpha, part=name,
                              random_state=self.random_state)
            m.components_ = pc.components
            m.codes_ = pc.codes
            m.features_ = pc.features
            m.ve_train_ = pc.ve
            m.n_features_in_ = N_FEATURES
            m.objective_ = pc.objective
            m.n_iter_ = 0
            self.part_models_[name] = m
        self.hyperparameters_ = {
            "beta": result.beta,
            "mode": result.mode,
            "targets": dict(result.targets),
            "parts": {
                name: ({"k": 0, "alpha": None, "skipped": pc.skipped} if pc.k == 0 else
                       {"k": pc.k, "alpha": pc.alpha, "ve": pc.ve, "reached": pc.reached,
                        "n_fits": pc.n_fits, "objective": pc.objective, "kkt": pc.kkt,
                        "n_tight": pc.n_tight, "confirmed": pc.confirmed})
                for name, pc in result.parts.items()},
            "hfm": {"q": hc.q, "alpha_A": hc.alpha_A, "alpha_B": hc.alpha_B, "ve": hc.ve,
                    "reached": hc.reached, "n_fits": hc.n_fits,
                    "n_unused": int(hc.q - len(order)), "objective": hc.objective,
                    "kkt_A": hc.kkt_A, "kkt_B": hc.kkt_B, "n_starts": hc.n_starts,
                    "n_tight": hc.n_tight, "confirmed": hc.confirmed},
            "n_fits": result.n_fits,
            "seconds": result.elapsed,
        }
        self.search_ = result
        self.n_features_in_ = N_FEATURES
        self.data_hash_ = data_hash(X)

    def transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Codes of ``X`` (n, 136) on the AUs, shape (n, q): eq. 3 at ``transform_alpha``.

        The default α = 0 is non-negative least squares (the end point of the VE-vs-k curve);
        the HFM's α_B is a penalty on the PFM codes, not on KPMs, and is not reused here.
        """
        check_is_fitted(self, "components_")
        alpha = 0.0 if self.transform_alpha is None else float(self.transform_alpha)
        return encode(X, self.components_, alpha, mask)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        """``codes @ components_``, shape (n, 136)."""
        check_is_fitted(self, "components_")
        return np.asarray(codes, dtype=np.float64) @ self.components_

    def to_au_model(self) -> AUModel:
        """The fitted AUs as an :class:`~dfecs_app.core.aumodel.AUModel` (kind ``'dfecs'``)."""
        check_is_fitted(self, "components_")
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        hp = self.hyperparameters_
        meta = {
            "hyperparameters": {"parts": hp["parts"], "hfm": hp["hfm"]},
            "beta": hp["beta"],
            "search_mode": hp["mode"],
            "n_fits": int(hp["n_fits"]),
            "search_seconds": float(hp["seconds"]),
            "targets": hp["targets"],
            "ve_train": float(self.ve_train_),
            "ve_nnls_train": float(self.ve_nnls_train_),
            "au_stats": {key: [float(v) for v in vals] for key, vals in self.au_stats_.items()},
            "au_stats_definition": AU_STATS_DEFINITION,
            "warnings": list(getattr(self, "warnings_", [])),
            "data_hash": self.data_hash_,
            "n_samples": int(self.codes_.shape[0]),
            "seed": None if seed is None else int(seed),
            "atom_parts": list(self.atom_parts_),
        }
        arrays: dict[str, np.ndarray] = {"A": self.A_}
        for name, m in self.part_models_.items():
            arrays[f"U_{name}"] = m.components_
            arrays[f"features_{name}"] = np.asarray(m.features_, dtype=np.int64)
        names = [f"AU {i + 1}" for i in range(self.n_components_)]
        return AUModel(components=self.components_, kind="dfecs", names=names, meta=meta,
                       arrays=arrays)


def hyperparameter_rows(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The SI Table 1–2 rows of a DFECS model's metadata, for the CLI and the Train panel.

    Returns one dict per face part (``PART_NAMES`` order) and a last one for the HFM, each with
    ``model`` ("PFM"/"HFM"), ``name``, ``k`` (``q`` for the HFM), ``alpha`` (``α_A``),
    ``alpha_B`` (None for parts), ``ve`` (percent; a part's own VE, the HFM's
    ``VE(X, U A B)``), ``reached``, ``n_fits`` and ``note`` ("" or why a part is skipped).
    Empty when the metadata carries no hyperparameters (not a DFECS model).
    """
    hp = meta.get("hyperparameters") or {}
    parts, h = hp.get("parts") or {}, hp.get("hfm")
    if not h:
        return []
    rows = []
    for name in PART_NAMES:
        p = parts.get(name)
        if p is None:
            continue
        rows.append({"model": "PFM", "name": name, "k": int(p.get("k", 0)),
                     "alpha": p.get("alpha"), "alpha_B": None, "ve": p.get("ve"),
                     "reached": p.get("reached"), "n_fits": p.get("n_fits"),
                     "note": p.get("skipped", "")})
    rows.append({"model": "HFM", "name": "hfm", "k": int(h["q"]), "alpha": h["alpha_A"],
                 "alpha_B": h["alpha_B"], "ve": h.get("ve"), "reached": h.get("reached"),
                 "n_fits": h.get("n_fits"), "note": ""})
    return rows


def au_stats_lines(meta: dict[str, Any], j: int) -> list[str]:
    """One line per ``meta["au_stats"]`` figure of AU ``j`` (model order), with its definition.

    Empty when the model has no per-AU figures (older files, baselines).
    """
    stats = meta.get("au_stats") or {}
    try:
        share = float(stats["ve_share"][j])
        active = float(stats["active_fraction"][j])
        mean = float(stats["mean_activation"][j])
        p95 = float(stats["p95_activation"][j])
    except (KeyError, IndexError, TypeError, ValueError):
        return []
    d = AU_STATS_DEFINITION
    return [f"VE share {100 * share:.1f} %: {d['ve_share']}",
            f"active in {100 * active:.0f} % of frames: {d['active_fraction']}",
            f"mean activation {mean:.3g}: {d['mean_activation']}",
            f"p95 activation {p95:.3g}: {d['p95_activation']}"]
