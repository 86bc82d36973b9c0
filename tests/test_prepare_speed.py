"""The fast KPM preparation (issue 10, Speed) gives exactly what the plain numpy steps give."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core import kpm as K
from dfecs_app.core import landmarks as L
from dfecs_app.core._shape_kernels import flat_frames, flat_frames_numpy
from dfecs_app.core.geometry import frontalization_layout, standardized_mask


def test_flat_frames_known_answers():
    pts = np.zeros((5, 68, 2))
    mask = np.zeros((5, 68), dtype=bool)
    mask[:, :3] = True
    pts[0, :3] = [[0, 0], [1, 0], [0, 1]]  # a triangle: has area
    pts[1, :3] = [[0, 0], [1, 1], [2, 2]]  # on one line
    pts[2, :3] = [[5, 5], [5, 5], [5, 5]]  # on one spot
    mask[3, 2] = False  # only two points
    pts[3, :2] = [[0, 0], [3, 1]]
    pts[4, :3] = [[0, 0], [1, 0], [0, np.nan]]  # NaN: not usable
    assert flat_frames(pts, mask).tolist() == [False, True, True, True, True]


def test_flat_frames_equal_the_numpy_formula():
    rng = np.random.default_rng(3)
    n = 4000
    pts = rng.normal(size=(n, 68, 2)) * rng.uniform(1e-3, 1e3, size=(n, 1, 1))
    mask = rng.random((n, 68)) > rng.uniform(0, 1, size=(n, 1))
    kind = rng.integers(0, 4, n)
    pts[kind == 1, :, 1] = 2 * pts[kind == 1, :, 0] + 1  # collinear
    pts[kind == 2] = pts[kind == 2, :1]  # coincident
    near = kind == 3  # near-collinear around the threshold
    pts[near, :, 1] = 3 * pts[near, :, 0] + rng.normal(size=(int(near.sum()), 68)) * 1e-5 * (
        np.abs(pts[near, :, 0]).mean(axis=1, keepdims=True))
    ref = flat_frames_numpy(pts, mask)
    assert 0 < ref.sum() < n
    np.testing.assert_array_equal(flat_frames(pts, mask), ref)


def mixed_table(track: np.ndarray) -> L.LandmarkTable:
    """68-, 66- and 49-point frames, missing points, a degenerate frame, three subjects."""
    rng = np.random.default_rng(0)
    parts = []
    for k, layout in enumerate(("68", "66", "49")):
        pts = track + rng.normal(0, 0.5, track.shape)
        mask = np.tile(L.layout_mask(layout), (len(track), 1))
        if layout == "68":
            mask[5, 60:] = False  # a frame with the inner lips lost
            pts[9] = pts[9, 30]  # a collapsed frame
        parts.append(L.LandmarkTable.from_frames(pts, mask, subject=f"p{k}", sequence="s",
                                                 source=f"{layout}.csv"))
    return L.LandmarkTable.concat(parts)


@pytest.mark.parametrize("frontalize", [False, True])
@pytest.mark.parametrize("neutral", ["first", "auto"])
def test_threads_do_not_change_the_kpms(track, weights, monkeypatch, frontalize, neutral):
    table = mixed_table(track)
    fw = weights.values() if frontalize else None
    monkeypatch.setattr(K, "CHUNK", 1 << 20)
    monkeypatch.setattr(K, "THREADS", 1)
    whole = K.compute_kpm(table, frontalization=fw, neutral=neutral)
    monkeypatch.setattr(K, "CHUNK", 7)
    one = K.compute_kpm(table, frontalization=fw, neutral=neutral)
    monkeypatch.setattr(K, "THREADS", 2)
    many = K.compute_kpm(table, frontalization=fw, neutral=neutral)
    assert len(one) == len(many) == len(whole) and one.meta["n_dropped"] >= 1
    # the same chunks on two threads: bit for bit what one thread computes
    np.testing.assert_array_equal(many.X, one.X)
    np.testing.assert_array_equal(many.mask, one.mask)
    np.testing.assert_array_equal(many.frame, one.frame)
    assert many.meta == one.meta
    # other chunk sizes: BLAS's matrix-vector products in the affine fit round by block
    # size, so only the last bits may differ (KPMs are in units of an 800-wide face)
    np.testing.assert_allclose(one.X, whole.X, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(one.mask, whole.mask)


def test_layout_fast_path_equals_the_general_rule(track):
    table = mixed_table(track)
    mask = table.mask
    expected = np.full(len(mask), "", dtype="<U2")
    for name in ("49", "66", "68"):
        expected[mask[:, list(L.LAYOUTS[name])].all(axis=1)] = name
    assert set(expected.tolist()) == {"68", "66", "49", ""}  # frame 5: no layout
    np.testing.assert_array_equal(frontalization_layout(mask), expected)
    np.testing.assert_array_equal(frontalization_layout(np.ones((3, 68), bool)), ["68"] * 3)
    full = standardized_mask(np.ones((2, 68), bool), True)
    assert full.all()


def numpy_affine_apply(x, y, M):
    """The previous numpy affine step (the reference)."""
    a = M[:, :, :, None]
    nx = x * a[:, 0, 0]
    nx += y * a[:, 0, 1]
    nx += a[:, 0, 2]
    ny = x * a[:, 1, 0]
    ny += y * a[:, 1, 1]
    ny += a[:, 1, 2]
    return nx, ny


def numpy_similarity(x, y, mask, targets):
    """The previous numpy per-part similarity step (the reference)."""
    x, y = x.copy(), y.copy()
    for group in L.SIMILARITY_GROUPS:
        pts = list(group.points)
        i = group.anchors[0]
        ax, ay = x[:, i: i + 1], y[:, i: i + 1]
        tax, tay = targets[i]
        px, py = x[:, pts] - ax, y[:, pts] - ay
        if len(group.anchors) == 1:
            x[:, pts], y[:, pts] = px + tax, py + tay
            continue
        j = group.anchors[1]
        ok = mask[:, i] & mask[:, j]
        tbx, tby = targets[j]
        ux, uy = x[:, j: j + 1] - ax, y[:, j: j + 1] - ay
        n2 = np.where(ok[:, None], ux * ux + uy * uy, 1.0)
        vx, vy = tbx - tax, tby - tay
        kr = (vx * ux + vy * uy) / n2
        ki = (vy * ux - vx * uy) / n2
        x[:, pts] = px * kr - py * ki + tax
        y[:, pts] = px * ki + py * kr + tay
    return x, y


def test_registration_kernels_give_numpys_numbers_bit_for_bit():
    from dfecs_app.core.geometry import _affine_apply, _similarity_planar

    rng = np.random.default_rng(5)
    n = 500
    xy = rng.normal(size=(n, 136)) * 300  # planar views into one array, as in standardization
    x, y = xy[:, :68], xy[:, 68:]
    M = rng.normal(size=(n, 2, 3))
    mask = rng.random((n, 68)) > 0.05
    ex, ey = numpy_affine_apply(x, y, M)
    _affine_apply(x, y, M)
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    sx, sy = numpy_similarity(x, y, mask, L.SIMILARITY_TARGETS)
    with np.errstate(all="ignore"):
        _similarity_planar(x, y, mask, L.SIMILARITY_TARGETS)
    np.testing.assert_array_equal(x, sx)
    np.testing.assert_array_equal(y, sy)


def test_group_ids_number_groups_by_first_appearance():
    rng = np.random.default_rng(2)
    subject = rng.choice(["b", "a", "c", "a\x1f"], 400)
    sequence = rng.choice(["1", "2", "x"], 400)
    runs = np.sort(rng.integers(0, 400, 40))  # some runs, some interleaving
    subject[runs] = "z"
    for group_by in ("subject", "sequence"):
        keys = subject if group_by == "subject" else np.char.add(np.char.add(subject, "\x1f"),
                                                                 sequence)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.intp)
        rank[np.argsort(first)] = np.arange(first.size)
        gid, n = K._group_ids(subject, sequence, group_by)
        assert n == first.size
        np.testing.assert_array_equal(gid, rank[inverse])
    assert K._group_ids(np.array(["a"] * 5), np.array(["s"] * 5), "sequence")[1] == 1


@pytest.mark.parametrize("m", [68, 66, 49, 6, 130])
def test_rms_normalize_kernel_gives_numpys_numbers_bit_for_bit(m):
    from dfecs_app.core.geometry import _rms_normalize

    rng = np.random.default_rng(m)
    x = rng.normal(size=(3000, m)) * 10.0 ** rng.integers(-3, 4, size=(3000, m)) + 400
    y = rng.normal(size=(3000, m)) * 50 - 7
    ex, ey = x.copy(), y.copy()
    ex -= ex.mean(axis=1, keepdims=True)
    ey -= ey.mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(np.mean(ex * ex + ey * ey, axis=1, keepdims=True))
    ex *= inv
    ey *= inv
    _rms_normalize(x, y)
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
