"""Matching output rows to KPM rows (issue 10, Speed): vectorised, as the dict lookup did."""

from __future__ import annotations

import numpy as np

from dfecs_app.core.kpm import KPMSet
from dfecs_app.io.coding import _lookup, _match_rows, _Rows


def dict_match(rows: _Rows, kpm: KPMSet) -> np.ndarray:
    """The previous per-frame dict lookup (the reference)."""
    index = {(s, q, int(f)): i for i, (s, q, f) in
             enumerate(zip(kpm.subject.tolist(), kpm.sequence.tolist(), kpm.frame.tolist()))}
    face = ~np.isnan(rows.points).all(axis=(1, 2))
    return np.array([index.get((s, q, int(f)), -1) if face[i] else -1 for i, (s, q, f) in
                     enumerate(zip(rows.subject.tolist(), rows.sequence.tolist(),
                                   rows.frame.tolist()))], dtype=np.int64)


def test_lookup_keeps_the_last_of_equal_keys():
    keys = np.array([5, 3, 5, 9], dtype=np.int64)
    assert _lookup(keys, np.array([5, 3, 4, 9, 0, 10])).tolist() == [2, 1, -1, 3, -1, -1]


def test_match_rows_equals_the_dict_lookup():
    rng = np.random.default_rng(0)
    m = 3000
    subject = rng.choice(["a", "b", "a,b", ""], m)
    sequence = rng.choice(["s1", "s2"], m)
    frame = rng.integers(-5, 400, m)
    points = rng.normal(size=(m, 68, 2))
    points[rng.random(m) < 0.1] = np.nan  # rows without a face
    rows = _Rows(subject, sequence, frame, np.full(m, np.nan), points)
    keep = np.flatnonzero(rng.random(m) < 0.7)
    dup = keep[:50]  # the same frame twice: the later row wins
    take = np.concatenate([keep, dup])
    kpm = KPMSet(X=np.zeros((take.size, 136)), mask=np.ones((take.size, 68), bool),
                 subject=subject[take], sequence=sequence[take], frame=frame[take])
    got = _match_rows(rows, kpm)
    np.testing.assert_array_equal(got, dict_match(rows, kpm))
    assert 0 < (got == -1).sum() < m / 2  # both kinds of rows occur
    # frame ids far apart (up to 2**60): the same answer as the dict
    far = _Rows(subject, sequence, frame * 2**60 // 400, rows.time_s, points)
    kfar = KPMSet(X=kpm.X, mask=kpm.mask, subject=kpm.subject, sequence=kpm.sequence,
                  frame=frame[take] * 2**60 // 400)
    np.testing.assert_array_equal(_match_rows(far, kfar), dict_match(far, kfar))
