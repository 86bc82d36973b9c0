"""The affine anchor-set option (auto / jaw / eyes) through geometry, KPMs, ``dfecs kpm`` and projects."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfecs_app.cli.main import main as cli_main
from dfecs_app.core import geometry as G
from dfecs_app.core import landmarks as L
from dfecs_app.core.kpm import compute_kpm
from dfecs_app.errors import InputError
from dfecs_app.io import frontalization_weights as FW
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.project import Dataset, Project, load_project, save_project
from dfecs_app.io.readers import read_landmarks

HYP = settings(max_examples=8, deadline=None, derandomize=True)
FACE_SIZE = 800.0
JAW, EYES = list(L.AFFINE_TARGETS_68), list(L.AFFINE_TARGETS_49)


@pytest.fixture(scope="module")
def table(shared_data) -> L.LandmarkTable:
    """The real dlib track: 72 frames of one man, a neutral start then a broad smile."""
    return read_landmarks([str(shared_data / "tracks" / "single_face_dlib68.csv")])


def bp4d_like(table: L.LandmarkTable) -> L.LandmarkTable:
    """The same frames with only BP4D's 49 points (no jaw, no 60 and 64)."""
    pts, mask = L.expand_to_68(table.points[:, list(L.LAYOUT_49)], "49")
    return L.LandmarkTable(pts, mask, table.subject, table.sequence, table.frame, table.source)


def test_the_named_sets_live_in_landmarks():
    assert L.ANCHOR_CHOICES == ("auto", "jaw", "eyes")
    assert L.ANCHOR_SETS["jaw"] is L.AFFINE_TARGETS_68 and L.ANCHOR_SETS["eyes"] is L.AFFINE_TARGETS_49
    assert JAW == [0, 16, 27, 33, 39, 42] and EYES == [27, 33, 39, 42, 36, 45]
    assert L.ANCHOR_LABELS["jaw"] == "jaw set (0, 16, 27, 33, 39, 42)"
    assert L.ANCHOR_LABELS["eyes"] == "eye set (27, 33, 39, 42, 36, 45)"
    full = np.ones(68, bool)
    assert L.affine_targets_for(full) is L.AFFINE_TARGETS_68  # auto: the mask decides
    assert L.affine_targets_for(full, "eyes") is L.AFFINE_TARGETS_49  # a named set: always it
    assert L.affine_targets_for(L.layout_mask("49"), "jaw") is L.AFFINE_TARGETS_68
    with pytest.raises(ValueError, match="auto, jaw, eyes"):
        L.affine_targets_for(full, "nose")


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------
@HYP
@given(a=st.lists(st.floats(-3, 3), min_size=4, max_size=4),
       t=st.lists(st.floats(-500, 500), min_size=2, max_size=2), seed=st.integers(0, 2**16))
def test_an_exact_affine_image_of_the_eye_set_targets_registers_exactly_with_eyes(a, t, seed):
    """A full 68-point face whose eye-set anchors are an exact affine image of their targets
    (every other point, the jaw anchors included, random): ``anchors='eyes'`` maps the anchors
    onto their targets exactly, and every point through the same inverse map."""
    A = np.array(a).reshape(2, 2)
    if abs(np.linalg.det(A)) < 0.05:
        A = A + np.eye(2)
    if abs(np.linalg.det(A)) < 0.05:
        return
    rng = np.random.default_rng(seed)
    face = rng.normal(700, 300, size=(68, 2))
    tgt = np.array([L.AFFINE_TARGETS_49[i] for i in EYES])
    face[EYES] = tgt @ A + t
    mask = np.ones((1, 68), bool)
    out = G.affine_register(face[None], mask, anchors="eyes")[0]
    np.testing.assert_allclose(out[EYES], tgt, atol=1e-7 * 1000)
    np.testing.assert_allclose(out, (face - t) @ np.linalg.inv(A), atol=1e-6 * 1000)
    M = G.affine_matrix(face[None], mask, anchors="eyes")[0]
    np.testing.assert_allclose(face @ M[:, :2].T + M[:, 2], out, atol=1e-9 * 1000)
    # the same as naming the targets explicitly; auto (and jaw) fit the random jaw instead
    np.testing.assert_allclose(G.affine_register(face[None], mask, L.AFFINE_TARGETS_49)[0], out)
    for anchors in ("auto", "jaw"):
        other = G.affine_register(face[None], mask, anchors=anchors)[0]
        assert np.abs(other[EYES] - tgt).max() > 1.0


