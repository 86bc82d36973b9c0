"""Hyperparameter search of the Full Face Model (paper §2.3.3).

The paper's grid
----------------
* PFM, per face part: rows ``k_f = 1 .. p`` (``p`` = the part's present feature columns),
  columns ``α = 5, 4.5, …, 0.5``; the first setting in that order (k ascending, α descending)
  whose VE(train) reaches ``100(1 − β/2)`` is kept.
* HFM: ``q = 1 .. k`` (``k = Σ k_f``), then ``α_A = 5 … 0.5``, then ``α_B = 5 … 0.5``; the first
  setting with ``VE(X, U A B) ≥ 100(1 − β)`` is kept.
* If no setting reaches its target the one with the best VE among those fitted is kept and
  ``reached`` is False.

One fit per setting (shared by every strategy)
----------------------------------------------
Every setting is judged by one deterministic *decision fit*, the same whichever strategy asks:

* a cold fit (PFM: scikit-learn's SVD start, the part's seed; HFM: NNDSVDa) to the search
  tolerance (:data:`PFM_TOL`, :data:`HFM_TOL`);
* when its VE lies within :data:`PFM_MARGIN` / :data:`HFM_MARGIN` percentage points of the
  target, the setting is refitted to tight convergence before the decision (PFM: continued to
  :data:`PFM_TIGHT_TOL`; HFM: :func:`multi_start_factorize` — the NNDSVDa fit continued plus
  :data:`HFM_RANDOM_STARTS` seeded random starts, each to :data:`HFM_TIGHT_TOL`, best eq. 2
  objective kept), so early stopping cannot decide pass or fail;
* the chosen HFM setting is always refitted by :func:`multi_start_factorize`; a chosen PFM
  setting keeps its decision fit (its codes come from a tight final code step). Objectives and
  KKT residuals of the returned fits are reported (:class:`PartChoice`, :class:`HFMChoice`).

Strategies
----------
``"literal"``
    The grid in the paper's order, every setting by its decision fit, stopping at the first
    that passes. The reference.
``"exact"`` (default)
    The literal grid's choice with fewer fits. It skips, in this order:

    1. rows that provably fail: ``k`` atoms (``q`` AUs in the row space of ``U``) cannot
       explain more than the best rank-``k`` (rank-``q``) approximation, read off one SVD
       (used when missing entries form whole columns, i.e. always without partly missing
       samples);
    2. rows whose *gate* fails: the gate is the row's last setting (α = 0.5, or
       α_A = α_B = 0.5, the least shrinkage). Skipping the rest of such a row assumes that more
       shrinkage does not raise VE; this is **confirmed** on the boundary: the whole row just
       below the first passing gate is fitted setting by setting (when its gate misses the
       target by at most :data:`CONFIRM_BAND` points; a row further below the target is taken
       to fail), and if any of its settings passes, every skipped row is fitted in full (the
       literal grid) after all. Every row is gated (no bisection over ``k`` or ``q``: VE is
       not assumed monotone there).
    3. In the first row whose gate passes, the settings are fitted in the literal order.

    Every fit is the decision fit of the literal grid at the same setting, so both strategies
    return the same choice whenever the confirmation holds; batches of independent fits run in
    parallel threads (the numba kernels release the GIL, BLAS is held at one thread) and the
    first passing setting *in grid order* is kept, so parallelism never changes the choice.
``"heuristic"``
    The first wave's fast search, kept for comparison: galloping/bisection over ``k`` and
    ``q`` (assumes VE monotone in them), warm starts across α, loose fits only. Dictionary
    learning is non-convex: it can pick **other** settings than the literal grid (measured on
    real tracks: 4 of 28 part choices and 2 of 4 HFM ``q``).

All fits of one part use the same seed, so a fit is reproducible whatever the search order.
Progress goes through :class:`~dfecs_app.core.progress.TaskState` (stage ``"pfm"`` then
``"hfm"``), which also lets the caller cancel between fits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from dfecs_app.core._cd import kkt_violation, n_threads, single_blas_thread
from dfecs_app.core.hfm import factorize, hfm_kkt, multi_start_factorize
from dfecs_app.core.landmarks import N_FEATURES, PART_FEATURES, PART_NAMES
from dfecs_app.core.metrics import variance_explained
from dfecs_app.core.pfm import learn_dictionary
from dfecs_app.core.progress import TaskState, ensure_state

#: The paper's α grid: 5 down to 0.5 in steps of 0.5.
ALPHAS: tuple[float, ...] = tuple(round(5.0 - 0.5 * i, 1) for i in range(10))
#: Convergence tolerances of the decision fits (relative objective decrease per iteration).
PFM_TOL = 1e-5
HFM_TOL = 1e-4
#: ... and of the tight refits near the target and of the chosen settings.
PFM_TIGHT_TOL = 1e-6
PFM_TIGHT_MAX_ITER = 300
HFM_TIGHT_TOL = 1e-7
HFM_TIGHT_MAX_ITER = 2000
#: Random starts beside NNDSVDa in a tight HFM refit.
HFM_RANDOM_STARTS = 2
#: Percentage points around the target within which a setting is refitted tightly before the
#: decision. Measured on the news clips: loose HFM fits lose up to 0.3 points of VE (q=12:
#: 94.64 % loose, 94.94 % converged); loose PFM fits differ from tight ones by 0.03 points on
#: average and at most 0.56 over 64 settings (k = 2..5, α = 0.5..5, four parts).
PFM_MARGIN = 0.25
HFM_MARGIN = 0.5
#: ``'exact'``: the row below the first passing gate is fitted in full (the confirmation)
#: when its gate misses the target by at most this many percentage points; a row missing by
#: more is taken to fail without confirmation (across the α of one row, VE varied by at most
#: 0.3 points in the literal grids of the real KPM sets, ``tests/test_search_real.py``).
CONFIRM_BAND = 1.0

STRATEGIES = ("exact", "literal", "heuristic")
DEFAULT_STRATEGY = "exact"
#: One line per strategy, for ``--help``, the GUI and the README.
STRATEGY_LABELS = {
    "exact": "exact: the literal grid's choice, fewer fits (default)",
    "literal": "literal: every setting of the §2.3.3 grid in order, cold fits",
    "heuristic": "heuristic: warm starts + bisection, fastest, may choose other settings",
}
#: Accepted old names.
_ALIASES = {"fast": "heuristic"}
# kept for callers that imported the old name
MODES = STRATEGIES

#: Share of the progress bar given to the PFM stage.
_PFM_SHARE = 0.6


def check_strategy(mode: str) -> str:
    """The canonical strategy name (``'fast'`` is the old name of ``'heuristic'``)."""
    mode = _ALIASES.get(mode, mode)
    if mode not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {mode!r}")
    return mode


@dataclass
class PartChoice:
    """Outcome of the PFM search of one face part.

    Attributes
    ----------
    part : str
    k : int
        Chosen number of atoms (0 when the part was skipped).
    alpha : float or None
    ve : float
        VE(train) of the part at the chosen setting, decision fit (NaN when skipped).
    reached : bool
        Whether the decision fit reached the PFM target.
    components : ndarray, shape (k, p)
        Atoms over the part's columns ``features``.
    codes : ndarray, shape (n, k)
    features : ndarray of int, shape (p,)
    n_fits : int
        Decision fits run (tight refits not counted).
    skipped : str
        Why the part has no model ("" when it has one).
    objective : float
        Eq. 1 at the returned atoms and codes.
    kkt : float
        Largest relative KKT violation of the codes (non-negative lasso, 0 = exact).
    n_tight : int
        Settings refitted tightly (near the target, and the chosen one).
    confirmed : bool or None
        ``'exact'``: whether the boundary confirmation ran and held (None: not needed).
    """

    part: str
    k: int
    alpha: float | None
    ve: float
    reached: bool
    components: np.ndarray
    codes: np.ndarray
    features: np.ndarray
    n_fits: int = 0
    skipped: str = ""
    objective: float = float("nan")
    kkt: float = float("nan")
    n_tight: int = 0
    confirmed: bool | None = None
    tried: dict = field(default_factory=dict, repr=False)


@dataclass
class HFMChoice:
    """Outcome of the HFM search: ``V ≈ W H`` with ``W = Bᵀ`` (n, q), ``H = Aᵀ`` (q, k).

    ``objective`` is eq. 2 at ``(W, H)``; ``kkt_B`` / ``kkt_A`` the largest relative KKT
    violations of the codes and the components (:func:`dfecs_app.core.hfm.hfm_kkt`);
    ``n_starts`` the starts of the final fit; ``tried`` maps each setting fitted to the VE of
    its decision fit (also on :class:`PartChoice`).
    """

    q: int
    alpha_A: float
    alpha_B: float
    ve: float
    reached: bool
    W: np.ndarray
    H: np.ndarray
    n_fits: int = 0
    objective: float = float("nan")
    kkt_A: float = float("nan")
    kkt_B: float = float("nan")
    n_starts: int = 1
    n_tight: int = 0
    confirmed: bool | None = None
    tried: dict = field(default_factory=dict, repr=False)


@dataclass
class SearchResult:
    """Everything the search chose, with its targets and cost."""

    parts: dict[str, PartChoice]
    hfm: HFMChoice
    beta: float
    mode: str
    targets: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def n_fits(self) -> int:
        return sum(p.n_fits for p in self.parts.values()) + self.hfm.n_fits


# ---------------------------------------------------------------------------------------------
# grid scans shared by the PFM and the HFM
# ---------------------------------------------------------------------------------------------
def _first_passing(settings: Sequence[Hashable], passes: Callable[[Hashable], bool],
                   jobs: int) -> int | None:
    """Index of the first setting (in order) that passes, fitting ``jobs`` at a time."""
    if jobs <= 1:
        for i, s in enumerate(settings):
            if passes(s):
                return i
        return None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for start in range(0, len(settings), jobs):
            batch = settings[start:start + jobs]
            ok = list(pool.map(passes, batch))
            for j, good in enumerate(ok):
                if good:
                    return start + j
    return None


def grid_scan(
    rows: Sequence[int],
    row_settings: Callable[[int], list[Hashable]],
    passes: Callable[[Hashable], bool],
    strategy: str,
    *,
    first_row: int | None = None,
    jobs: int = 1,
    gate_gap: Callable[[Hashable], float] | None = None,
) -> tuple[Hashable | None, bool | None]:
    """First passing setting of a row-ordered grid, by the ``'literal'`` or ``'exact'`` rule.

    Parameters
    ----------
    rows : sequence of int
        The grid's rows in order (``k`` or ``q`` ascending).
    row_settings : callable
        ``row_settings(r)``: the row's settings in grid order; the last one is its gate.
    passes : callable
        ``passes(setting)``: the decision fit reaches the target (cached by the caller).
    strategy : {'literal', 'exact'}
    first_row : int, optional
        ``'exact'``: rows before it provably fail (rank bound) and are not fitted.
    jobs : int
        Fits run at a time.
    gate_gap : callable, optional
        ``gate_gap(setting)``: target minus the setting's VE (points). The confirmation row
        is fitted in full only when its gate's gap is at most :data:`CONFIRM_BAND`
        (always when omitted).

    Returns
    -------
    setting or None
        None when nothing passes.
    confirmed : bool or None
        ``'exact'``: True when the row below the first passing gate was fitted in full and
        nothing in it passed, False when something did (the skipped rows were then fitted in
        full), None when no confirmation was needed.
    """
    if strategy == "literal":
        flat = [s for r in rows for s in row_settings(r)]
        i = _first_passing(flat, passes, jobs)
        return (None if i is None else flat[i]), None
    live = [r for r in rows if first_row is None or r >= first_row]
    gates = [row_settings(r)[-1] for r in live]
    g = _first_passing(gates, passes, jobs)
    if g is None:
        return None, None
    confirmed = None
    if g > 0 and (gate_gap is None or gate_gap(gates[g - 1]) <= CONFIRM_BAND):
        below = row_settings(live[g - 1])
        if _first_passing(below, passes, jobs) is None:
            confirmed = True
        else:  # more shrinkage raised VE somewhere: fit the skipped rows in full
            flat = [s for r in live[:g] for s in row_settings(r)]
            i = _first_passing(flat, passes, jobs)
            return flat[i], False
    row = row_settings(live[g])
    i = _first_passing(row, passes, jobs)
    return row[i], confirmed


# ---------------------------------------------------------------------------------------------
# rank bounds
# ---------------------------------------------------------------------------------------------
def _rank_bound(X: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Upper bounds on VE (percent) of rank-r approximations, r = 0 .. rank.

    With ``basis`` (rows spanning the allowed reconstructions) the approximations are confined
    to its row space. Returns ``bound[r]`` for ``r = 0 .. min(n, p)``.
    """
    total = float(np.einsum("ij,ij->", X, X))
    if total == 0.0:
        return np.full(min(X.shape) + 1, np.nan)
    resid = 0.0
    if basis is not None:
        Q, _ = np.linalg.qr(basis.T)  # (p, r) orthonormal columns
        P = X @ Q
        resid = max(total - float(np.einsum("ij,ij->", P, P)), 0.0)
        s = np.linalg.svd(P, compute_uv=False)
    else:
        s = np.linalg.svd(X, compute_uv=False)
    energy = s ** 2
    tail = np.concatenate([np.cumsum(energy[::-1])[::-1], [0.0]])  # tail[r] = Σ_{j≥r} σ_j²
    return 100.0 * (1.0 - (resid + tail) / total)


