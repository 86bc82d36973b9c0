"""Geometric corrections of §2.1: frontalization, affine and per-part similarity registration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfecs_app.core import geometry as G
from dfecs_app.core import landmarks as L
from dfecs_app.errors import MissingResourceError

HYP = settings(max_examples=25, deadline=None, derandomize=True)


def similarity(points: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, s], [-s, c]])
    return scale * points @ R + np.asarray(shift)


def full(n: int) -> np.ndarray:
    return np.ones((n, 68), dtype=bool)


# ---------------------------------------------------------------------------------------------
# Frontalization
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["68", "66", "49"])
def test_frontalizing_the_mean_face_returns_it(weights, layout):
    w = weights[layout]
    mean68 = w.mean_face_68
    mask = L.layout_mask(layout)[None]
    out, out_mask = G.frontalize(mean68[None], mask, weights.values())
    np.testing.assert_array_equal(out_mask[0], L.layout_mask(layout))
    err = np.abs(out[0] - mean68)[L.layout_mask(layout)]
    assert err.max() < 0.1  # the reference code's own fixed-point accuracy, normalized units
    assert np.all(out[0][~L.layout_mask(layout)] == 0)


@pytest.mark.parametrize("layout", ["68", "66", "49"])
@HYP
@given(angle=st.floats(-math.pi, math.pi), scale=st.floats(0.01, 500.0),
       dx=st.floats(-1e3, 1e3), dy=st.floats(-1e3, 1e3))
def test_frontalization_ignores_position_size_and_in_plane_rotation(weights, layout, angle, scale, dx, dy):
    face = weights["68"].mean_face_68 * [1.0, 1.1] + 0.05 * np.sin(np.arange(136)).reshape(68, 2)
    mask = L.layout_mask(layout)[None]
    ref, _ = G.frontalize(face[None], mask, weights.values())
    moved, _ = G.frontalize(similarity(face, angle, scale, (dx, dy))[None], mask, weights.values())
    np.testing.assert_allclose(moved, ref, atol=1e-9)


def test_frontalization_matches_the_reference_formula(track, weights):
    """Known answer: the reference code's steps written out for one real frame."""
    p = track[40]
    c = p - p.mean(axis=0)
    c = c / math.sqrt(np.mean(np.sum(c**2, axis=1)))
    d = c[42:48].mean(axis=0) - c[36:42].mean(axis=0)
    a = math.atan(d[1] / d[0])
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c = c @ R
    v = np.hstack([c[:, 0], c[:, 1], 1.0]) @ weights["68"].W
    expected = np.stack([v[:68], v[68:]], axis=1)
    got, _ = G.frontalize(p[None], full(1), weights["68"])
    np.testing.assert_allclose(got[0], expected, atol=1e-12)


def test_66_point_weights_agree_with_68_point_weights_on_a_real_face(track, weights):
    m66 = np.tile(L.layout_mask("66"), (len(track), 1))
    f68, _ = G.frontalize(track, full(len(track)), weights["68"])
    f66, mask66 = G.frontalize(track, m66, weights.values())
    np.testing.assert_array_equal(mask66, m66)
    assert np.all(f66[:, [60, 64]] == 0)
    # both frontalize the same face: a few hundredths of the face's RMS size apart
    assert np.abs(f66 - f68)[mask66].max() < 0.05


def test_layout_per_frame_comes_from_the_mask():
    mask = np.ones((5, 68), dtype=bool)
    mask[1, [60, 64]] = False  # DISFA
    mask[2] = L.layout_mask("49")  # BP4D
    mask[3, 5] = False  # a jaw point lost: only the 49 BP4D points are complete
    mask[4, 30] = False  # a nose point lost: no layout
    assert G.frontalization_layout(mask).tolist() == ["68", "66", "49", "49", ""]
    sm = G.standardized_mask(mask, frontalize=True)
    assert sm[0].all()
    np.testing.assert_array_equal(sm[1], L.layout_mask("66"))
    np.testing.assert_array_equal(sm[2], L.layout_mask("49"))
    np.testing.assert_array_equal(sm[3], L.layout_mask("49"))
    assert not sm[4].any()
    # without frontalization a lost nose point is just missing
    sm = G.standardized_mask(mask, frontalize=False)
    assert sm[4].sum() == 67 and not sm[4, 30]
    # a lost jaw point without frontalization: BP4D anchors; the jaw group (anchors 0, 16) stays
    assert sm[3, :17].sum() == 16


