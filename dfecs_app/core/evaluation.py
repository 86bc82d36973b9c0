"""Variance explained along the positive-lasso path (paper §3.2, §3.4, §4.1, SI 7.2).

Every sample ``y`` of a KPM set is encoded on the AUs by the whole non-negative LARS-lasso path
(:mod:`dfecs_app.core._lars`), from the empty encoding to the unpenalised end point, which is
the non-negative least-squares (NNLS) solution. From the paths come

* **VE vs k** (Fig. 5, 7): the VE with *k or fewer* active AUs — for each sample the last point
  of its path with at most ``k`` non-zero coefficients (the RSS only falls along the path, so
  that is the best such point on it), and the NNLS end point for every ``k`` at or beyond its
  own number of non-zeros. Non-decreasing in ``k``; at ``k = q`` it is the NNLS VE.
* **VE vs L1** (SI Fig. 2): the VE of the path point whose encoding has L1 norm ``t``. The L1
  norm only grows along a positive lasso path and the coefficients are piecewise linear in it,
  so the RSS is an exact piecewise quadratic in ``t``; beyond the end of the path it stays at
  the NNLS value. ``t = 0`` gives VE 0.
* **VE at α**: the encoding of eq. 4, ``min ‖y − Uv‖² + α‖v‖₁, v ≥ 0`` (no ½; the same α as
  :func:`dfecs_app.core.encoding.encode`) — the path point where the active correlation is α/2.

Averaging
---------
The paper's curves are the **mean over samples of the per-sample VE**
``100·(1 − ‖y − ŷ‖²/‖y‖²)`` ("mean of VE(test) over all samples"): ``average="mean"``, the
default of the curves. ``average="pooled"`` gives ``100·(1 − Σ‖y − ŷ‖² / Σ‖y‖²)`` instead,
which is §3.4's VE(train)/VE(test) definition with Frobenius norms; the single VE figure of
:func:`evaluate_model` (``EvaluationResult.ve``) is pooled, as in §3.4. Samples whose present
entries are all zero (a neutral frame) have no per-sample VE: they are left out of the mean
and counted (``n_zero``); they add nothing to the pooled sums either.

The L1 norm is in the units of the encodings, so VE vs L1 depends on the scale of the AUs
(unit-norm PCA components need larger codes than FACS AUs of apex size); the paper compares
the AU matrices as they are, and so does this module.

Missing keypoints (a mask) take no part: each sample uses the Gram matrix of the AUs restricted
to its present keypoints, and its VE runs over present entries only (as
:func:`dfecs_app.core.metrics.variance_explained`).

Nothing of size ``n × path length`` is kept: samples go through the kernel in chunks, each
reduced at once to the curve grids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfecs_app.core._cd import single_blas_thread
from dfecs_app.core._lars import path_curves_gram
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.encoding import masked_grams
from dfecs_app.core.metrics import feature_mask
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.errors import InputError

#: Default L1 grid of SI Fig. 2: 0 and 60 log-spaced values from 1 to 1000.
DEFAULT_L1_GRID = np.concatenate([[0.0], np.logspace(0.0, 3.0, 61)])
AVERAGES = ("mean", "pooled")
_CHUNK = 16384


@dataclass
class PathCurves:
    """VE curves of one KPM set on one AU matrix.

    Attributes
    ----------
    ks : ndarray of int, shape (n_k,)
    ve_k : ndarray, shape (n_k,)
        VE with at most ``ks[i]`` active AUs (``average``).
    l1 : ndarray, shape (n_l1,)
    ve_l1 : ndarray, shape (n_l1,)
        VE at encoding L1 norm ``l1[i]`` (``average``).
    ve_k_mean, ve_k_pooled, ve_l1_mean, ve_l1_pooled : ndarray
        Both averages of both curves.
    ve_final_mean, ve_final_pooled : float
        VE of the NNLS end point (mean of per-sample VE / pooled).
    ve_alpha_mean, ve_alpha_pooled : float or None
        VE of the encoding at the requested α (None when no α was given).
    average : {'mean', 'pooled'}
    n_samples : int
    n_zero : int
        All-zero samples (excluded from the means).
    mean_active : float
        Mean number of non-zero coefficients at the NNLS end point.
    """

    ks: np.ndarray
    ve_k: np.ndarray
    l1: np.ndarray
    ve_l1: np.ndarray
    ve_k_mean: np.ndarray
    ve_k_pooled: np.ndarray
    ve_l1_mean: np.ndarray
    ve_l1_pooled: np.ndarray
    ve_final_mean: float
    ve_final_pooled: float
    ve_alpha_mean: float | None
    ve_alpha_pooled: float | None
    average: str
    n_samples: int
    n_zero: int
    mean_active: float


def _check_data(Y: np.ndarray, components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2:
        raise InputError(f"KPM data must be 2-D (n_samples, n_features), got shape {Y.shape}",
                         field="X")
    components = np.asarray(components, dtype=np.float64)
    if components.ndim != 2 or components.shape[1] != Y.shape[1]:
        raise InputError(f"components of shape {components.shape} do not fit data with "
                         f"{Y.shape[1]} features", field="components")
    if components.shape[0] == 0:
        raise InputError("the model has no components", field="components")
    if Y.shape[0] == 0:
        raise InputError("no samples", field="X")
    if not np.isfinite(Y).all():
        raise InputError("KPM data contain NaN or inf", field="X")
    if not np.isfinite(components).all():
        raise InputError("components contain NaN or inf", field="components")
    return Y, components


def path_curves(
    Y: np.ndarray,
    components: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    ks: np.ndarray | None = None,
    l1_grid: np.ndarray | None = None,
    alpha: float | None = None,
    average: str = "mean",
    state: TaskState | None = None,
) -> PathCurves:
    """VE vs k, VE vs L1 (and VE at α) from one pass of positive-lasso paths.

    Parameters
    ----------
    Y : ndarray, shape (n_samples, n_features)
        KPM samples as rows.
    components : ndarray, shape (q, n_features)
        AUs as rows.
    mask : ndarray of bool, shape (n_samples, 68) or (n_samples, n_features), optional
        Present keypoints.
    ks : array of int, optional
        Numbers of active AUs (default ``0..q``).
    l1_grid : array, optional
        L1 norms (default :data:`DEFAULT_L1_GRID`, 0 and 1…1000 log-spaced).
    alpha : float, optional
        Also report the VE of the eq.-4 encoding at this α.
    average : {'mean', 'pooled'}
        Which average fills ``ve_k`` / ``ve_l1`` (both are always computed).
    state : TaskState, optional
        Progress (stage ``"evaluate"``) and cancellation between chunks.

    Raises
    ------
    InputError
        NaN in the data, shapes that do not fit, or all samples zero.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    Y, components = _check_data(Y, components)
    state = ensure_state(state)
    n, _ = Y.shape
    q = components.shape[0]
    ks = np.arange(q + 1) if ks is None else np.asarray(ks, dtype=np.int64).ravel()
    if ks.size and ks.min() < 0:
        raise ValueError("ks must be >= 0")
    l1 = DEFAULT_L1_GRID if l1_grid is None else np.asarray(l1_grid, dtype=np.float64).ravel()
    order = np.argsort(l1, kind="stable")
    l1_sorted = l1[order]
    if alpha is not None and not alpha >= 0.0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    lam = None if alpha is None else float(alpha) / 2.0

    fmask = feature_mask(mask, Y.shape)

    def rows(start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` with missing entries zeroed (chunk by chunk: no full copy)."""
        if fmask is None:
            return Y[start:stop]
        return np.where(fmask[start:stop], Y[start:stop], 0.0)

    yy = np.concatenate([np.einsum("ij,ij->i", r, r) for r in
                         (rows(a, min(n, a + _CHUNK)) for a in range(0, n, _CHUNK))])
    nonzero = yy > 0.0
    n_zero = int(n - nonzero.sum())
    if n_zero == n:
        raise InputError("all samples are zero (no motion): variance explained is undefined",
                         field="X")
    total = float(yy.sum())
    G, gidx = masked_grams(components, fmask)
    if fmask is None:
        gidx = np.zeros(n, dtype=np.int64)

    sum_k = np.zeros(q + 1)
    mean_k = np.zeros(q + 1)
    sum_l1 = np.zeros(l1.size)
    mean_l1 = np.zeros(l1.size)
    sums = np.zeros(4)  # final rss, final per-sample ve, alpha rss, alpha per-sample ve
    n_active = 0.0
    state.report("evaluate", 0.0, f"0 / {n} samples", force=True)
    with single_blas_thread():
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            Cc = rows(start, stop) @ components.T
            yc = yy[start:stop]
            out = path_curves_gram(G, gidx[start:stop], Cc, yc, q, l1_sorted, lam)
            nz = nonzero[start:stop]
            ynz = yc[nz]
            sum_k += out["rss_k"].sum(axis=0)
            mean_k += 100.0 * (1.0 - out["rss_k"][nz] / ynz[:, None]).sum(axis=0)
            sum_l1 += out["rss_l1"].sum(axis=0)
            mean_l1 += 100.0 * (1.0 - out["rss_l1"][nz] / ynz[:, None]).sum(axis=0)
            sums[0] += out["rss_final"].sum()
            sums[1] += 100.0 * (1.0 - out["rss_final"][nz] / ynz).sum()
            sums[2] += out["rss_lam"].sum()
            sums[3] += 100.0 * (1.0 - out["rss_lam"][nz] / ynz).sum()
            n_active += float(out["nnz_final"][nz].sum())
            state.report("evaluate", stop / n, f"{stop} / {n} samples")
    m = n - n_zero
    kk = np.minimum(ks, q)
    ve_k_pooled = (100.0 * (1.0 - sum_k / total))[kk]
    ve_k_mean = (mean_k / m)[kk]
    inv_order = np.empty_like(order)
    inv_order[order] = np.arange(order.size)
    ve_l1_pooled = (100.0 * (1.0 - sum_l1 / total))[inv_order]
    ve_l1_mean = (mean_l1 / m)[inv_order]
    mean = average == "mean"
    return PathCurves(
        ks=ks,
        ve_k=ve_k_mean if mean else ve_k_pooled,
        l1=l1,
        ve_l1=ve_l1_mean if mean else ve_l1_pooled,
        ve_k_mean=ve_k_mean,
        ve_k_pooled=ve_k_pooled,
        ve_l1_mean=ve_l1_mean,
        ve_l1_pooled=ve_l1_pooled,
        ve_final_mean=float(sums[1] / m),
        ve_final_pooled=float(100.0 * (1.0 - sums[0] / total)),
        ve_alpha_mean=None if lam is None else float(sums[3] / m),
        ve_alpha_pooled=None if lam is None else float(100.0 * (1.0 - sums[2] / total)),
        average=average,
        n_samples=n,
        n_zero=n_zero,
        mean_active=n_active / m,
    )


def ve_vs_k(
    Y: np.ndarray,
    components: np.ndarray,
    mask: np.ndarray | None = None,
    ks: np.ndarray | None = None,
    *,
    average: str = "mean",
    state: TaskState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """VE with k or fewer active AUs (Fig. 5, 7).

    Parameters
    ----------
    Y : ndarray, shape (n_samples, n_features)
    components : ndarray, shape (q, n_features)
    mask : ndarray of bool, shape (n_samples, 68) or (n_samples, n_features), optional
    ks : array of int, optional
        Default ``0..q``; values above ``q`` give the NNLS VE.
    average : {'mean', 'pooled'}
        ``'mean'`` (default, the paper's): mean of the per-sample VE over non-zero samples;
        ``'pooled'``: ``100(1 − ΣRSS/Σ‖y‖²)``.

    Returns
    -------
    ks : ndarray of int, shape (n_k,)
    ve : ndarray, shape (n_k,)
        Percent; non-decreasing in k.
    """
    res = path_curves(Y, components, mask, ks=ks, l1_grid=np.zeros(0), average=average,
                      state=state)
    return res.ks, res.ve_k


def ve_vs_l1(
    Y: np.ndarray,
    components: np.ndarray,
    mask: np.ndarray | None = None,
    l1_grid: np.ndarray | None = None,
    *,
    average: str = "mean",
    state: TaskState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """VE as a function of the L1 norm of the positive encoding (SI Fig. 2).

    Parameters
    ----------
    Y : ndarray, shape (n_samples, n_features)
    components : ndarray, shape (q, n_features)
    mask : ndarray of bool, optional
    l1_grid : array, optional
        Default :data:`DEFAULT_L1_GRID` (0, then 1…1000 log-spaced).
    average : {'mean', 'pooled'}

    Returns
    -------
    l1 : ndarray, shape (n_l1,)
    ve : ndarray, shape (n_l1,)
        Percent; 0 at L1 = 0, non-decreasing, capped at the NNLS VE.
    """
    res = path_curves(Y, components, mask, ks=np.zeros(0, dtype=np.int64), l1_grid=l1_grid,
                      average=average, state=state)
    return res.l1, res.ve_l1


@dataclass
class EvaluationResult:
    """Evaluation of one AU model on one KPM set.

    Attributes
    ----------
    ve : float
        Pooled VE (§3.4) of the NNLS encoding, or of the eq.-4 encoding at ``alpha``.
    ve_mean : float
        Mean per-sample VE of the same encoding.
    ve_vs_k : ndarray, shape (n_k, 2)
        Rows ``[k, VE]`` (mean of per-sample VE unless ``average='pooled'``).
    ve_vs_l1 : ndarray, shape (n_l1, 2)
        Rows ``[L1, VE]``.
    n_samples, n_zero : int
    alpha : float or None
    average : str
    curves : PathCurves
    """

    ve: float
    ve_mean: float
    ve_vs_k: np.ndarray
    ve_vs_l1: np.ndarray
    n_samples: int
    n_zero: int
    alpha: float | None
    average: str
    curves: PathCurves = field(repr=False)

    def to_json(self) -> dict:
        """The CLI's JSON object: ``{"ve", "ve_vs_k", "ve_vs_l1", "n_samples"}``."""
        return {
            "ve": float(self.ve),
            "ve_vs_k": [[int(k), float(v)] for k, v in self.ve_vs_k],
            "ve_vs_l1": [[float(t), float(v)] for t, v in self.ve_vs_l1],
            "n_samples": int(self.n_samples),
        }


def evaluate_model(
    model: AUModel,
    Y: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    alpha: float | None = None,
    ks: np.ndarray | None = None,
    l1_grid: np.ndarray | None = None,
    average: str = "mean",
    state: TaskState | None = None,
) -> EvaluationResult:
    """VE, VE vs k and VE vs L1 of ``model`` on the KPM set ``Y``.

    Parameters
    ----------
    model : AUModel
    Y : ndarray, shape (n_samples, 136)
    mask : ndarray of bool, shape (n_samples, 68), optional
    alpha : float, optional
        Report ``ve`` at this α of eq. 4 instead of the NNLS end point (α = 0).
    ks, l1_grid, average
        As in :func:`path_curves`.
    state : TaskState, optional

    Returns
    -------
    EvaluationResult
    """
    res = path_curves(Y, model.components, mask, ks=ks, l1_grid=l1_grid, alpha=alpha,
                      average=average, state=state)
    if alpha is None:
        ve, ve_mean = res.ve_final_pooled, res.ve_final_mean
    else:
        ve, ve_mean = res.ve_alpha_pooled, res.ve_alpha_mean
    return EvaluationResult(
        ve=float(ve),
        ve_mean=float(ve_mean),
        ve_vs_k=np.column_stack([res.ks, res.ve_k]),
        ve_vs_l1=np.column_stack([res.l1, res.ve_l1]),
        n_samples=res.n_samples,
        n_zero=res.n_zero,
        alpha=alpha,
        average=average,
        curves=res,
    )
