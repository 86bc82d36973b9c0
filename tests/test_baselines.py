"""PCA AUs [U, −U] and keypoint FACS AUs (paper §3.1–3.2)."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.baselines import (
    PYFEAT_2021_AUS,
    facs_aus_from_displacements,
    facs_aus_from_landmarks,
    facs_aus_from_vectors,
    pca_aus,
    pyfeat_au_names,
)
from dfecs_app.core.evaluation import path_curves
from dfecs_app.core.landmarks import FACE_PARTS, vec_to_points
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.errors import InputError


@pytest.fixture(scope="module")
def synth():
    X, mask, comps, codes = make_kpm_dataset(2000, n_components=16, random_state=11)
    return X, mask, comps


def test_pca_reaches_target_with_dense_signed_pm_components(synth) -> None:
    X, _, true = synth
    model = pca_aus(X, ve=95.0)
    k = model.meta["n_pcs"]
    U = model.components[:k]
    assert model.kind == "pca" and model.n_components == 2 * k
    np.testing.assert_array_equal(model.components[k:], -U)          # [U, −U]
    np.testing.assert_allclose(U @ U.T, np.eye(k), atol=1e-10)      # orthonormal PCs
    assert model.names[0] == "Component 1 (+ve)" and model.names[k] == "Component 1 (-ve)"
    # VE(train) of the positive encoding on [U, −U] reaches the target and is what meta says
    res = path_curves(X, model.components)
    assert res.ve_final_pooled >= 95.0
    assert res.ve_final_pooled == pytest.approx(model.meta["ve_train"], abs=1e-8)
    # the smallest such k
    assert path_curves(X, np.vstack([U[:-1], -U[:-1]])).ve_final_pooled < 95.0
    # dense and signed, unlike the sparse non-negative, part-localised truth
    dense = (np.abs(U) > 1e-3 * np.abs(U).max(axis=1, keepdims=True)).mean()
    true_dense = (np.abs(true) > 1e-3 * np.abs(true).max(axis=1, keepdims=True)).mean()
    assert true_dense < 0.5 and dense > 1.5 * true_dense and dense > 0.7
    assert all((u > 0).any() and (u < 0).any() for u in U)
    # uncentered: the PCs are the leading right singular vectors of X itself
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    np.testing.assert_allclose(np.abs(U @ Vt[:k].T), np.eye(k), atol=1e-6)
    assert model.meta["centered"] is False
    np.testing.assert_allclose(model.arrays["singular_values"][:k], s[:k], rtol=1e-8)


def test_pca_with_missing_keypoints() -> None:
    X, mask, _, _ = make_kpm_dataset(1500, n_components=12, missing="bp4d", random_state=2)
    model = pca_aus(X, ve=90.0, mask=mask)
    res = path_curves(X, model.components, mask)
    assert res.ve_final_pooled >= 90.0
    assert res.ve_final_pooled == pytest.approx(model.meta["ve_train"], abs=1e-8)
    jaw = np.r_[FACE_PARTS["jaw"], np.asarray(FACE_PARTS["jaw"]) + 68]
    assert np.abs(model.components[:, jaw]).max() < 1e-8  # nothing learnt where nothing moves


def test_pca_bad_inputs(synth) -> None:
    X, _, _ = synth
    with pytest.raises(InputError, match="all samples are zero"):
        pca_aus(np.zeros((10, 136)))
    with pytest.raises(InputError, match="target VE"):
        pca_aus(X, ve=120)
    Xn = X[:20].copy()
    Xn[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        pca_aus(Xn)


@pytest.fixture(scope="module")
def pyfeat(shared_data):
    with np.load(shared_data / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz",
                 allow_pickle=False) as npz:
        return npz["zero_xy"], npz["delta_xy"]


def test_facs_aus_from_pyfeat_tables_move_as_facs_says(pyfeat) -> None:
    zero, delta = pyfeat
    model = facs_aus_from_displacements(zero, delta, pyfeat_au_names())
    assert model.kind == "facs" and model.n_components == 20
    assert model.names[PYFEAT_2021_AUS.index(12)] == "AU12 lip corner puller"
    P = vec_to_points(model.components)  # (20, 68, 2), image y down
    au = {n: P[PYFEAT_2021_AUS.index(n)] for n in PYFEAT_2021_AUS}
    brows = list(FACE_PARTS["right_brow"] + FACE_PARTS["left_brow"])
    assert au[1][brows, 1].mean() < 0 and au[2][brows, 1].mean() < 0   # brows raised
    assert au[4][brows, 1].mean() > 0                                   # brows lowered
    assert au[12][[48, 54], 1].max() < 0                                # lip corners up...
    assert au[12][48, 0] < 0 < au[12][54, 0]                            # ... and outwards
    assert au[15][[48, 54], 1].min() > 0                                # lip corners down
    assert au[26][8, 1] > 0 and au[26][57, 1] > 0                       # jaw drops
    assert au[43][[37, 38, 43, 44], 1].min() > 0                        # upper lids close
    # linear in the apex intensity up to the registration (whose anchors move with some AUs):
    # doubling it about doubles most AUs
    twice = facs_aus_from_displacements(zero, delta, pyfeat_au_names(), intensity=6.0)
    ratio = np.linalg.norm(twice.components, axis=1) / np.linalg.norm(model.components, axis=1)
    assert 1.9 < np.median(ratio) < 2.1 and ratio.min() > 1.5


def test_facs_aus_from_landmarks_real_smile(shared_data) -> None:
    """The paper's recipe on a real face: neutral frame 0 and the broad smile of the track."""
    from dfecs_app.io.readers import read_landmarks

    table = read_landmarks(shared_data / "tracks" / "single_face_dlib68.csv")
    neutral = table.points[0]
    mouth = np.linalg.norm(table.points[:, 54] - table.points[:, 48], axis=1)
    apex = table.points[int(np.argmax(mouth))]
    model = facs_aus_from_landmarks(neutral, {"smile": apex})
    P = vec_to_points(model.components)[0]
    assert model.names == ["smile"] and model.kind == "facs"
    assert P[48, 0] < 0 < P[54, 0]          # mouth widens
    assert P[[48, 54], 1].mean() < 0        # corners rise
    # standardized like KPMs: the similarity-registration anchors do not move at all
    assert np.abs(P[[0, 16, 27, 36, 39, 42, 45]]).max() < 1e-9 * np.abs(P).max()


