"""Hyperparameter search of the Full Face Model (paper §2.3.3), literal and fast.

Paper semantics
---------------
* PFM, per face part: grid rows ``k_f = 1 .. p`` (``p`` = the part's present feature columns),
  columns ``α = 5, 4.5, …, 0.5``; the first setting in that order (k ascending, α descending)
  whose VE(train) reaches ``100(1 − β/2)`` is kept.
* HFM: ``q = 1 .. k`` (``k = Σ k_f``), then ``α_A = 5 … 0.5``, then ``α_B = 5 … 0.5``; the first
  setting with ``VE(X, U A B) ≥ 100(1 − β)`` is kept.
* If no setting reaches its target the one with the best VE is kept and ``reached`` is False.

``mode="literal"`` runs the grid in that order, every fit from its cold start.
``mode="fast"`` returns the same choice with far fewer fits:

1. **Rank bound.** ``k`` atoms (or ``q`` AUs in the row space of ``U``) cannot explain more
   than the best rank-``k`` (rank-``q``) approximation, read off one SVD. Rows below that bound
   provably fail and are skipped (used when the missing entries form whole columns, i.e.
   always without partly missing samples).
2. **VE gate.** The fit at the smallest α of a row (α = 0.5, or α_A = α_B = 0.5) is the row's
   best VE (less shrinkage); a row whose gate fails is skipped. The gate fit is a cold fit,
   identical to the literal search's fit at that setting.
3. **Galloping + bisection over k (q)** from the rank bound, using the monotonicity of VE in
   ``k``: gates at ``k_lo, k_lo+1, k_lo+3, k_lo+7, …`` then bisection between the last failing
   and the first passing row.
4. **Warm starts across α** in the chosen row: the scan from α = 5 down starts each fit from the
   previous fit's atoms and codes; the gate fit is reused at α = 0.5.
5. **Parallel parts**: the seven PFM searches run in threads (the numba kernel releases the
   GIL; BLAS is held at one thread).

All fits of one part use the same seed, so a fit is reproducible whatever the search order.
Progress goes through :class:`~dfecs_app.core.progress.TaskState` (stage ``"pfm"`` then
``"hfm"``), which also lets the caller cancel between fits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from dfecs_app.core._cd import n_threads, single_blas_thread
from dfecs_app.core.hfm import factorize
from dfecs_app.core.landmarks import N_FEATURES, PART_FEATURES, PART_NAMES
from dfecs_app.core.metrics import variance_explained
from dfecs_app.core.pfm import learn_dictionary
from dfecs_app.core.progress import TaskState, ensure_state

#: The paper's α grid: 5 down to 0.5 in steps of 0.5.
ALPHAS: tuple[float, ...] = tuple(round(5.0 - 0.5 * i, 1) for i in range(10))
#: Convergence tolerances of the fits run by the search (relative objective decrease).
PFM_TOL = 1e-5
HFM_TOL = 1e-4
MODES = ("fast", "literal")

#: Share of the progress bar given to the PFM stage.
_PFM_SHARE = 0.6


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
        VE(train) of the part at the chosen setting (NaN when skipped).
    reached : bool
        Whether ``ve`` reached the PFM target.
    components : ndarray, shape (k, p)
        Atoms over the part's columns ``features``.
    codes : ndarray, shape (n, k)
    features : ndarray of int, shape (p,)
    n_fits : int
    skipped : str
        Why the part has no model ("" when it has one).
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


@dataclass
class HFMChoice:
    """Outcome of the HFM search: ``V ≈ W H`` with ``W = Bᵀ`` (n, q), ``H = Aᵀ`` (q, k)."""

    q: int
    alpha_A: float
    alpha_B: float
    ve: float
    reached: bool
    W: np.ndarray
    H: np.ndarray
    n_fits: int = 0


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


def search_part(
    X: np.ndarray,
    fmask: np.ndarray | None,
    part: str,
    target: float,
    *,
    mode: str = "fast",
    grid: Sequence[tuple[int, float]] | None = None,
    alphas: Sequence[float] = ALPHAS,
    seed: int = 0,
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
    mode : {'fast', 'literal'}
    grid : list of (k, alpha), optional
        Explicit settings to try in order instead of the paper's grid.
    alphas : sequence of float
        The α column values, largest first.
    seed : int
        Seed of every fit of this part.
    report : callable, optional
        ``report(k=, alpha=, ve=)`` after each fit (may raise Cancelled).
    """
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
    cache: dict[tuple[int, float], tuple[np.ndarray, np.ndarray, float]] = {}
    n_fits = 0

    def fit(k: int, alpha: float, warm: tuple[np.ndarray, np.ndarray] | None = None):
        nonlocal n_fits
        key = (k, alpha)
        if key not in cache:
            D0, V0 = warm if warm is not None else (None, None)
            D, V, _, _ = learn_dictionary(Xz, k, alpha, fmask=fm, dict_init=D0, code_init=V0,
                                          tol=PFM_TOL,
                                          random_state=np.random.RandomState(seed))
            ve = variance_explained(Xz, V @ D, fm)
            cache[key] = (D, V, ve)
            n_fits += 1
            if report is not None:
                report(k=k, alpha=alpha, ve=ve)
        return cache[key]

    def choice(key: tuple[int, float], reached: bool) -> PartChoice:
        D, V, ve = cache[key]
        return PartChoice(part, key[0], key[1], ve, reached, D, V, cols, n_fits)

    if grid is not None or mode == "literal":
        settings = list(grid) if grid is not None else [
            (k, a) for k in range(1, p + 1) for a in alphas]
        for k, a in settings:
            if fit(int(k), float(a))[2] >= target:
                return choice((int(k), float(a)), True)
        best = max(cache, key=lambda key: cache[key][2])
        return choice(best, False)
    if mode != "fast":
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")

    a_min = min(alphas)
    k_lo = _first_row(_rank_bound(Xz), target, p) if fm is None else 1
    k_star = _gallop(k_lo, p, lambda k: fit(k, a_min)[2] >= target)
    if k_star is None:
        best = max(cache, key=lambda key: cache[key][2])
        return choice(best, False)
    warm = None
    for a in alphas:
        if (k_star, a) in cache:
            D, V, ve = cache[(k_star, a)]
        else:
            D, V, ve = fit(k_star, a, warm)
        if ve >= target:
            return choice((k_star, a), True)
        warm = (D, V)
    return choice((k_star, a_min), True)  # pragma: no cover - the gate passed at a_min