def test_missing_weights_for_a_layout_say_which(track, weights):
    m66 = np.tile(L.layout_mask("66"), (3, 1))
    with pytest.raises(MissingResourceError, match="66-point"):
        G.frontalize(track[:3], m66, weights["68"])


# ---------------------------------------------------------------------------------------------
# Affine registration
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("targets", [L.AFFINE_TARGETS_68, L.AFFINE_TARGETS_49])
@HYP
@given(a=st.lists(st.floats(-3, 3), min_size=4, max_size=4), t=st.lists(st.floats(-500, 500), min_size=2, max_size=2),
       seed=st.integers(0, 2**16))
def test_an_exact_affine_image_of_the_targets_registers_onto_them(targets, a, t, seed):
    A = np.array(a).reshape(2, 2)
    if abs(np.linalg.det(A)) < 0.05:
        A = A + np.eye(2)
    if abs(np.linalg.det(A)) < 0.05:
        return
    rng = np.random.default_rng(seed)
    face = rng.normal(700, 300, size=(68, 2))
    anchors = list(targets)
    tgt = np.array([targets[i] for i in anchors])
    face[anchors] = tgt @ A + t
    mask = full(1) if targets is L.AFFINE_TARGETS_68 else L.layout_mask("49")[None]
    out = G.affine_register(face[None], mask)[0]
    np.testing.assert_allclose(out[anchors], tgt, atol=1e-7 * 1000)
    # and every other point goes through the same (inverse) map
    inv = (face[mask[0]] - t) @ np.linalg.inv(A)
    np.testing.assert_allclose(out[mask[0]], inv, atol=1e-6 * 1000)


def test_affine_targets_follow_the_mask(track):
    m49 = np.tile(L.layout_mask("49"), (len(track), 1))
    out = G.affine_register(track, m49)
    assert np.all(out[:, :17] == 0) and np.all(out[:, [60, 64]] == 0)
    anchors = list(L.AFFINE_TARGETS_49)
    tgt = np.array([L.AFFINE_TARGETS_49[i] for i in anchors])
    # least squares with a translation: the residuals of the six anchors sum to zero ...
    np.testing.assert_allclose(out[:, anchors].mean(axis=1), np.tile(tgt.mean(axis=0), (len(track), 1)), atol=1e-9)
    # ... and the worst one is 27, which the targets put 100 units above the inner eye
    # corners where a real face has it ~20 units above: it lands ~70 units low
    worst = np.abs(out[:, anchors] - tgt).max(axis=(0, 2))
    assert worst.argmax() == 0 and 40 < worst[0] < 100 and np.delete(worst, 0).max() < 50


def test_frames_without_anchors_are_refused():
    mask = full(2)
    mask[1, [27, 0]] = False
    with pytest.raises(ValueError, match="1 frame"):
        G.affine_register(np.zeros((2, 68, 2)) + np.arange(136).reshape(68, 2), mask)
    assert not G.standardized_mask(mask)[1].any()
    with pytest.raises(ValueError, match="cannot be standardized"):
        G.standardize(np.random.default_rng(0).normal(size=(2, 68, 2)), mask)


# ---------------------------------------------------------------------------------------------
# Similarity registration
# ---------------------------------------------------------------------------------------------
@HYP
@given(frame=st.integers(0, 71), angle=st.floats(-0.6, 0.6), scale=st.floats(0.3, 4.0),
       dx=st.floats(-300, 300), dy=st.floats(-300, 300))
def test_after_the_similarity_step_the_part_anchors_sit_on_their_targets(track, frame, angle, scale, dx, dy):
    face = similarity(track[frame], angle, scale, (dx, dy))
    out = G.similarity_register(face[None], full(1))[0]
    for idx, xy in L.SIMILARITY_TARGETS.items():
        np.testing.assert_allclose(out[idx], xy, atol=1e-9)
    np.testing.assert_array_equal(out[48:68], face[48:68])  # lips untouched
    # within a part the shape is preserved up to similarity: distance ratios survive
    for group in L.SIMILARITY_GROUPS:
        p = list(group.points)
        d_in = np.linalg.norm(face[p][:, None] - face[p][None], axis=-1)
        d_out = np.linalg.norm(out[p][:, None] - out[p][None], axis=-1)
        ratio = d_out[d_in > 0] / d_in[d_in > 0]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
        if len(group.anchors) == 1:  # the nose is only translated
            np.testing.assert_allclose(ratio, 1.0, rtol=1e-9)