def test_facs_vectors_validation() -> None:
    rng = np.random.default_rng(0)
    V = rng.standard_normal((3, 136))
    m = facs_aus_from_vectors(V, ["a", "b", "c"])
    np.testing.assert_array_equal(m.components, V)
    with pytest.raises(InputError, match="names"):
        facs_aus_from_vectors(V, ["a"])
    with pytest.raises(InputError, match="shape"):
        facs_aus_from_vectors(V[:, :100], ["a", "b", "c"])
    V[1] = 0
    with pytest.raises(InputError, match="all zero"):
        facs_aus_from_vectors(V, ["a", "b", "c"])


def test_pca_with_a_number_of_components_names_aus_as_table_2(synth) -> None:
    X, _, _ = synth
    model = pca_aus(X, n_components=8)
    assert model.meta["n_pcs"] == 8 and model.n_components == 16
    assert model.meta["ve_target"] is None and model.meta["n_components_requested"] == 8
    assert model.names[:2] == ["Component 1 (+ve)", "Component 2 (+ve)"]
    assert model.names[8:10] == ["Component 1 (-ve)", "Component 2 (-ve)"]
    # the same PCs as the VE-target fit, first 8
    full = pca_aus(X, ve=99.9)
    np.testing.assert_allclose(model.components[:8], full.components[:8], atol=1e-10)
    res = path_curves(X, model.components)
    assert res.ve_final_pooled == pytest.approx(model.meta["ve_train"], abs=1e-8)
    with pytest.raises(InputError, match="principal components"):
        pca_aus(X, n_components=0)
    with pytest.raises(InputError, match="principal components"):
        pca_aus(X, n_components=137)
