"""The warp around pychubby: its field equals pychubby's, coincident landmarks morph,
lips never cross, folds are capped (Jacobian), the intensity unit and the face checks."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.face_check import check_neutral_face, shape_disparity
from dfecs_app.core.intensity import DEFAULT_MOVE, intensity_unit, kpm_p95
from dfecs_app.core.landmarks import vec_to_points
from dfecs_app.core.projection import au_displacements, face_width, max_move_intensity
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.core.warp_field import (
    J_MIN,
    SPLIT,
    border_points,
    control_points,
    min_jacobian,
    motion_recovered,
    plan_warp,
    rbf_field,
    rbf_weights,
    uncross,
)
from dfecs_app.io.readers import read_landmarks
from dfecs_app.render.morph import load_pychubby, morph_au_result


@pytest.fixture(scope="module")
def closed_face(shared_data):  # noqa: ANN001, ANN201
    from dfecs_app.io.images import read_image

    image = read_image(shared_data / "faces" / "single_face_frame0.png")
    points = read_landmarks([shared_data / "faces" / "single_face_frame0.pts"]).points[0]
    return image, points


def _au(moves: dict[int, tuple[float, float]]) -> np.ndarray:
    au = np.zeros(136)
    for i, (dx, dy) in moves.items():
        au[i], au[68 + i] = dx, dy
    return au


#: Lower lip and jaw down: opens a closed mouth (standardized units, y down).
OPEN = _au({65: (0, 60), 66: (0, 70), 67: (0, 60), 55: (0, 55), 56: (0, 60), 57: (0, 65),
            58: (0, 60), 59: (0, 55), 7: (0, 40), 8: (0, 45), 9: (0, 40)})
#: Upper lip down / lower lip up: presses the lips (would cross on a closed mouth).
PRESS = _au({61: (0, 40), 62: (0, 45), 63: (0, 40), 65: (0, -40), 66: (0, -45), 67: (0, -40)})


def test_field_is_pychubbys(closed_face) -> None:  # noqa: ANN001
    """Our float32 evaluation of the interpolant equals pychubby's DisplacementField.generate."""
    rng = np.random.default_rng(0)
    old = rng.uniform(10, 90, size=(30, 2))
    new = old + rng.normal(0, 2, size=old.shape)
    w, h = 100, 80
    base = load_pychubby()["base"]
    ref = base.DisplacementField.generate((h, w), old, new, anchor_corners=True, function="linear")
    corners = np.array([[0, 0], [0, h - 1], [w - 1, 0], [w - 1, h - 1]], dtype=float)
    nodes = np.vstack([new, corners])
    weights = rbf_weights(nodes, np.vstack([old - new, np.zeros((4, 2))]))
    dx, dy = rbf_field(nodes, weights, w, h)
    np.testing.assert_allclose(dx, ref.delta_x, atol=2e-3)
    np.testing.assert_allclose(dy, ref.delta_y, atol=2e-3)


def test_closed_mouth_morphs_each_keypoint_where_the_au_says(closed_face) -> None:  # noqa: ANN001
    image, points = closed_face
    assert np.array_equal(points[61], points[67])  # dlib's closed mouth: one pixel
    result = morph_au_result(image, points, OPEN, 1.0)
    requested = points + au_displacements(points, OPEN, 1.0)
    assert not result.capped and not result.plan.stopped
    np.testing.assert_allclose(result.targets, requested, atol=1e-9)
    assert result.plan.min_jacobian >= J_MIN  # one-to-one over the warped region
    # the opened mouth is dark inside (shaded interior), the rest of the image is unchanged
    mouth = np.round((requested[62] + requested[66]) / 2).astype(int)
    assert image[mouth[1], mouth[0]].mean() - result.image[mouth[1], mouth[0]].mean() > 40
    assert np.array_equal(result.image[:20, :20], image[:20, :20])


def test_coincident_points_moving_together_share_a_control_point() -> None:
    old = np.array([[10.0, 10.0], [10.0, 10.0], [10.4, 10.0], [30.0, 5.0]])
    new = old + [2.0, 1.0]
    src, dst, groups = control_points(old, new)
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3]]
    # coincident sources that part are spread by at most SPLIT px, targets kept
    new2 = old.copy()
    new2[0] += [0, -6.0]
    new2[1] += [0, 6.0]
    src2, dst2, groups2 = control_points(old, new2)
    assert len(groups2) == 4
    np.testing.assert_allclose(dst2, new2)
    gap = src2[1] - src2[0]
    assert 0 < np.linalg.norm(gap) <= 2 * SPLIT + 1e-9 and gap[1] > 0  # parted the same way


def test_lips_never_cross(closed_face) -> None:  # noqa: ANN001
    image, points = closed_face
    moved, stopped = uncross(points, points + au_displacements(points, PRESS, 1.0))
    assert {(61, 67), (62, 66), (63, 65)} <= set(stopped)
    axis = points[64] - points[60]
    normal = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)  # across the mouth, down
    assert normal[1] > 0
    for up, lo in ((61, 67), (62, 66), (63, 65)):
        before = (points[lo] - points[up]) @ normal
        assert (moved[lo] - moved[up]) @ normal >= min(0.0, before) - 1e-9
        # without the stop the request would cross them
        asked = points + au_displacements(points, PRESS, 1.0)
        assert (asked[lo] - asked[up]) @ normal < -5
    result = morph_au_result(image, points, PRESS, 1.0)
    assert result.plan.stopped and "stopped where they meet" in result.notes()[0]