def test_targets_and_a_named_set_together_are_refused(table):
    with pytest.raises(ValueError, match="not both"):
        G.affine_matrix(table.points[:2], table.mask[:2], L.AFFINE_TARGETS_68, anchors="eyes")
    with pytest.raises(ValueError, match="anchors must be one of"):
        G.standardize(table.points[:2], table.mask[:2], anchors="chin")


def test_the_jaw_set_needs_the_jaw_the_eye_set_does_not(table):
    m49 = bp4d_like(table).mask
    assert G.standardized_mask(m49).any(axis=1).all()  # auto falls back to the eye set
    assert G.standardized_mask(m49, anchors="eyes").any(axis=1).all()
    assert not G.standardized_mask(m49, anchors="jaw").any()
    with pytest.raises(ValueError, match=r"72 frame\(s\) cannot be standardized.*jaw"):
        G.standardize(table.points, m49, anchors="jaw")
    # 68-point frames: the three choices keep the same points
    for anchors in L.ANCHOR_CHOICES:
        assert G.standardized_mask(table.mask, True, anchors).all()


def test_on_68_point_data_auto_is_the_jaw_set_and_eyes_differs(table):
    auto = G.standardize(table.points, table.mask)
    np.testing.assert_array_equal(G.standardize(table.points, table.mask, anchors="jaw"), auto)
    eyes = G.standardize(table.points, table.mask, anchors="eyes")
    lips = list(L.FACE_PARTS["lips"])  # only the affine step moves the lips
    assert np.abs(eyes[:, lips] - auto[:, lips]).max() > 10


# ---------------------------------------------------------------------------------------------
# KPMs
# ---------------------------------------------------------------------------------------------
def similarity(points: np.ndarray, angle: float, scale: float, shift) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return scale * points @ np.array([[c, s], [-s, c]]) + np.asarray(shift)


@pytest.mark.parametrize("anchors", ["jaw", "eyes"])
@pytest.mark.parametrize("frontalize", [False, True])
@HYP
@given(seed=st.integers(0, 2**31 - 1), max_angle=st.floats(0.0, 1.0), max_log_scale=st.floats(0.0, 3.0))
def test_kpms_stay_invariant_with_each_anchor_set(table, anchors, frontalize, seed, max_angle, max_log_scale):
    rng = np.random.default_rng(seed)
    n = len(table)
    angle = rng.uniform(-max_angle, max_angle, n)
    scale = np.exp(rng.uniform(-max_log_scale, max_log_scale, n))
    shift = rng.uniform(-5000, 5000, (n, 2))
    moved = np.stack([similarity(p, a, s, t) for p, a, s, t in zip(table.points, angle, scale, shift)])
    fw = FW.load_frontalization_weights("68") if frontalize else None
    ref = compute_kpm(table, frontalization=fw, anchors=anchors)
    got = compute_kpm(L.LandmarkTable(moved, table.mask, table.subject, table.sequence, table.frame,
                                      table.source), frontalization=fw, anchors=anchors)
    np.testing.assert_allclose(got.X, ref.X, atol=1e-6 * FACE_SIZE)
    np.testing.assert_array_equal(got.mask, ref.mask)
    assert got.meta["options"]["anchors"] == anchors


def test_eyes_puts_68_point_data_in_the_frame_of_bp4d_data(table):
    """With the eye set, 68-point KPMs equal those of the same frames reduced to BP4D's 49
    points on every point the two share (without frontalization, the only other difference)."""
    full = compute_kpm(table, anchors="eyes")
    bp4d = compute_kpm(bp4d_like(table))  # auto: the eye set, the only one BP4D data allow
    assert bp4d.meta["options"]["anchors"] == "auto" and full.meta["options"]["anchors"] == "eyes"
    shared = bp4d.feature_mask
    assert shared.sum() == 72 * 98 and full.mask.all()
    np.testing.assert_allclose(full.X[shared], bp4d.X[shared], atol=1e-9)
    assert np.abs(compute_kpm(table).X[shared] - bp4d.X[shared]).max() > 5  # auto on 68 data: the jaw set


