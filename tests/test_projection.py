"""AU projection onto a neutral face (SI 7.1): standardized displacements mapped into the image."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.landmarks import AFFINE_TARGETS_68, layout_mask, points_to_vec
from dfecs_app.core.projection import (
    au_displacements,
    project_au,
    project_aus,
    standardized_to_image_matrix,
)
from dfecs_app.core.synthetic import neutral_face


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A face in the standardized frame: its anchors sit exactly on the affine targets."""
    F = neutral_face()
    for i, xy in AFFINE_TARGETS_68.items():
        assert np.allclose(F[i], xy)
    return F


def _rot(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def test_translation_of_one_point_moves_exactly_that_point(face):
    neutral = face / 4.0 + (37.0, -12.0)  # the standardized face at a quarter size, shifted
    au = np.zeros(136)
    au[48], au[68 + 48] = 40.0, -20.0  # lip corner: 40 units right, 20 up
    moved = project_au(neutral, au)
    assert moved.shape == (68, 2)
    np.testing.assert_allclose(moved[48] - neutral[48], [10.0, -5.0], atol=1e-9)
    others = np.arange(68) != 48
    np.testing.assert_allclose(moved[others], neutral[others], atol=1e-9)


def test_scale_and_rotation_of_the_neutral_face_are_respected(face):
    rng = np.random.default_rng(1)
    au = rng.normal(0, 30, 136)
    s, theta, t = 0.3, np.deg2rad(25.0), np.array([200.0, 150.0])
    R = _rot(theta)
    neutral = face @ R.T * s + t
    disp = project_au(neutral, au) - neutral
    d = np.stack([au[:68], au[68:]], axis=1)
    np.testing.assert_allclose(disp, s * d @ R.T, atol=1e-8)
    np.testing.assert_allclose(standardized_to_image_matrix(neutral), s * R, atol=1e-10)


def test_general_affine_including_shear(face):
    A = np.array([[0.2, 0.05], [-0.03, 0.25]])
    neutral = face @ A.T + (10.0, 20.0)
    au = np.zeros(136)
    au[8], au[68 + 8] = 0.0, 60.0  # chin down 60 units
    disp = project_au(neutral, au) - neutral
    np.testing.assert_allclose(disp[8], A @ [0.0, 60.0], atol=1e-9)


def test_intensity_is_linear_and_batch_matches_single(face):
    neutral = face * 0.2
    rng = np.random.default_rng(2)
    comps = rng.normal(0, 20, (5, 136))
    one = project_au(neutral, comps[3], 1.0) - neutral
    two = project_au(neutral, comps[3], 2.5) - neutral
    np.testing.assert_allclose(two, 2.5 * one, atol=1e-9)
    batch = project_aus(neutral, comps, 2.5)
    assert batch.shape == (5, 68, 2)
    for i in range(5):
        np.testing.assert_allclose(batch[i], project_au(neutral, comps[i], 2.5), atol=1e-9)
    per_au = au_displacements(neutral, comps, np.arange(5.0))
    np.testing.assert_allclose(per_au[0], 0.0)
    np.testing.assert_allclose(per_au[4], 4 * (project_au(neutral, comps[4]) - neutral), atol=1e-9)


def test_missing_points_stay_put(face):
    neutral = face * 0.5
    au = np.full(136, 10.0)
    mask = np.ones(68, bool)
    mask[[50, 60]] = False
    moved = project_au(neutral, au, mask=mask)
    np.testing.assert_array_equal(moved[[50, 60]], neutral[[50, 60]])
    np.testing.assert_allclose(moved[51] - neutral[51], [5.0, 5.0], atol=1e-9)
    with_nan = neutral.copy()
    with_nan[61] = np.nan
    moved = project_au(with_nan, au)
    assert np.isnan(moved[61]).all()
    np.testing.assert_allclose(moved[62] - neutral[62], [5.0, 5.0], atol=1e-9)


def test_jawless_neutral_face_uses_the_bp4d_anchors(face):
    mask = layout_mask("49")
    neutral = face * 0.5
    neutral[~mask] = 0.0
    au = points_to_vec(np.tile([[8.0, -4.0]], (68, 1)))
    disp = project_au(neutral, au, mask=mask) - neutral
    np.testing.assert_allclose(disp[mask], np.tile([4.0, -2.0], (mask.sum(), 1)), atol=1e-9)
    np.testing.assert_array_equal(disp[~mask], 0.0)


def test_bad_inputs_raise(face):
    with pytest.raises(ValueError, match="shape"):
        project_au(face[:60], np.zeros(136))
    with pytest.raises(ValueError, match="shape"):
        project_au(face, np.zeros(134))
    no_anchor = np.ones(68, bool)
    no_anchor[[27, 33]] = False  # both anchor sets need 27 and 33
    with pytest.raises(ValueError, match="anchor"):
        project_au(face, np.zeros(136), mask=no_anchor)
    with pytest.raises(ValueError, match="degenerate"):
        project_au(np.zeros((68, 2)), np.zeros(136))