def test_folding_intensity_is_capped_and_said(closed_face) -> None:  # noqa: ANN001
    image, points = closed_face
    swap = _au({48: (200, 0), 54: (-200, 0)})  # lip corners through each other: a fold
    result = morph_au_result(image, points, swap, 1.0)
    assert result.capped and 0 < result.plan.fraction < 1
    assert result.applied == pytest.approx(result.plan.fraction)
    assert result.plan.min_jacobian >= J_MIN
    assert "fold" in result.notes()[0]
    # the uncapped field of the same request has a negative Jacobian somewhere
    w, h = 640, 360
    fixed = border_points(w, h)
    new = points + au_displacements(points, swap, 1.0)
    src, dst, _ = control_points(points, new)
    weights = rbf_weights(np.vstack([dst, fixed]), np.vstack([src - dst, np.zeros_like(fixed)]))
    dx, dy = rbf_field(np.vstack([dst, fixed]), weights, w, h, step=2)
    assert min_jacobian(dx, dy, 2) < 0


def test_plan_without_motion_is_identity(closed_face) -> None:  # noqa: ANN001
    _, points = closed_face
    plan = plan_warp(points, np.zeros((68, 2)), 640, 360)
    assert not plan.capped and plan.fraction == 1.0
    assert np.abs(plan.field_xy[0]).max() < 1e-3 and plan.min_jacobian > 0.99


def test_motion_recovered() -> None:
    req = np.zeros((68, 2))
    req[48] = (3, 4)
    req[1] = (0.1, 0)  # below the moving threshold
    assert motion_recovered(req, req) == pytest.approx(1.0)
    assert motion_recovered(req, 0.5 * req) == pytest.approx(0.5)
    assert motion_recovered(req, np.c_[-req[:, 1], req[:, 0]]) == pytest.approx(0.0)
    assert np.isnan(motion_recovered(np.zeros((68, 2)), req))


def test_intensity_unit_sources() -> None:
    X, _, comps, codes = make_kpm_dataset(400, n_components=4, random_state=3, noise=0.0)
    q = comps.shape[0]
    model_unit = intensity_unit(comps, {"au_stats": {"p95_activation": [1.0, 2.0, 3.0, 4.0][:q]}})
    assert model_unit.source == "model" and model_unit.p95.tolist() == [1.0, 2.0, 3.0, 4.0][:q]
    kpm_unit = intensity_unit(comps, {}, X)
    assert kpm_unit.source == "kpm" and "95th-percentile" in kpm_unit.definition
    np.testing.assert_allclose(kpm_unit.p95, kpm_p95(X, comps))
    # known answer: noiseless data encode back to their codes
    for k in range(q):
        active = codes[:, k][codes[:, k] > 1e-6 * codes.max(axis=1)]
        assert kpm_unit.p95[k] == pytest.approx(np.percentile(active, 95), rel=0.05)
    fallback = intensity_unit(comps, {"au_stats": {"p95_activation": [1.0]}})  # wrong length
    assert fallback.source == "default" and "40 standardized units" in fallback.definition
    moves = np.linalg.norm(vec_to_points(comps * fallback.p95[:, None]), axis=-1).max(axis=1)
    np.testing.assert_allclose(moves, DEFAULT_MOVE)
    assert fallback.scales(2.0).tolist() == (2 * fallback.p95).tolist()


def test_max_move_intensity(closed_face) -> None:  # noqa: ANN001
    _, points = closed_face
    comps = np.vstack([OPEN, PRESS, np.zeros(136)])
    s = max_move_intensity(points, comps, 0.06)
    moves = np.linalg.norm(au_displacements(points, comps, s), axis=-1).max(axis=1)
    np.testing.assert_allclose(moves[:2], 0.06 * face_width(points))
    assert s[2] == 0.0


def test_neutral_face_checks(closed_face, shared_data) -> None:  # noqa: ANN001
    image, points = closed_face
    assert check_neutral_face(points, image.shape) == []
    for name in ("einstein", "breakingbad", "takeo"):
        pts = read_landmarks([shared_data / "pts" / f"{name}.pts"]).points[0]
        assert shape_disparity(pts) < 0.15 and check_neutral_face(pts, None) == []
    (problem,) = check_neutral_face(points * 2, image.shape)
    assert "outside the 640×360 image" in problem and "larger image" in problem
    assert "landmarks 1, 2" in problem
    assert "another image size" in check_neutral_face(points / 640, image.shape)[0]
    shuffled = points[np.random.default_rng(0).permutation(68)]
    assert "far from a face shape" in check_neutral_face(shuffled, image.shape)[0]
    mirrored = points.copy()
    mirrored[:, 0] = 639 - mirrored[:, 0]
    assert "mirrored" in check_neutral_face(mirrored, image.shape)[0]
    gone = points.copy()
    gone[[3, 50]] = np.nan
    assert "landmarks 3, 50 are missing" in check_neutral_face(gone, image.shape)[0]
