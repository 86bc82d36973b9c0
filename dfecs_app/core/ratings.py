"""Interpretability ratings of AUs (paper §3.4, Tables 1-2, SI Tables 3-4). numpy only.

Raters mark every AU (component) interpretable (✓) or non-interpretable (×). A × vote may
name the offending keypoints (68-layout indices, the blue dots of Fig. 6/8), describe the
artifact and give its muscular basis (SI Tables 3-4).

Vote matrix
-----------
``(k, r)`` float array, one row per component, one column per rater: 1.0 = ✓,
0.0 = ×, NaN = not (yet) rated.

Majority vote and the tie rule
------------------------------
A component is non-interpretable when more raters cast × than ✓ (paper: "at least two of the
three volunteers"). With an even number of raters the votes can tie; ``tie`` decides:

``"non_interpretable"`` (default, conservative)
    A tie counts as non-interpretable. For three raters this is exactly the paper's rule, and it
    generalises the paper's wording "at least half the raters label it non-interpretable".
``"interpretable"``
    A tie counts as interpretable (benefit of the doubt).

Only cast votes count: a component with some votes missing is decided by the votes it has; a
component nobody rated has no majority (NaN in :func:`majority_vote`) and is left out of the
interpretability metric.

Interpretability metric
-----------------------
``(k − n_i) / k · 100`` with ``k`` rated components and ``n_i`` of them non-interpretable by
majority vote.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from dfecs_app.core.landmarks import N_POINTS

TIE_RULES = ("non_interpretable", "interpretable")
DEFAULT_TIE_RULE = "non_interpretable"

#: Feasible muscle-movement directions named in SI Tables 3-4 (upper face UF, lower face LF):
#: code -> (face region, description). The rating screen's reference panel draws these.
MUSCLE_DIRECTIONS: dict[str, tuple[str, str]] = {
    "UF1": ("eyebrows", "eyebrows pulled upwards (frontalis: inner/outer brow raiser)"),
    "UF2": ("eyebrows", "eyebrows pulled diagonally down towards the nose (corrugator)"),
    "UF3": ("eyebrows / eyelids", "brows and upper lid pulled down towards the eye socket "
            "(procerus, depressor supercilii)"),
    "UF4": ("eyes", "eyelids and eye corners pulled towards the eye socket "
            "(orbicularis oculi: lid tightener, cheek raiser)"),
    "LF1": ("lips", "lip corners and lips pulled radially outwards or sideways "
            "(zygomaticus, risorius, buccinator)"),
    "LF2": ("lips / jaw", "lower lip and jaw pulled downwards (depressor labii, "
            "depressor anguli oris, mentalis, jaw drop)"),
}


@dataclass(frozen=True)
class Vote:
    """One rater's vote on one component.

    Attributes
    ----------
    component : int
        0-based component index in the model.
    rater : str
        Rater name.
    interpretable : bool
        ✓ (True) or × (False).
    points : tuple of int
        Offending keypoints (68-layout indices, sorted, unique); only meaningful for ×.
    artifact : str
        What moves wrongly (SI Tables 3-4, column "Artifact").
    basis : str
        Why it cannot be a muscle movement (SI Tables 3-4, column "Muscular Basis").
    """

    component: int
    rater: str
    interpretable: bool
    points: tuple[int, ...] = ()
    artifact: str = ""
    basis: str = ""

    def __post_init__(self) -> None:
        pts = tuple(sorted({int(p) for p in self.points}))
        if any(p < 0 or p >= N_POINTS for p in pts):
            raise ValueError(f"keypoint indices must be in 0..{N_POINTS - 1}, got {list(pts)}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "interpretable", bool(self.interpretable))
        object.__setattr__(self, "component", int(self.component))

    def with_points(self, points: tuple[int, ...]) -> Vote:
        return replace(self, points=tuple(points))

    def toggled(self, point: int) -> Vote:
        """This vote with keypoint ``point`` added to, or removed from, the artifact points."""
        pts = set(self.points)
        pts.symmetric_difference_update({int(point)})
        return replace(self, points=tuple(pts))


# ---------------------------------------------------------------------------------------------
# Statistics on the vote matrix
# ---------------------------------------------------------------------------------------------
def check_tie_rule(tie: str) -> str:
    if tie not in TIE_RULES:
        raise ValueError(f"tie rule must be one of {TIE_RULES}, got {tie!r}")
    return tie


def vote_matrix(votes: list[Vote] | tuple[Vote, ...], n_components: int,
                raters: list[str] | tuple[str, ...]) -> np.ndarray:
    """Votes -> ``(k, r)`` matrix (1 ✓, 0 ×, NaN missing), columns in the order of ``raters``."""
    col = {name: j for j, name in enumerate(raters)}
    M = np.full((n_components, len(raters)), np.nan)
    for v in votes:
        M[v.component, col[v.rater]] = 1.0 if v.interpretable else 0.0
    return M


def majority_vote(matrix: np.ndarray, tie: str = DEFAULT_TIE_RULE) -> np.ndarray:
    """Majority vote per component.

    Parameters
    ----------
    matrix : ndarray, shape (k, r)
        1 ✓, 0 ×, NaN missing.
    tie : {'non_interpretable', 'interpretable'}
        Rule for as many ✓ as × (see the module docstring).

    Returns
    -------
    ndarray of float, shape (k,)
        1 interpretable, 0 non-interpretable, NaN when nobody rated the component.
    """
    check_tie_rule(tie)
    M = np.asarray(matrix, dtype=float)
    yes = np.nansum(M == 1.0, axis=1)
    no = np.nansum(M == 0.0, axis=1)
    out = np.where(yes > no, 1.0, 0.0)
    out[yes == no] = 1.0 if tie == "interpretable" else 0.0
    out[(yes + no) == 0] = np.nan
    return out


def percent_interpretable(column: np.ndarray) -> float:
    """Percent of ✓ among the cast votes of one column ``(k,)`` (NaN if none)."""
    c = np.asarray(column, dtype=float)
    c = c[~np.isnan(c)]
    return float(100.0 * c.mean()) if c.size else float("nan")


def rater_percentages(matrix: np.ndarray) -> np.ndarray:
    """Per-rater percent interpretable, shape ``(r,)``, over the components each rated."""
    M = np.asarray(matrix, dtype=float)
    return np.array([percent_interpretable(M[:, j]) for j in range(M.shape[1])])


def interpretability(majority: np.ndarray) -> float:
    """The paper's metric ``(k − n_i) / k · 100`` over the components with a majority."""
    return percent_interpretable(majority)