def test_a_part_without_its_anchors_is_dropped(track):
    mask = full(1)
    mask[0, 45] = False
    out = G.similarity_register(track[:1], mask)
    assert np.all(out[0, 22:27] == 0) and np.all(out[0, 42:48] == 0)
    sm = G.standardized_mask(mask)
    assert not sm[0, 22:27].any() and not sm[0, 42:48].any() and sm[0, 36:42].all()


# ---------------------------------------------------------------------------------------------
# The three steps, and the authors' targets
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frontalize", [False, True])
@HYP
@given(angle=st.floats(-1.2, 1.2), scale=st.floats(0.05, 20.0), dx=st.floats(-2e3, 2e3), dy=st.floats(-2e3, 2e3))
def test_standardize_ignores_position_size_and_in_plane_rotation(track, weights, frontalize, angle, scale, dx, dy):
    fw = weights["68"] if frontalize else None
    frames = track[::9]
    ref = G.standardize(frames, full(len(frames)), fw)
    moved = G.standardize(similarity(frames, angle, scale, (dx, dy)), full(len(frames)), fw)
    np.testing.assert_allclose(moved, ref, atol=1e-6 * 800)


def test_standardize_does_not_modify_its_input(track, weights):
    before = track.copy()
    G.standardize(track, full(len(track)), weights["68"])
    np.testing.assert_array_equal(track, before)


def test_the_authors_inconsistent_nose_and_jaw_targets_do_not_change_kpms(track):
    """Affine puts 27, 0, 16 at y=900, similarity at y=1000; shifting a part's targets is a
    per-part translation of every frame, which cancels in frame - neutral."""
    mask = full(len(track))
    aff = G.affine_register(track, mask)
    authors = G.similarity_register(aff, mask)
    consistent_targets = dict(L.SIMILARITY_TARGETS)
    for i in (0, 16, 27):
        consistent_targets[i] = (L.AFFINE_TARGETS_68[i][0], 900.0)
    consistent = G.similarity_register(aff, mask, consistent_targets)
    # the standardized shapes differ (nose and jaw moved 100 units) ...
    np.testing.assert_allclose(authors[:, 27] - consistent[:, 27], [[0.0, 100.0]] * len(track))
    # ... the KPMs do not
    np.testing.assert_allclose(authors - authors[0], consistent - consistent[0], atol=1e-9)
    # and on this real face the affine step indeed leaves 27 well above the eye targets
    assert aff[:, 27, 1].mean() < 960


def test_affine_matrix_recovers_a_known_map_and_is_what_affine_register_applies():
    """An affine image of the target face maps back by the inverse of that affine map."""
    rng = np.random.default_rng(3)
    face = np.zeros((L.N_POINTS, 2))
    face[:] = rng.normal(700, 200, size=(L.N_POINTS, 2))
    for i, xy in {**L.AFFINE_TARGETS_68, **L.AFFINE_TARGETS_49}.items():
        face[i] = xy
    A = np.array([[0.3, 0.08], [-0.05, 0.25]])
    t = np.array([40.0, -15.0])
    frames = np.stack([face @ A.T + t, face])
    mask = np.ones((2, L.N_POINTS), dtype=bool)
    mask[1, :17] = False  # BP4D-like frame: the jaw-free anchors are used
    M = G.affine_matrix(frames, mask)
    assert M.shape == (2, 2, 3)
    Ainv = np.linalg.inv(A)
    np.testing.assert_allclose(M[0, :, :2], Ainv, atol=1e-12)
    np.testing.assert_allclose(M[0, :, 2], -Ainv @ t, atol=1e-9)
    np.testing.assert_allclose(M[1], np.eye(2, 3), atol=1e-12)
    reg = G.affine_register(frames, mask)
    applied = np.einsum("nij,nkj->nki", M[:, :, :2], frames) + M[:, None, :, 2]
    np.testing.assert_allclose(reg[mask], applied[mask], atol=1e-9)
    assert not reg[~mask].any()
