"""Agreement between raters beyond the paper: Fleiss' κ and Krippendorff's α with bootstrap CIs.

Input is the ``(k, r)`` vote matrix of :mod:`dfecs_app.core.ratings` (1 ✓, 0 ×, NaN missing).

* Fleiss' κ — ``statsmodels.stats.inter_rater.aggregate_raters`` + ``fleiss_kappa``. Fleiss'
  κ needs the same number of ratings per component: components with a missing vote are left
  out (``n_units`` says how many were used).
* Krippendorff's α, nominal level — the ``krippendorff`` package; missing votes are allowed.

Both are undefined (0/0) when every vote used is the same (no disagreement is possible to
measure: e.g. all ✓); they are then reported as NaN, never as a warning or an exception.

Bootstrap confidence interval
-----------------------------
Components are the units: each replicate draws ``k`` components with replacement (all raters'
votes of a drawn component travel together), recomputes the statistic, and the interval is the
percentile interval of the replicates (``level``, default 95 %). Replicates where the statistic
is undefined (every drawn vote agrees) are dropped; ``n_valid`` reports how many replicates
remained. With fewer than 10 valid replicates the interval is ``(NaN, NaN)``. The generator is
``numpy.random.default_rng(seed)``: the same seed gives the same interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import krippendorff
import numpy as np
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as _sm_fleiss_kappa

MIN_VALID_REPLICATES = 10


def _as_matrix(matrix: np.ndarray) -> np.ndarray:
    M = np.asarray(matrix, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"vote matrix must be 2-D (components, raters), got shape {M.shape}")
    return M


def fleiss_kappa(matrix: np.ndarray) -> float:
    """Fleiss' κ of a ``(k, r)`` 0/1 vote matrix (rows with a NaN are dropped).

    Returns NaN when fewer than two raters or components remain, or when all votes agree.
    """
    M = _as_matrix(matrix)
    M = M[~np.isnan(M).any(axis=1)]
    if M.shape[0] < 1 or M.shape[1] < 2:
        return float("nan")
    if np.all(M == M.flat[0]):
        return float("nan")
    table, _ = aggregate_raters(M.astype(int), n_cat=2)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(_sm_fleiss_kappa(table, method="fleiss"))
    return value if np.isfinite(value) else float("nan")


def krippendorff_alpha(matrix: np.ndarray) -> float:
    """Krippendorff's α (nominal) of a ``(k, r)`` vote matrix; NaN = missing vote.

    Returns NaN when it is undefined (a single value in the data, or no pairable votes).
    """
    M = _as_matrix(matrix)
    values = M[~np.isnan(M)]
    if values.size == 0 or np.all(values == values[0]):
        return float("nan")
    # only components with at least two votes carry information
    M = M[(~np.isnan(M)).sum(axis=1) >= 2]
    if M.shape[0] == 0:
        return float("nan")
    try:
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(krippendorff.alpha(reliability_data=M.T, value_domain=[0.0, 1.0],
                                             level_of_measurement="nominal"))
    except ValueError:
        return float("nan")
    return value if np.isfinite(value) else float("nan")


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile bootstrap interval.

    Attributes
    ----------
    low, high : float
        Interval ends (NaN when too few valid replicates).
    level : float
        Coverage, e.g. 0.95.
    n_boot : int
        Replicates drawn.
    n_valid : int
        Replicates where the statistic was defined.
    """

    low: float
    high: float
    level: float
    n_boot: int
    n_valid: int

    def as_list(self) -> list[float | None]:
        return [_finite_or_none(self.low), _finite_or_none(self.high)]


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def bootstrap_ci(matrix: np.ndarray, statistic: Callable[[np.ndarray], float],
                 n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> BootstrapCI:
    """Percentile bootstrap CI of ``statistic`` by resampling components (rows); see module doc.

    Parameters
    ----------
    matrix : ndarray, shape (k, r)
    statistic : callable
        ``(k, r) matrix -> float`` (NaN when undefined).
    n_boot : int
        Number of replicates.
    level : float
        Coverage in (0, 1).
    seed : int
        Seed of ``numpy.random.default_rng``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    M = _as_matrix(matrix)
    k = M.shape[0]
    if k == 0 or n_boot <= 0:
        return BootstrapCI(float("nan"), float("nan"), level, int(n_boot), 0)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, k, size=(n_boot, k))
    stats = np.array([statistic(M[r]) for r in rows])
    valid = stats[np.isfinite(stats)]
    if valid.size < MIN_VALID_REPLICATES:
        return BootstrapCI(float("nan"), float("nan"), level, int(n_boot), int(valid.size))
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return BootstrapCI(float(low), float(high), level, int(n_boot), int(valid.size))


@dataclass(frozen=True)
class Agreement:
    """Fleiss' κ and Krippendorff's α with their bootstrap intervals.

    Attributes
    ----------
    fleiss_kappa, krippendorff_alpha : float
        Point estimates (NaN when undefined).
    kappa_ci, alpha_ci : BootstrapCI
    n_units : int
        Components used by Fleiss' κ (rated by every rater).
    """

    fleiss_kappa: float
    krippendorff_alpha: float
    kappa_ci: BootstrapCI
    alpha_ci: BootstrapCI
    n_units: int


def agreement(matrix: np.ndarray, n_boot: int = 1000, level: float = 0.95,
              seed: int = 0) -> Agreement:
    """κ, α and their bootstrap CIs (same resamples for both: the same seed)."""
    M = _as_matrix(matrix)
    complete = M[~np.isnan(M).any(axis=1)]
    return Agreement(
        fleiss_kappa=fleiss_kappa(M),
        krippendorff_alpha=krippendorff_alpha(M),
        kappa_ci=bootstrap_ci(complete, fleiss_kappa, n_boot=n_boot, level=level, seed=seed),
        alpha_ci=bootstrap_ci(M, krippendorff_alpha, n_boot=n_boot, level=level, seed=seed),
        n_units=int(complete.shape[0]),
    )


@dataclass(frozen=True)
class PrecheckAgreement:
    """Agreement of the automatic muscle-direction pre-check with the raters' majority vote.

    Attributes
    ----------
    kappa : float
        Cohen's κ (NaN when undefined: one of the two says the same for every AU).
    table : ndarray of int, shape (2, 2)
        Confusion table, rows = pre-check (plausible, implausible), columns = majority vote
        (interpretable, non-interpretable).
    n : int
        AUs with both a pre-check verdict and a majority vote.
    accuracy : float
        Share of AUs where both agree.
    """

    kappa: float
    table: np.ndarray
    n: int
    accuracy: float

    def as_dict(self) -> dict:
        return {"cohen_kappa": _finite_or_none(self.kappa), "n": self.n,
                "accuracy": _finite_or_none(self.accuracy),
                "confusion": {"rows": ["precheck plausible", "precheck implausible"],
                              "columns": ["majority interpretable", "majority non-interpretable"],
                              "table": self.table.astype(int).tolist()}}


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's κ of two 0/1 label vectors of equal length (NaN when undefined, 0/0)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size == 0:
        return float("nan")
    po = float(np.mean(a == b))
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return float("nan") if pe == 1.0 else (po - pe) / (1.0 - pe)


def precheck_agreement(plausible: np.ndarray, majority: np.ndarray) -> PrecheckAgreement:
    """Cohen's κ and the confusion table of pre-check verdicts vs majority votes.

    Parameters
    ----------
    plausible : ndarray of bool or float, shape (k,)
        Pre-check verdict per AU (NaN: no verdict, e.g. an all-zero AU).
    majority : ndarray, shape (k,)
        Majority vote (1 interpretable, 0 not, NaN none).
    """
    p = np.asarray(plausible, dtype=float)
    m = np.asarray(majority, dtype=float)
    ok = np.isfinite(p) & np.isfinite(m)
    p, m = p[ok], m[ok]
    table = np.array([[np.sum((p == 1) & (m == 1)), np.sum((p == 1) & (m == 0))],
                      [np.sum((p == 0) & (m == 1)), np.sum((p == 0) & (m == 0))]], dtype=int)
    acc = float(np.mean(p == m)) if p.size else float("nan")
    return PrecheckAgreement(cohen_kappa(p, m), table, int(p.size), acc)