# ---------------------------------------------------------------------------------------------
# HFM
# ---------------------------------------------------------------------------------------------
def search_hfm(
    X: np.ndarray,
    fmask: np.ndarray | None,
    U: np.ndarray,
    V: np.ndarray,
    target: float,
    *,
    mode: str = "fast",
    grid: Sequence[tuple[int, float, float]] | None = None,
    alphas: Sequence[float] = ALPHAS,
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
    grid : list of (q, alpha_A, alpha_B), optional
        Explicit settings instead of the paper's grid.
    report : callable, optional
        ``report(q=, alpha_A=, alpha_B=, ve=, k=)`` after each fit.
    """
    n, k = V.shape
    cache: dict[tuple[int, float, float], tuple[np.ndarray, np.ndarray, float]] = {}
    n_fits = 0

    def fit(q: int, aA: float, aB: float, warm: tuple[np.ndarray, np.ndarray] | None = None):
        nonlocal n_fits
        key = (q, aA, aB)
        if key not in cache:
            W0, H0 = warm if warm is not None else (None, None)
            W, H, _, _ = factorize(V, q, aA, aB, W_init=W0, H_init=H0, tol=HFM_TOL)
            ve = variance_explained(X, W @ (H @ U), fmask)
            cache[key] = (W, H, ve)
            n_fits += 1
            if report is not None:
                report(q=q, alpha_A=aA, alpha_B=aB, ve=ve, k=k)
        return cache[key]

    def choice(key: tuple[int, float, float], reached: bool) -> HFMChoice:
        W, H, ve = cache[key]
        return HFMChoice(key[0], key[1], key[2], ve, reached, W, H, n_fits)

    if grid is not None or mode == "literal":
        settings = list(grid) if grid is not None else [
            (q, aA, aB) for q in range(1, k + 1) for aA in alphas for aB in alphas]
        for q, aA, aB in settings:
            key = (int(q), float(aA), float(aB))
            if fit(*key)[2] >= target:
                return choice(key, True)
        return choice(max(cache, key=lambda key: cache[key][2]), False)
    if mode != "fast":
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")

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
            W, H, ve = fit(q_star, aA, aB, row_warm)
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
    mode: str = "fast",
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
    mode : {'fast', 'literal'}
    parts : dict part -> (k, alpha), optional
        Explicit PFM settings for some or all parts (others are searched).
    hfm : (q, alpha_A, alpha_B), optional
        Explicit HFM setting (else searched).
    random_state : int, RandomState or None
    n_jobs : int, optional
        Threads for the part searches.
    state : TaskState, optional
        Progress and cancellation.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta must be in (0, 1), got {beta}")
    state = ensure_state(state)
    started = time.perf_counter()
    targets = {"pfm": 100.0 * (1.0 - beta / 2.0), "hfm": 100.0 * (1.0 - beta)}
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(PART_NAMES))
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
                         seed=int(seeds[i]), report=report)
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
        hc = search_hfm(X, fmask, U, V, targets["hfm"], mode=mode, grid=hgrid, report=hreport)
    state.report("hfm", 1.0, f"q={hc.q}, alpha_A={hc.alpha_A:g}, alpha_B={hc.alpha_B:g}, "
                 f"VE {hc.ve:.2f} %", force=True, q=hc.q, alpha_A=hc.alpha_A,
                 alpha_B=hc.alpha_B, ve=hc.ve)
    return SearchResult(part_choices, hc, float(beta), mode, targets,
                        time.perf_counter() - started)
