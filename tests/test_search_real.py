"""On every real KPM set of ../shared/data the default search returns the literal grid's choice.

The sets are those issue 8 measured with ``dfecs kpm``: the ten news clips with neutral
``auto`` and ``first``, the one-man dlib track, and OpenFace's test file (frontalized,
default grouping). The literal grid fits every setting of §2.3.3 in order (cold decision fits);
the ``exact`` strategy must choose the same (k_f, α_f) for every part and the same
(q, α_A, α_B), with fewer fits.
"""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.kpm import compute_kpm
from dfecs_app.core.landmarks import PART_NAMES
from dfecs_app.core.search import CONFIRM_BAND, run_search
from dfecs_app.io.readers import read_landmarks

SETS = {
    "news_auto": ("news_sample/*.csv", "auto"),
    "news_first": ("news_sample/*.csv", "first"),
    "single_face": ("single_face_dlib68.csv", "auto"),
    "openface": ("OpenFace_Test.csv", "auto"),
}


def _kpm(shared_data, weights, name):
    pattern, neutral = SETS[name]
    paths = sorted((shared_data / "tracks").glob(pattern))
    table = read_landmarks(paths)
    kpm = compute_kpm(table, neutral=neutral, frontalization=list(weights.values()))
    fm = kpm.feature_mask
    return kpm.X, (None if fm.all() else fm)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETS))
def test_exact_equals_literal_on_real_tracks(shared_data, weights, name):
    X, fm = _kpm(shared_data, weights, name)
    exact = run_search(X, fm, beta=0.05, mode="exact", random_state=0)
    literal = run_search(X, fm, beta=0.05, mode="literal", random_state=0)
    for part in PART_NAMES:
        e, lit = exact.parts[part], literal.parts[part]
        assert (e.k, e.alpha) == (lit.k, lit.alpha), part
    he, hl = exact.hfm, literal.hfm
    assert (he.q, he.alpha_A, he.alpha_B) == (hl.q, hl.alpha_A, hl.alpha_B)
    assert he.ve == pytest.approx(hl.ve)
    assert exact.n_fits < literal.n_fits
    # the confirmation band holds on these data: within every HFM row the literal grid fitted
    # in full, VE varies across (α_A, α_B) by less than CONFIRM_BAND points
    rows: dict[int, list[float]] = {}
    for (q, _, _), ve in hl.tried.items():
        rows.setdefault(q, []).append(ve)
    spreads = [np.ptp(v) for v in rows.values() if len(v) == 100]
    assert spreads and max(spreads) < CONFIRM_BAND