def _first_row(bound: np.ndarray, target: float, n_rows: int) -> int:
    """Smallest row r in 1..n_rows whose bound reaches ``target`` (n_rows if none)."""
    for r in range(1, n_rows + 1):
        if r >= bound.shape[0] or bound[r] >= target - 1e-9:
            return r
    return n_rows


def _gallop(lo: int, hi: int, passes: Callable[[int], bool]) -> int | None:
    """Smallest r in [lo, hi] with ``passes(r)``, assuming monotonicity; None if ``hi`` fails."""
    last_fail = lo - 1
    r, step = lo, 1
    while True:
        if passes(r):
            break
        last_fail = r
        if r == hi:
            return None
        r = min(hi, r + step)
        step *= 2
    first_pass = r
    while first_pass - last_fail > 1:
        mid = (first_pass + last_fail) // 2
        if passes(mid):
            first_pass = mid
        else:
            last_fail = mid
    return first_pass


# ---------------------------------------------------------------------------------------------
# PFM
# ---------------------------------------------------------------------------------------------
def _part_data(X: np.ndarray, fmask: np.ndarray | None, part: str):
    """The part's present columns, their mask (None if complete) and 136-space column indices."""
    cols = PART_FEATURES[part]
    Xf = X[:, cols]
    if fmask is None:
        return Xf, None, cols
    fm = fmask[:, cols]
    keep = fm.any(axis=0)
    Xf, fm, cols = Xf[:, keep], fm[:, keep], cols[keep]
    if fm.size and fm.all():
        fm = None
    return Xf, fm, cols