def test_jaw_on_bp4d_data_drops_every_frame_with_a_clear_note(table):
    with pytest.raises(InputError) as info:
        compute_kpm(bp4d_like(table), anchors="jaw")
    text = str(info.value)
    assert "none of the 72 frame(s)" in text and "jaw set (0, 16, 27, 33, 39, 42)" in text
    assert "eyes" in text and info.value.field == "anchors" and "\n" not in text
    # mixed data: only the BP4D frames go, and the note says why
    mixed = L.LandmarkTable.concat([table.select(np.arange(40)), bp4d_like(table).select(np.arange(40, 72))])
    kpm = compute_kpm(mixed, anchors="jaw")
    assert len(kpm) == 40 and kpm.meta["n_dropped"] == 32
    assert any(note.startswith("dropped 32 of 72 frame(s) missing the registration anchors of the "
                               "jaw set (0, 16, 27, 33, 39, 42)") for note in kpm.meta["notes"])
    np.testing.assert_allclose(kpm.X, compute_kpm(table, anchors="jaw").X[:40], atol=1e-9)
    with pytest.raises(InputError, match="anchors must be one of auto, jaw, eyes"):
        compute_kpm(table, anchors="nose")


# ---------------------------------------------------------------------------------------------
# dfecs kpm --anchors
# ---------------------------------------------------------------------------------------------

def test_cli_anchors_option(shared_data, table, tmp_path, monkeypatch, capsys):
    src = shared_data / "tracks" / "single_face_dlib68.csv"
    with pytest.raises(SystemExit) as stop:
        cli_main(["kpm", "--help"])
    assert stop.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--anchors {auto,jaw,eyes}" in help_text
    assert "0, 16, 27, 33, 39, 42" in help_text and "27, 33, 39, 42, 36, 45" in help_text

    results = {}
    for anchors in ("auto", "jaw", "eyes"):
        out = tmp_path / f"{anchors}.npz"
        assert cli_main(["kpm", str(src), "--anchors", anchors, "--out", str(out)]) == 0
        assert f"anchors: {anchors}" in capsys.readouterr().out
        results[anchors] = load_kpm(out)
        assert results[anchors].meta["options"]["anchors"] == anchors
    fw = FW.load_frontalization_weights("68")
    np.testing.assert_allclose(results["eyes"].X, compute_kpm(table, frontalization=fw, anchors="eyes").X,
                               atol=1e-9)
    np.testing.assert_allclose(results["jaw"].X, results["auto"].X, atol=1e-12)
    assert np.abs(results["eyes"].X - results["auto"].X).max() > 5
    # the default is auto
    out = tmp_path / "default.npz"
    assert cli_main(["kpm", str(src), "--no-frontalize", "--out", str(out)]) == 0
    assert load_kpm(out).meta["options"]["anchors"] == "auto"

    # jaw on BP4D data: one line, exit 2, nothing written
    pts49 = table.points[:, list(L.LAYOUT_49)]
    bp4d = tmp_path / "F001_T1.csv"
    np.savetxt(bp4d, np.concatenate([pts49[..., 0], pts49[..., 1]], axis=1), delimiter=",", fmt="%.4f")
    out = tmp_path / "bp4d.npz"
    capsys.readouterr()
    assert cli_main(["kpm", str(bp4d), "--anchors", "jaw", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "jaw set (0, 16, 27, 33, 39, 42)" in err and str(bp4d) in err and not out.exists()
    assert cli_main(["kpm", str(bp4d), "--anchors", "eyes", "--out", str(out)]) == 0
    assert load_kpm(out).meta["frontalization"].keys() == {"49"}
    # option errors are one line too (exit 2, no usage dump)
    assert cli_main(["kpm", str(src), "--anchors", "chin", "--out", str(out)]) == 2
    assert "[--anchors] invalid choice: 'chin'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# projects
# ---------------------------------------------------------------------------------------------
def test_project_datasets_keep_the_anchors(tmp_path):
    path = tmp_path / "p.dfecs.json"
    project = Project(name="p", datasets=[
        Dataset(name="a", kind="landmarks", paths=[tmp_path], anchors="eyes", frontalization=False),
        Dataset(name="b", kind="landmarks", paths=[tmp_path], anchors="jaw"),
        Dataset(name="c", kind="landmarks", paths=[tmp_path]),
    ])
    saved = save_project(path, project)
    loaded = load_project(path)
    assert loaded == saved
    assert [d.anchors for d in loaded.datasets] == ["eyes", "jaw", "auto"]
    assert not loaded.datasets[0].frontalization
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert [d["anchors"] for d in raw["datasets"]] == ["eyes", "jaw", "auto"]
    # a project file written before the option existed loads as auto
    for d in raw["datasets"]:
        del d["anchors"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert [d.anchors for d in load_project(path).datasets] == ["auto"] * 3
    # a bad value names the field
    raw["datasets"][1]["anchors"] = "chin"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(InputError, match=r"datasets\[1\]\.anchors"):
        load_project(path)
    with pytest.raises(ValueError, match="anchors"):
        Dataset(anchors="chin")
