"""Comparing the interpretability of two AU models rated in one blinded session.

The unit is the AU: each AU is interpretable (1) or not (0) by the raters' majority vote, and a
model's interpretability is the percentage of its AUs that are interpretable (the paper's
metric). The AUs of two models are different AUs (a DFECS AU has no partner PCA AU), so the two
samples are **independent, not paired**; a McNemar-type paired test does not apply.

Statistic
---------
``Δ = p_B − p_A`` in percentage points (model B minus the reference model A).

Confidence interval — stratified percentile bootstrap
    Each replicate draws ``k_A`` AUs of A and ``k_B`` AUs of B with replacement, each with all
    raters' votes; the majority vote is recomputed per drawn AU (it does not change) and Δ is
    recomputed; the interval is the percentile interval of ``n_boot`` replicates
    (``numpy.random.default_rng(seed)``).

Test — Fisher's exact test, two-sided
    On the 2×2 table (model × majority interpretable / not). Conditional on the margins this is
    exactly the permutation test of the model labels over the AUs (every relabelling of which
    AUs belong to which model is equally likely under H0: both models have the same
    interpretability), with no sampling error and valid for the small counts of rating studies
    (16 AUs per model in the paper). ``scipy.stats.fisher_exact``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import fisher_exact

DEFAULT_N_BOOT = 2000
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class ProportionDifference:
    """Δ = p_B − p_A with its bootstrap CI and Fisher's exact p-value.

    Attributes
    ----------
    label_a, label_b : str
    percent_a, percent_b : float
        Interpretability (percent of AUs interpretable by majority vote).
    n_a, n_b : int
        AUs with a majority vote.
    difference : float
        ``percent_b − percent_a`` (percentage points).
    ci_low, ci_high : float
        Percentile bootstrap interval of the difference.
    level : float
    n_boot : int
    p_value : float
        Two-sided Fisher's exact test.
    table : ndarray, shape (2, 2)
        ``[[interpretable_a, not_a], [interpretable_b, not_b]]``.
    """

    label_a: str
    label_b: str
    percent_a: float
    percent_b: float
    n_a: int
    n_b: int
    difference: float
    ci_low: float
    ci_high: float
    level: float
    n_boot: int
    p_value: float
    table: np.ndarray

    def as_dict(self) -> dict:
        return {"model_a": self.label_a, "model_b": self.label_b,
                "percent_a": self.percent_a, "percent_b": self.percent_b,
                "n_a": self.n_a, "n_b": self.n_b, "difference": self.difference,
                "ci": [self.ci_low, self.ci_high], "ci_level": self.level,
                "n_boot": self.n_boot, "p_value": self.p_value,
                "test": "Fisher's exact test, two-sided (AUs not paired)",
                "table": self.table.astype(int).tolist()}


def compare_proportions(majority_a: np.ndarray, majority_b: np.ndarray, label_a: str = "A",
                        label_b: str = "B", n_boot: int = DEFAULT_N_BOOT,
                        level: float = DEFAULT_LEVEL, seed: int = 0) -> ProportionDifference:
    """Difference in interpretability of two models from their AUs' majority votes.

    Parameters
    ----------
    majority_a, majority_b : ndarray, shape (k_a,), (k_b,)
        Majority vote per AU (1 interpretable, 0 not, NaN no votes: left out).
    n_boot : int
        Bootstrap replicates.
    level : float
        Confidence level in (0, 1).
    seed : int
        Bootstrap seed.
    """
    a = np.asarray(majority_a, dtype=float)
    b = np.asarray(majority_b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        raise ValueError("both models need at least one AU with a majority vote")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    pa, pb = 100.0 * a.mean(), 100.0 * b.mean()
    rng = np.random.default_rng(seed)
    ra = a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
    rb = b[rng.integers(0, b.size, size=(n_boot, b.size))].mean(axis=1)
    diffs = 100.0 * (rb - ra)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    table = np.array([[a.sum(), a.size - a.sum()], [b.sum(), b.size - b.sum()]])
    p = float(fisher_exact(table.astype(int), alternative="two-sided").pvalue)
    return ProportionDifference(label_a, label_b, float(pa), float(pb), int(a.size),
                                int(b.size), float(pb - pa), float(low), float(high),
                                float(level), int(n_boot), p, table)


@dataclass
class ModelComparison:
    """Per-model results of a comparison session and each model's difference to the first.

    Attributes
    ----------
    labels : list of str, length m
    summaries : list of RatingSummary, length m
        Table 1/2 of each model's AUs.
    differences : list of ProportionDifference, length m − 1
        Model ``j`` (j ≥ 1) minus model 0.
    """

    labels: list[str]
    summaries: list
    differences: list[ProportionDifference]

    def as_dict(self) -> dict:
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "models": [{"label": lab, "n_aus": len(s.components),
                        "majority": num(s.majority_percent),
                        "raters": {r: num(p) for r, p in zip(s.raters, s.rater_percent)},
                        "non_interpretable": s.non_interpretable}
                       for lab, s in zip(self.labels, self.summaries)],
            "differences": [d.as_dict() for d in self.differences],
        }


def compare_models(summary, groups: list[tuple[str, list[int]]], n_boot: int = DEFAULT_N_BOOT,
                   level: float = DEFAULT_LEVEL, seed: int = 0) -> ModelComparison:
    """Split a session's summary by model and compare every model with the first.

    Parameters
    ----------
    summary : RatingSummary
        The whole session (all models' AUs).
    groups : list of (label, component indices)
        One entry per model (``RatingSession.model_groups()``).
    """
    from dfecs_app.core.ratings import subset_summary

    labels = [g[0] for g in groups]
    subs = [subset_summary(summary, idx) for _, idx in groups]
    diffs = [compare_proportions(subs[0].majority, subs[j].majority, labels[0], labels[j],
                                 n_boot=n_boot, level=level, seed=seed + j)
             for j in range(1, len(subs))]
    return ModelComparison(labels, subs, diffs)


def format_difference(d: ProportionDifference) -> str:
    """One line: ``PCA − DFECS: −12.5 pp (95% CI −37.5 – 12.5, bootstrap); Fisher p = 0.71``."""
    return (f"{d.label_b} − {d.label_a}: {d.difference:+.2f} percentage points "
            f"({d.level:.0%} CI {d.ci_low:+.2f} to {d.ci_high:+.2f}, stratified bootstrap over "
            f"AUs, {d.n_boot} replicates); Fisher's exact test p = {d.p_value:.3g}")