def pfm_code_kkt(X: np.ndarray, D: np.ndarray, V: np.ndarray, alpha: float,
                 fmask: np.ndarray | None) -> float:
    """Largest relative KKT violation of PFM codes ``V`` (n, k) for atoms ``D`` (k, p) (eq. 1)."""
    from dfecs_app.core.encoding import masked_grams

    Xz = X if fmask is None else np.where(fmask, X, 0.0)
    G, gidx = masked_grams(D, fmask)
    v = kkt_violation(G, Xz @ D.T, alpha, V, gidx=None if fmask is None else gidx)
    return float(v.max(initial=0.0))


class _PartFits:
    """Decision fits of one part's settings, cached (thread-safe)."""

    def __init__(self, Xz: np.ndarray, fm: np.ndarray | None, target: float, seed: int,
                 report: Callable[..., None] | None) -> None:
        self.Xz, self.fm, self.target, self.seed, self.report = Xz, fm, target, seed, report
        self.cache: dict[tuple[int, float], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.n_fits = 0
        self.n_tight = 0

    def _fit(self, k: int, alpha: float, tight: bool, warm=None) -> dict[str, Any]:
        D0, V0 = warm if warm is not None else (None, None)
        tol, max_iter = (PFM_TIGHT_TOL, PFM_TIGHT_MAX_ITER) if tight else (PFM_TOL, 1000)
        D, V, cost, it = learn_dictionary(self.Xz, k, alpha, fmask=self.fm, dict_init=D0,
                                          code_init=V0, tol=tol, max_iter=max_iter,
                                          random_state=np.random.RandomState(self.seed))
        ve = variance_explained(self.Xz, V @ D, self.fm)
        return {"D": D, "V": V, "ve": ve, "objective": cost, "n_iter": it, "tight": tight}

    def decide(self, key: tuple[int, float]) -> dict[str, Any]:
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        k, alpha = key
        fit = self._fit(k, alpha, False)
        if abs(fit["ve"] - self.target) < PFM_MARGIN:
            fit = self._fit(k, alpha, True, (fit["D"], fit["V"]))
            with self.lock:
                self.n_tight += 1
        with self.lock:
            self.cache[key] = fit
            self.n_fits += 1
        if self.report is not None:
            self.report(k=k, alpha=alpha, ve=fit["ve"])
        return fit

    def passes(self, key: tuple[int, float]) -> bool:
        return self.decide(key)["ve"] >= self.target

    def gap(self, key: tuple[int, float]) -> float:
        return self.target - self.decide(key)["ve"]

    def final(self, key: tuple[int, float]) -> dict[str, Any]:
        # the decision fit is kept: refitted tightly when it was near the target, and its
        # codes come from a tight final code step in any case (learn_dictionary)
        return self.cache[key]

    def best(self) -> tuple[int, float]:
        return max(self.cache, key=lambda key: self.cache[key]["ve"])


def search_part(
    X: np.ndarray,
    fmask: np.ndarray | None,
    part: str,
    target: float,
    *,
    mode: str = DEFAULT_STRATEGY,
    grid: Sequence[tuple[int, float]] | None = None,
    alphas: Sequence[float] = ALPHAS,
    seed: int = 0,
    jobs: int = 1,
    report: Callable[..., None] | None = None,
) -> PartChoice:
    """PFM search of one face part (or one explicit setting with ``grid=[(k, α)]``).

    Parameters
    ----------
    X : ndarray, shape (n, 136)
    fmask : ndarray of bool, shape (n, 136), or None
    part : str
    target : float
        VE(train) to reach, percent (``100(1 − β/2)``).
    mode : {'exact', 'literal', 'heuristic'}
        Search strategy (module docstring).
    grid : list of (k, alpha), optional
        Explicit settings to try in order instead of the paper's grid.
    alphas : sequence of float
        The α column values, largest first.
    seed : int
        Seed of every fit of this part.
    jobs : int
        Fits run at a time (threads).
    report : callable, optional
        ``report(k=, alpha=, ve=)`` after each decision fit (may raise Cancelled).
    """
    mode = check_strategy(mode)
    Xf, fm, cols = _part_data(X, fmask, part)
    p = Xf.shape[1]
    empty = PartChoice(part, 0, None, float("nan"), False, np.zeros((0, len(cols))),
                       np.zeros((X.shape[0], 0)), cols)
    if p == 0 or (fm is not None and not fm.any()):
        empty.skipped = "all keypoints missing"
        return empty
    Xz = Xf if fm is None else np.where(fm, Xf, 0.0)
    if not np.any(Xz):
        empty.skipped = "no motion"
        return empty
    if mode == "heuristic" and grid is None:
        return _heuristic_part(Xz, fm, cols, part, target, alphas, seed, report)

    fits = _PartFits(Xz, fm, target, seed, report)
    confirmed = None
    if grid is not None:
        settings = [(int(k), float(a)) for k, a in grid]
        i = _first_passing(settings, fits.passes, 1)
        key = None if i is None else settings[i]
    else:
        k_lo = _first_row(_rank_bound(Xz), target, p) if fm is None else 1
        key, confirmed = grid_scan(range(1, p + 1), lambda k: [(k, float(a)) for a in alphas],
                                   fits.passes, mode, first_row=k_lo, jobs=jobs,
                                   gate_gap=fits.gap)
    reached = key is not None
    if key is None:
        key = fits.best()
    fit = fits.final(key)
    return PartChoice(part, key[0], key[1], fit["ve"], reached, fit["D"], fit["V"], cols,
                      fits.n_fits, objective=fit["objective"],
                      kkt=pfm_code_kkt(Xz, fit["D"], fit["V"], key[1], fm),
                      n_tight=fits.n_tight, confirmed=confirmed,
                      tried={key: f["ve"] for key, f in fits.cache.items()})


def _heuristic_part(Xz, fm, cols, part, target, alphas, seed, report) -> PartChoice:
    """The first wave's fast PFM search (gallop over k at α = 0.5, warm starts across α)."""
    cache: dict[tuple[int, float], tuple[np.ndarray, np.ndarray, float, float]] = {}
    n_fits = 0
    p = Xz.shape[1]

    def fit(k: int, alpha: float, warm: tuple[np.ndarray, np.ndarray] | None = None):
        nonlocal n_fits
        key = (k, alpha)
        if key not in cache:
            D0, V0 = warm if warm is not None else (None, None)
            D, V, cost, _ = learn_dictionary(Xz, k, alpha, fmask=fm, dict_init=D0, code_init=V0,
                                             tol=PFM_TOL,
                                             random_state=np.random.RandomState(seed))
            ve = variance_explained(Xz, V @ D, fm)
            cache[key] = (D, V, ve, cost)
            n_fits += 1
            if report is not None:
                report(k=k, alpha=alpha, ve=ve)
        return cache[key]

    def choice(key: tuple[int, float], reached: bool) -> PartChoice:
        D, V, ve, cost = cache[key]
        return PartChoice(part, key[0], key[1], ve, reached, D, V, cols, n_fits, objective=cost,
                          kkt=pfm_code_kkt(Xz, D, V, key[1], fm))

    a_min = min(alphas)
    k_lo = _first_row(_rank_bound(Xz), target, p) if fm is None else 1
    k_star = _gallop(k_lo, p, lambda k: fit(k, a_min)[2] >= target)
    if k_star is None:
        return choice(max(cache, key=lambda key: cache[key][2]), False)
    warm = None
    for a in alphas:
        D, V, ve, _ = cache[(k_star, a)] if (k_star, a) in cache else fit(k_star, a, warm)
        if ve >= target:
            return choice((k_star, a), True)
        warm = (D, V)
    return choice((k_star, a_min), True)  # pragma: no cover - the gate passed at a_min


# ---------------------------------------------------------------------------------------------
# HFM
# ---------------------------------------------------------------------------------------------
class _HFMFits:
    """Decision fits of HFM settings, cached (thread-safe)."""

    def __init__(self, X, fmask, U, V, target, seed, report) -> None:
        self.X, self.fmask, self.U, self.V = X, fmask, U, V
        self.target, self.seed, self.report = target, seed, report
        self.cache: dict[tuple[int, float, float], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.n_fits = 0
        self.n_tight = 0

    def _ve(self, W: np.ndarray, H: np.ndarray) -> float:
        return variance_explained(self.X, W @ (H @ self.U), self.fmask)

    def _tight(self, key, W0, H0) -> dict[str, Any]:
        q, aA, aB = key
        W, H, cost, n_starts = multi_start_factorize(
            self.V, q, aA, aB, n_random=HFM_RANDOM_STARTS, W_init=W0, H_init=H0,
            start_tol=HFM_TOL, tol=HFM_TIGHT_TOL, max_iter=HFM_TIGHT_MAX_ITER,
            seed=(self.seed, q, int(round(aA * 1000)), int(round(aB * 1000))))
        with self.lock:
            self.n_tight += 1
        return {"W": W, "H": H, "ve": self._ve(W, H), "objective": cost, "tight": True,
                "n_starts": n_starts}

    def decide(self, key: tuple[int, float, float]) -> dict[str, Any]:
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        q, aA, aB = key
        W, H, cost, _ = factorize(self.V, q, aA, aB, tol=HFM_TOL)
        fit = {"W": W, "H": H, "ve": self._ve(W, H), "objective": cost, "tight": False,
               "n_starts": 1}
        if abs(fit["ve"] - self.target) < HFM_MARGIN:
            fit = self._tight(key, W, H)
        with self.lock:
            self.cache[key] = fit
            self.n_fits += 1
        if self.report is not None:
            self.report(q=q, alpha_A=aA, alpha_B=aB, ve=fit["ve"], k=self.V.shape[1])
        return fit

    def passes(self, key: tuple[int, float, float]) -> bool:
        return self.decide(key)["ve"] >= self.target

    def gap(self, key: tuple[int, float, float]) -> float:
        return self.target - self.decide(key)["ve"]

    def final(self, key: tuple[int, float, float]) -> dict[str, Any]:
        fit = self.cache[key]
        return fit if fit["tight"] else self._tight(key, fit["W"], fit["H"])

    def best(self) -> tuple[int, float, float]:
        return max(self.cache, key=lambda key: self.cache[key]["ve"])


def search_hfm(
    X: np.ndarray,
    fmask: np.ndarray | None,
    U: np.ndarray,
    V: np.ndarray,
    target: float,
    *,
    mode: str = DEFAULT_STRATEGY,
    grid: Sequence[tuple[int, float, float]] | None = None,
    alphas: Sequence[float] = ALPHAS,
    seed: int = 0,
    jobs: int = 1,
    report: Callable[..., None] | None = None,
) -> HFMChoice:
    """HFM search: ``V`` (n, k) ≈ ``W H`` judged by ``VE(X, W H U)``.

    Parameters
    ----------
    X : ndarray, shape (n, 136)
    fmask : ndarray of bool, shape (n, 136), or None
    U : ndarray, shape (k, 136)
        Stacked part atoms in the 136-space.
    V : ndarray, shape (n, k)
        Stacked part codes.
    target : float
        ``100(1 − β)``.
    mode : {'exact', 'literal', 'heuristic'}
    grid : list of (q, alpha_A, alpha_B), optional
        Explicit settings instead of the paper's grid.
    seed : int
        Seeds the random starts of the tight refits.
    jobs : int
        Fits run at a time (threads).
    report : callable, optional
        ``report(q=, alpha_A=, alpha_B=, ve=, k=)`` after each decision fit.
    """
    mode = check_strategy(mode)
    n, k = V.shape
    if mode == "heuristic" and grid is None:
        return _heuristic_hfm(X, fmask, U, V, target, alphas, report)
    fits = _HFMFits(X, fmask, U, V, target, seed, report)
    confirmed = None
    if grid is not None:
        settings = [(int(q), float(a), float(b)) for q, a, b in grid]
        i = _first_passing(settings, fits.passes, 1)
        key = None if i is None else settings[i]
    else:
        q_lo = 1
        cols = None if fmask is None else fmask.any(axis=0)
        if fmask is None or fmask[:, cols].all():
            Xc = X if cols is None else X[:, cols]
            Uc = U if cols is None else U[:, cols]
            q_lo = _first_row(_rank_bound(Xc, Uc), target, k)
        key, confirmed = grid_scan(
            range(1, k + 1),
            lambda q: [(q, float(a), float(b)) for a in alphas for b in alphas],
            fits.passes, mode, first_row=q_lo, jobs=jobs, gate_gap=fits.gap)
    reached = key is not None
    if key is None:
        key = fits.best()
    fit = fits.final(key)
    kkt_A, kkt_B = hfm_kkt(V, fit["W"], fit["H"], key[1], key[2])
    return HFMChoice(key[0], key[1], key[2], fit["ve"], reached, fit["W"], fit["H"],
                     fits.n_fits, objective=fit["objective"], kkt_A=kkt_A, kkt_B=kkt_B,
                     n_starts=fit["n_starts"], n_tight=fits.n_tight, confirmed=confirmed,
                     tried={key: f["ve"] for key, f in fits.cache.items()})


def _heuristic_hfm(X, fmask, U, V, target, alphas, report) -> HFMChoice:
    """The first wave's fast HFM search (gallop over q, warm starts across α_A, α_B)."""
    n, k = V.shape
    cache: dict[tuple[int, float, float], tuple[np.ndarray, np.ndarray, float, float]] = {}
    n_fits = 0

    def fit(q: int, aA: float, aB: float, warm: tuple[np.ndarray, np.ndarray] | None = None):
        nonlocal n_fits
        key = (q, aA, aB)
        if key not in cache:
            W0, H0 = warm if warm is not None else (None, None)
            W, H, cost, _ = factorize(V, q, aA, aB, W_init=W0, H_init=H0, tol=HFM_TOL)
            ve = variance_explained(X, W @ (H @ U), fmask)
            cache[key] = (W, H, ve, cost)
            n_fits += 1
            if report is not None:
                report(q=q, alpha_A=aA, alpha_B=aB, ve=ve, k=k)
        return cache[key]

    def choice(key: tuple[int, float, float], reached: bool) -> HFMChoice:
        W, H, ve, cost = cache[key]
        kkt_A, kkt_B = hfm_kkt(V, W, H, key[1], key[2])
        return HFMChoice(key[0], key[1], key[2], ve, reached, W, H, n_fits, objective=cost,
                         kkt_A=kkt_A, kkt_B=kkt_B)

    a_min = min(alphas)
    q_lo = 1
    cols = None if fmask is None else fmask.any(axis=0)
    if fmask is None or fmask[:, cols].all():
        Xc = X if cols is None else X[:, cols]
        Uc = U if cols is None else U[:, cols]
        q_lo = _first_row(_rank_bound(Xc, Uc), target, k)
    q_star = _gallop(q_lo, k, lambda q: fit(q, a_min, a_min)[2] >= target)
    if q_star is None:
        return choice(max(cache, key=lambda key: cache[key][2]), False)
    warm = None
    for aA in alphas:
        # row gate: the row's best VE is at alpha_B = a_min
        if fit(q_star, aA, a_min, warm)[2] < target:
            warm = cache[(q_star, aA, a_min)][:2]
            continue
        row_warm = warm
        for aB in alphas:
            W, H, ve, _ = fit(q_star, aA, aB, row_warm)
            if ve >= target:
                return choice((q_star, aA, aB), True)
            row_warm = (W, H)
    return choice((q_star, a_min, a_min), True)  # pragma: no cover - gate passed at a_min


# ---------------------------------------------------------------------------------------------
# FFM
# ---------------------------------------------------------------------------------------------
def stack_parts(parts: dict[str, PartChoice], n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Stacked atoms ``U`` (k, 136), codes ``V`` (n, k) and the part of each atom."""
    Us, Vs, owner = [], [], []
    for name in PART_NAMES:
        pc = parts.get(name)
        if pc is None or pc.k == 0:
            continue
        Uf = np.zeros((pc.k, N_FEATURES))
        Uf[:, pc.features] = pc.components
        Us.append(Uf)
        Vs.append(pc.codes)
        owner += [name] * pc.k
    if not Us:
        return np.zeros((0, N_FEATURES)), np.zeros((n, 0)), owner
    return np.vstack(Us), np.hstack(Vs), owner


def run_search(
    X: np.ndarray,
    fmask: np.ndarray | None = None,
    *,
    beta: float = 0.05,
    mode: str = DEFAULT_STRATEGY,
    parts: dict[str, tuple[int, float]] | None = None,
    hfm: tuple[int, float, float] | None = None,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
    state: TaskState | None = None,
) -> SearchResult:
    """Fit the FFM by the §2.3.3 search (or explicit settings where given).

    Parameters
    ----------
    X : ndarray, shape (n, 136)
    fmask : ndarray of bool, shape (n, 136), or None
    beta : float in (0, 1)
        Targets: PFM ``100(1 − β/2)``, HFM ``100(1 − β)``.
    mode : {'exact', 'literal', 'heuristic'}
        Search strategy (module docstring); ``'fast'`` is accepted for ``'heuristic'``.
    parts : dict part -> (k, alpha), optional
        Explicit PFM settings for some or all parts (others are searched).
    hfm : (q, alpha_A, alpha_B), optional
        Explicit HFM setting (else searched).
    random_state : int, RandomState or None
    n_jobs : int, optional
        Threads: the part searches run side by side, and the HFM fits of one batch.
    state : TaskState, optional
        Progress and cancellation.
    """
    mode = check_strategy(mode)
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta must be in (0, 1), got {beta}")
    state = ensure_state(state)
    started = time.perf_counter()
    targets = {"pfm": 100.0 * (1.0 - beta / 2.0), "hfm": 100.0 * (1.0 - beta)}
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max,
                                                     size=len(PART_NAMES) + 1)
    hseed = seeds[-1]
    parts = dict(parts or {})
    lock = threading.Lock()
    done = [0]

    def one_part(i: int, name: str) -> PartChoice:
        state.check()

        def report(**info) -> None:
            with lock:
                frac = _PFM_SHARE * done[0] / len(PART_NAMES)
            state.report("pfm", frac, f"{name}: k={info['k']}, alpha={info['alpha']:g}, "
                         f"VE {info['ve']:.2f} %", part=name, **info)

        grid = None
        if name in parts:
            k, a = parts[name]
            grid = [(int(k), float(a))]
        pc = search_part(X, fmask, name, targets["pfm"], mode=mode, grid=grid,
                         seed=int(seeds[i]), jobs=1, report=report)
        with lock:
            done[0] += 1
            frac = _PFM_SHARE * done[0] / len(PART_NAMES)
        msg = (f"{name}: skipped ({pc.skipped})" if pc.skipped else
               f"{name}: k={pc.k}, alpha={pc.alpha:g}, VE {pc.ve:.2f} %")
        state.report("pfm", frac, msg, force=True, part=name, k=pc.k, alpha=pc.alpha, ve=pc.ve)
        return pc

    jobs = n_threads() if n_jobs is None else max(1, int(n_jobs))
    with single_blas_thread():
        if jobs == 1:
            chosen = [one_part(i, name) for i, name in enumerate(PART_NAMES)]
        else:
            chosen = Parallel(n_jobs=jobs, prefer="threads")(
                delayed(one_part)(i, name) for i, name in enumerate(PART_NAMES))
        part_choices = {pc.part: pc for pc in chosen}
        U, V, _ = stack_parts(part_choices, X.shape[0])
        if U.shape[0] == 0:
            raise ValueError("no face part could be modelled (all missing or motionless)")
        k = U.shape[0]

        hfrac = [_PFM_SHARE]

        def hreport(**info) -> None:
            # q moves back and forth while bisecting: the bar only moves forward
            hfrac[0] = max(hfrac[0], _PFM_SHARE + (1 - _PFM_SHARE) * min(0.99, info["q"] / k))
            frac = hfrac[0]
            state.report("hfm", frac, f"q={info['q']}, alpha_A={info['alpha_A']:g}, "
                         f"alpha_B={info['alpha_B']:g}, VE {info['ve']:.2f} %", **info)

        hgrid = None if hfm is None else [(int(hfm[0]), float(hfm[1]), float(hfm[2]))]
        if hgrid is not None and not 1 <= hgrid[0][0] <= k:
            raise ValueError(f"hfm q={hgrid[0][0]} must be between 1 and k={k} part atoms")
        hc = search_hfm(X, fmask, U, V, targets["hfm"], mode=mode, grid=hgrid,
                        seed=int(hseed), jobs=jobs, report=hreport)
    state.report("hfm", 1.0, f"q={hc.q}, alpha_A={hc.alpha_A:g}, alpha_B={hc.alpha_B:g}, "
                 f"VE {hc.ve:.2f} %", force=True, q=hc.q, alpha_A=hc.alpha_A,
                 alpha_B=hc.alpha_B, ve=hc.ve)
    return SearchResult(part_choices, hc, float(beta), mode, targets,
                        time.perf_counter() - started)
