"""Fleiss' κ and Krippendorff's α against independent hand calculations; bootstrap CIs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dfecs_app.stats.agreement import agreement, bootstrap_ci, fleiss_kappa, krippendorff_alpha


def hand_fleiss(M: np.ndarray) -> float:
    """Fleiss (1971), written out."""
    N, n = M.shape
    counts = np.stack([(M == 0).sum(1), (M == 1).sum(1)], axis=1).astype(float)
    P_i = ((counts**2).sum(1) - n) / (n * (n - 1))
    p_j = counts.sum(0) / (N * n)
    P_bar, P_e = P_i.mean(), (p_j**2).sum()
    return (P_bar - P_e) / (1 - P_e)


def hand_alpha(M: np.ndarray) -> float:
    """Krippendorff's nominal α from the coincidence matrix (missing = NaN)."""
    o = np.zeros((2, 2))
    for row in M:
        vals = row[~np.isnan(row)].astype(int)
        m = len(vals)
        if m < 2:
            continue
        for a in range(m):
            for b in range(m):
                if a != b:
                    o[vals[a], vals[b]] += 1.0 / (m - 1)
    n_c = o.sum(1)
    n = n_c.sum()
    D_o = (o[0, 1] + o[1, 0]) / n
    D_e = 2 * n_c[0] * n_c[1] / (n * (n - 1))
    return 1 - D_o / D_e


SMALL = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 1]], float)


def test_fleiss_matches_hand_formula(table1, table2) -> None:
    for M in (SMALL, table1[1], table2[1]):
        assert fleiss_kappa(M) == pytest.approx(hand_fleiss(M), abs=1e-12)
    # the small table by hand: P_i = 1, 1/3, 1, 1/3, 1/3, 1 so P̄ = 12/18; p = (7/18, 11/18)
    p0, p1 = 7 / 18, 11 / 18
    pe = p0**2 + p1**2
    assert fleiss_kappa(SMALL) == pytest.approx((12 / 18 - pe) / (1 - pe))


def test_alpha_matches_hand_formula(table1, table2) -> None:
    for M in (SMALL, table1[1], table2[1]):
        assert krippendorff_alpha(M) == pytest.approx(hand_alpha(M), abs=1e-12)
    missing = SMALL.copy()
    missing[1, 1] = missing[4, 0] = np.nan
    missing[2, :2] = np.nan  # one vote left: unit not pairable
    assert krippendorff_alpha(missing) == pytest.approx(hand_alpha(missing), abs=1e-12)


def test_degenerate_agreement_is_nan_without_warnings() -> None:
    allyes = np.ones((5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(fleiss_kappa(allyes))
        assert np.isnan(krippendorff_alpha(allyes))
        a = agreement(allyes, n_boot=50)
    assert np.isnan(a.kappa_ci.low) and a.kappa_ci.n_valid == 0


def test_bootstrap_is_seeded_and_skips_degenerate_resamples(table1) -> None:
    M = table1[1]
    a1 = agreement(M, n_boot=400, seed=3)
    a2 = agreement(M, n_boot=400, seed=3)
    assert a1 == a2
    assert a1.kappa_ci.low <= a1.fleiss_kappa <= a1.kappa_ci.high
    assert a1.alpha_ci.low <= a1.krippendorff_alpha <= a1.alpha_ci.high
    # Table 1 has 14 unanimous rows: some resamples hold only unanimous ✓ rows -> dropped
    ci = bootstrap_ci(M, fleiss_kappa, n_boot=2000, seed=1)
    assert 0 < ci.n_boot - ci.n_valid < 200
    assert agreement(M, n_boot=400, seed=4) != a1