def non_interpretable(majority: np.ndarray) -> np.ndarray:
    """Indices of the components non-interpretable by majority vote, shape ``(n_i,)``."""
    m = np.asarray(majority, dtype=float)
    return np.flatnonzero(m == 0.0)


@dataclass
class RatingSummary:
    """Everything of Table 1 / Table 2.

    Attributes
    ----------
    components : list of str, length k
    raters : list of str, length r
    matrix : ndarray, shape (k, r)
        1 ✓, 0 ×, NaN missing.
    majority : ndarray, shape (k,)
        1 / 0 / NaN.
    rater_percent : ndarray, shape (r,)
    majority_percent : float
        The interpretability metric.
    non_interpretable : list of str
        Component names non-interpretable by majority vote, in component order.
    tie : str
        Tie rule used.
    """

    components: list[str]
    raters: list[str]
    matrix: np.ndarray
    majority: np.ndarray
    rater_percent: np.ndarray
    majority_percent: float
    non_interpretable: list[str]
    tie: str = DEFAULT_TIE_RULE
    votes: list[Vote] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every rater rated every component."""
        return bool(not np.isnan(self.matrix).any())


def summarize(matrix: np.ndarray, components: list[str], raters: list[str],
              tie: str = DEFAULT_TIE_RULE, votes: list[Vote] | None = None) -> RatingSummary:
    """Majority vote, percentages and non-interpretable list of a ``(k, r)`` vote matrix."""
    M = np.asarray(matrix, dtype=float)
    if M.shape != (len(components), len(raters)):
        raise ValueError(f"matrix shape {M.shape} does not match {len(components)} components "
                         f"x {len(raters)} raters")
    maj = majority_vote(M, tie)
    return RatingSummary(
        components=list(components), raters=list(raters), matrix=M, majority=maj,
        rater_percent=rater_percentages(M), majority_percent=interpretability(maj),
        non_interpretable=[components[i] for i in non_interpretable(maj)], tie=tie,
        votes=list(votes or []),
    )


def subset_summary(summary: RatingSummary, indices: list[int] | np.ndarray,
                   names: list[str] | None = None) -> RatingSummary:
    """Table 1/2 of some of the components (e.g. one model's AUs of a comparison session).

    Parameters
    ----------
    summary : RatingSummary
    indices : sequence of int
        Component indices kept (their votes keep their original component numbers).
    names : list of str, optional
        Names shown for the kept components (default: the summary's).
    """
    idx = [int(i) for i in indices]
    keep = set(idx)
    comps = list(names) if names is not None else [summary.components[i] for i in idx]
    return summarize(summary.matrix[idx], comps, list(summary.raters), summary.tie,
                     votes=[v for v in summary.votes if v.component in keep])


# ---------------------------------------------------------------------------------------------
# Blinded orders
# ---------------------------------------------------------------------------------------------
def blinded_order(n_components: int, rater: str, seed: int) -> list[int]:
    """The rater's own random order of the components, reproducible from ``(seed, rater)``.

    The order depends only on the seed and the rater's name (not on the other raters), so
    adding a rater later never reshuffles anyone else.
    """
    digest = hashlib.sha256(rater.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, *words])
    return [int(i) for i in rng.permutation(n_components)]


def blinded_orders(n_components: int, raters: list[str], seed: int) -> dict[str, list[int]]:
    """:func:`blinded_order` for every rater."""
    return {name: blinded_order(n_components, name, seed) for name in raters}


# ---------------------------------------------------------------------------------------------
# Undo (after glue's Command/CommandStack)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetVote:
    """Replace one rater's vote on one component: ``before`` -> ``after`` (None = no vote)."""

    rater: str
    component: int
    before: Vote | None
    after: Vote | None

    def inverse(self) -> SetVote:
        return SetVote(self.rater, self.component, self.after, self.before)


class CommandStack:
    """Undo/redo history of :class:`SetVote` commands for one rater.

    ``push`` records a command that has been applied; ``undo`` / ``redo`` return the command to
    apply (the caller applies it), or None when there is nothing to undo / redo.
    """

    def __init__(self, max_size: int = 1000) -> None:
        self.max_size = max_size
        self._undo: list[SetVote] = []
        self._redo: list[SetVote] = []

    def push(self, cmd: SetVote) -> None:
        self._undo.append(cmd)
        del self._undo[:-self.max_size]
        self._redo.clear()

    def undo(self) -> SetVote | None:
        if not self._undo:
            return None
        cmd = self._undo.pop()
        self._redo.append(cmd)
        return cmd.inverse()

    def redo(self) -> SetVote | None:
        if not self._redo:
            return None
        cmd = self._redo.pop()
        self._undo.append(cmd)
        return cmd

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
