"""The one landmark model: layout, parts, KPM vector layout, source layouts, LandmarkTable."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core import landmarks as L


def test_face_parts_partition_the_68_points():
    allpts = sorted(i for pts in L.FACE_PARTS.values() for i in pts)
    assert allpts == list(range(68))
    assert [len(L.FACE_PARTS[p]) for p in L.PART_NAMES] == [17, 5, 5, 9, 6, 6, 20]
    # p of §2.3.1: the left eyebrow has 5 keypoints, p = 10
    assert L.PART_FEATURES["left_brow"].size == 10


def test_kpm_vector_is_all_x_then_all_y():
    pts = np.arange(136, dtype=float).reshape(68, 2)  # x_i = 2i, y_i = 2i + 1
    vec = L.points_to_vec(pts)
    assert vec[5] == pts[5, 0] and vec[68 + 5] == pts[5, 1]
    np.testing.assert_array_equal(L.vec_to_points(vec), pts)
    # batched
    batch = np.stack([pts, pts + 1])
    np.testing.assert_array_equal(L.vec_to_points(L.points_to_vec(batch)), batch)
    # feature_indices of a part picks exactly its x and y columns
    cols = L.PART_FEATURES["nose"]
    np.testing.assert_array_equal(vec[cols[:9]], pts[27:36, 0])
    np.testing.assert_array_equal(vec[cols[9:]], pts[27:36, 1])


def test_shape_errors_are_explicit():
    with pytest.raises(ValueError, match="68, 2"):
        L.points_to_vec(np.zeros((67, 2)))
    with pytest.raises(ValueError, match="136"):
        L.vec_to_points(np.zeros(134))


def test_source_layouts_miss_the_documented_points():
    assert len(L.LAYOUT_66) == 66 and 60 not in L.LAYOUT_66 and 64 not in L.LAYOUT_66
    assert len(L.LAYOUT_49) == 49 and not set(range(17)) & set(L.LAYOUT_49)
    pts49 = np.random.default_rng(0).normal(size=(3, 49, 2))
    p68, mask = L.expand_to_68(pts49, "49")
    assert mask.sum(axis=1).tolist() == [49, 49, 49]
    assert not mask[:, :17].any() and not mask[:, [60, 64]].any()
    np.testing.assert_array_equal(p68[:, 17], pts49[:, 0])
    assert L.detect_layout(mask[0]) == "49"
    assert L.detect_layout(L.layout_mask("66")) == "66"
    fmask = L.point_mask_to_feature_mask(mask)
    assert fmask.shape == (3, 136) and not fmask[:, 60].any() and not fmask[:, 68 + 60].any()


def test_bp4d_uses_jaw_free_affine_anchors():
    assert set(L.affine_targets_for(L.layout_mask("68"))) == {0, 16, 27, 33, 39, 42}
    assert set(L.affine_targets_for(L.layout_mask("49"))) == {27, 33, 39, 42, 36, 45}


def test_similarity_groups_cover_all_but_the_lips():
    moved = sorted(i for g in L.SIMILARITY_GROUPS for i in g.points)
    assert moved == sorted(set(range(68)) - set(L.FACE_PARTS["lips"]))
    for g in L.SIMILARITY_GROUPS:
        assert all(a in L.SIMILARITY_TARGETS for a in g.anchors)


def test_landmark_table_groups_and_concat():
    rng = np.random.default_rng(1)
    a = L.LandmarkTable.from_frames(rng.normal(size=(4, 68, 2)), subject="S1", sequence="001", source="a.csv")
    b = L.LandmarkTable.from_frames(rng.normal(size=(3, 68, 2)), subject="S2", sequence="001", source="b.csv",
                                    notes=["dropped 1 frame"])
    t = L.LandmarkTable.concat([a, b])
    assert len(t) == 7 and t.notes == ["dropped 1 frame"]
    groups = t.groups()
    assert [(s, q, rows.tolist()) for s, q, rows in groups] == [("S1", "001", [0, 1, 2, 3]), ("S2", "001", [4, 5, 6])]
    sub = t.select(t.subject == "S2")
    assert len(sub) == 3 and (sub.frame == [0, 1, 2]).all()


def test_missing_points_are_zero_in_the_table():
    pts = np.full((2, 68, 2), 5.0)
    mask = np.ones((2, 68), bool)
    mask[:, 60] = False
    t = L.LandmarkTable.from_frames(pts, mask, subject="s", sequence="q", source="x")
    assert (t.points[:, 60] == 0).all() and (t.points[:, 0] == 5).all()
