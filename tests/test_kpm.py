"""KPMs (§2.2), KPM files, frontalization weight files and ``dfecs kpm``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfecs_app.cli.main import main as cli_main
from dfecs_app.core import landmarks as L
from dfecs_app.core.kpm import KPMSet, compute_kpm
from dfecs_app.core.progress import TaskState
from dfecs_app.errors import Cancelled, FormatVersionError, InputError, MissingResourceError
from dfecs_app.io import frontalization_weights as FW
from dfecs_app.io.kpm_file import load_kpm, save_kpm

HYP = settings(max_examples=15, deadline=None, derandomize=True)
FACE_SIZE = 800.0  # jaw anchors 0 and 16 are 800 units apart after registration


def two_subjects(track: np.ndarray) -> L.LandmarkTable:
    """The real man as subject A (all frames) and, mirrored and stretched, subject B."""
    b = track[10:50].copy()
    b[..., 0] = 640 - b[..., 0]
    b = b[:, [*range(16, -1, -1), *range(26, 16, -1), *range(27, 31), *range(35, 30, -1),
              45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
              54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]]
    b *= [1.0, 1.15]
    return L.LandmarkTable.concat([
        L.LandmarkTable.from_frames(track, subject="A", sequence="s1", source="a.csv"),
        L.LandmarkTable.from_frames(b, subject="B", sequence="s1", source="b.csv"),
    ])


def similarity(points: np.ndarray, angle: float, scale: float, shift) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return scale * points @ np.array([[c, s], [-s, c]]) + np.asarray(shift)


# ---------------------------------------------------------------------------------------------
# KPMs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frontalize", [False, True])
@HYP
@given(seed=st.integers(0, 2**31 - 1), max_angle=st.floats(0.0, 1.0), max_log_scale=st.floats(0.0, 3.0))
def test_kpms_ignore_each_frames_own_move_rotation_and_scale(track, weights, frontalize, seed, max_angle, max_log_scale):
    table = two_subjects(track)
    rng = np.random.default_rng(seed)
    n = len(table)
    angle = rng.uniform(-max_angle, max_angle, n)
    scale = np.exp(rng.uniform(-max_log_scale, max_log_scale, n))
    shift = rng.uniform(-5000, 5000, (n, 2))
    moved = np.stack([similarity(p, a, s, t) for p, a, s, t in zip(table.points, angle, scale, shift)])
    fw = weights["68"] if frontalize else None
    ref = compute_kpm(table, frontalization=fw)
    got = compute_kpm(L.LandmarkTable(moved, table.mask, table.subject, table.sequence, table.frame,
                                      table.source), frontalization=fw)
    np.testing.assert_allclose(got.X, ref.X, atol=1e-6 * FACE_SIZE)
    np.testing.assert_array_equal(got.mask, ref.mask)


def test_the_real_smile_moves_the_lip_corners_outward_and_up(track, weights):
    table = L.LandmarkTable.from_frames(track, subject="man", sequence="video", source="single_face")
    for fw in (None, weights["68"]):
        kpm = compute_kpm(table, frontalization=fw)
        pts = L.vec_to_points(kpm.X)
        assert np.all(kpm.X[0] == 0)  # the neutral frame itself
        early, smile = slice(1, 12), slice(24, 66)  # neutral start, broad smile
        # image coordinates: 48 is the mouth corner on the image left, 54 on the image right
        assert pts[smile, 48, 0].mean() < -30 and pts[smile, 54, 0].mean() > 30  # wider
        assert pts[smile, 48, 1].mean() < -8 and pts[smile, 54, 1].mean() < -8  # higher (y down)
        # before the smile the corners only jitter (dlib tracking noise)
        corners = np.linalg.norm(pts[:, [48, 54]], axis=-1)
        assert corners[early].mean() < 0.25 * corners[smile].mean()
        # the registration anchors do not move: it is the expression, not the head
        for idx in (36, 39, 42, 45, 0, 16, 27):
            np.testing.assert_allclose(pts[:, idx], 0.0, atol=1e-9)


@pytest.mark.parametrize("layout, missing", [("66", [60, 64]), ("49", [*range(17), 60, 64])])
def test_66_and_49_point_inputs(track, weights, layout, missing):
    pts, mask = L.expand_to_68(track[:, list(L.LAYOUTS[layout])], layout)
    table = L.LandmarkTable.from_frames(pts, mask, subject="s", sequence="q", source=f"{layout}.csv")
    for fw, neutral in ((None, "first"), (weights.values(), "auto")):
        kpm = compute_kpm(table, frontalization=fw, neutral=neutral)
        assert len(kpm) == len(track)
        np.testing.assert_array_equal(kpm.mask, np.tile(L.layout_mask(layout), (len(track), 1)))
        assert np.all(kpm.X[:, L.feature_indices(missing)] == 0)
        assert np.abs(kpm.X[:, L.feature_indices(range(48, 60))]).max() > 20  # the smile is there
    full = compute_kpm(L.LandmarkTable.from_frames(track, subject="s", sequence="q", source="68"),
                       frontalization=weights["68"])
    part = compute_kpm(table, frontalization=weights.values())
    fmask = part.feature_mask
    if layout == "66":  # same anchors, near-identical frontalization: near-identical KPMs
        assert np.abs(part.X - full.X)[fmask].max() < 6
    else:  # other anchors: same motion, another affine frame
        assert np.corrcoef(part.X[fmask], full.X[fmask])[0, 1] > 0.9


def test_a_point_missing_in_the_neutral_frame_is_missing_in_the_whole_group(track):
    mask = np.ones((len(track), 68), dtype=bool)
    mask[0, 50] = False  # lost in the neutral frame
    mask[7, 57] = False  # lost in one frame only
    table = L.LandmarkTable.from_frames(track, mask, subject="s", sequence="q", source="x")
    kpm = compute_kpm(table)
    assert not kpm.mask[:, 50].any() and np.all(kpm.X[:, [50, 118]] == 0)
    assert not kpm.mask[7, 57] and kpm.mask[8, 57] and np.all(kpm.X[7, [57, 125]] == 0)


def test_frames_that_cannot_be_standardized_are_dropped_and_reported(track, weights):
    mask = np.ones((len(track), 68), dtype=bool)
    mask[5, 33] = False  # affine anchor of both sets
    mask[6, 20] = False  # a brow point: fine without frontalization, no layout with it
    table = L.LandmarkTable.from_frames(track, mask, subject="s", sequence="q", source="x")
    kpm = compute_kpm(table)
    assert len(kpm) == len(track) - 1 and 5 not in kpm.frame and kpm.meta["n_dropped"] == 1
    assert any("dropped 1 of 72" in note for note in kpm.meta["notes"])
    kpm = compute_kpm(table, frontalization=weights.values())
    # frame 6 lacks a 49-layout point: it fits no frontalization layout
    assert len(kpm) == len(track) - 2 and kpm.meta["n_dropped"] == 2


def test_degenerate_frames_are_dropped_not_turned_into_nan(track):
    pts = track.copy()
    pts[9] = pts[9, 30]  # every point on one spot (a tracker's collapsed output)
    table = L.LandmarkTable.from_frames(pts, subject="s", sequence="q", source="x")
    kpm = compute_kpm(table)
    assert len(kpm) == 71 and 9 not in kpm.frame and np.isfinite(kpm.X).all()
    assert any("degenerate" in note for note in kpm.meta["notes"])


def test_single_frame_sequences_are_reported(track):
    table = L.LandmarkTable.concat([
        L.LandmarkTable.from_frames(track[:1], subject="a", sequence="x", source="a.pts"),
        L.LandmarkTable.from_frames(track[1:9], subject="b", sequence="y", source="b.csv"),
    ])
    kpm = compute_kpm(table, group_by="sequence")
    assert np.all(kpm.X[0] == 0)
    assert "1 sequence(s) have a single frame: their KPMs are all zero" in kpm.meta["notes"]
    # the default groups by subject (§2.2)
    default = compute_kpm(table)
    assert default.meta["options"]["group_by"] == "subject"
    assert "1 subject(s) have a single frame: their KPMs are all zero" in default.meta["notes"]


def test_neutral_first_is_the_smallest_frame_id_not_the_first_row(track):
    order = np.r_[30:72, 0:30]  # rows not in frame order
    table = L.LandmarkTable.from_frames(track[order], subject="s", sequence="q", source="x", frame=order)
    kpm = compute_kpm(table, neutral="first")
    assert np.all(kpm.X[kpm.frame == 0] == 0)
    assert kpm.meta["neutral_frames"] == [{"subject": "s", "sequence": "q", "frame": 0}]
    direct = compute_kpm(L.LandmarkTable.from_frames(track, subject="s", sequence="q", source="x"))
    np.testing.assert_allclose(kpm.X, direct.X[order], atol=1e-9)


def test_neutral_frame_number_and_overrides(track):
    table = two_subjects(track)  # B's frames are numbered 0..39
    kpm = compute_kpm(table, neutral=35)
    for subj in ("A", "B"):
        rows = kpm.subject == subj
        assert np.all(kpm.X[rows & (kpm.frame == 35)] == 0)
        assert np.abs(kpm.X[rows & (kpm.frame == 0)]).max() > 1
    with pytest.raises(InputError, match="no frame 50 in subject 'B'"):
        compute_kpm(table, neutral=50)
    kpm = compute_kpm(table, neutral="first", neutral_overrides={("B", "s1"): 12})
    assert np.all(kpm.X[(kpm.subject == "B") & (kpm.frame == 12)] == 0)
    assert np.all(kpm.X[(kpm.subject == "A") & (kpm.frame == 0)] == 0)
    with pytest.raises(InputError, match="neutral frame 99"):
        compute_kpm(table, neutral_overrides={("B", "s1"): 99})
    with pytest.raises(InputError, match="neutral"):
        compute_kpm(table, neutral="middle")


def test_group_by_subject_shares_one_neutral_across_sequences(track):
    table = L.LandmarkTable.concat([
        L.LandmarkTable.from_frames(track[20:40], subject="A", sequence="s2", source="x", frame=range(20)),
        L.LandmarkTable.from_frames(track[:20], subject="A", sequence="s1", source="x"),
    ])
    per_seq = compute_kpm(table, group_by="sequence")
    per_subj = compute_kpm(table, group_by="subject", neutral_overrides={("A", "s1"): 0})
    assert len(per_subj.meta["neutral_frames"]) == 1 and len(per_seq.meta["neutral_frames"]) == 2
    s1 = per_subj.sequence == "s1"
    np.testing.assert_allclose(per_subj.X[s1], per_seq.X[s1], atol=1e-9)
    assert np.abs(per_subj.X[~s1] - per_seq.X[~s1]).max() > 10  # s2 now measured from s1's frame 0


def test_auto_neutral_finds_the_known_resting_frame():
    """Synthetic sequence: a ramp into a smile, then rest with tracking noise; one clean frame."""
    rng = np.random.default_rng(5)
    rest = L.vec_to_points(np.r_[np.linspace(300, 1100, 68), 1000 + 300 * np.sin(np.linspace(0, 6, 68))])
    smile = np.zeros((68, 2))
    smile[48] = [-40, -15]
    smile[54] = [40, -15]
    n = 80
    frames = np.repeat(rest[None], n, axis=0) + rng.normal(0, 3.0, (n, 68, 2))
    frames[:20] += np.linspace(0.2, 1, 20)[:, None, None] * smile  # expressive start
    frames[53] = rest  # the one clean resting frame
    table = L.LandmarkTable.from_frames(frames, subject="s", sequence="q", source="synthetic")
    kpm = compute_kpm(table, neutral="auto")
    assert kpm.meta["neutral_frames"][0]["frame"] == 53
    assert np.all(kpm.X[53] == 0)
    # 'first' takes the expressive frame 0, whose KPMs then show the smile reversed
    first = compute_kpm(table, neutral="first")
    assert L.vec_to_points(first.X)[40:, 54, 0].mean() < -5 < 5 < L.vec_to_points(kpm.X)[:20, 54, 0].mean()


def test_progress_and_cancel(track):
    table = L.LandmarkTable.from_frames(track, subject="s", sequence="q", source="x")
    seen = []
    compute_kpm(table, state=TaskState(seen.append))
    assert seen[-1].stage == "kpm" and seen[-1].fraction == 1.0
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        compute_kpm(table, state=state)


def test_kpmset_select_concat_len(track):
    kpm = compute_kpm(two_subjects(track))
    assert len(kpm) == 112 and kpm.subjects == ["A", "B"]
    a, b = kpm.select(kpm.subject == "A"), kpm.select(np.flatnonzero(kpm.subject == "B"))
    back = KPMSet.concat([a, b])
    np.testing.assert_array_equal(back.X, kpm.X)
    np.testing.assert_array_equal(back.frame, kpm.frame)
    assert kpm.feature_mask.shape == (112, 136)
    with pytest.raises(ValueError, match="136"):
        KPMSet(np.zeros((2, 134)), np.ones((2, 68), bool), ["a"] * 2, ["b"] * 2, [0, 1])


# ---------------------------------------------------------------------------------------------
# KPM files
# ---------------------------------------------------------------------------------------------
def test_kpm_file_round_trip_without_pickles(track, weights, tmp_path):
    kpm = compute_kpm(two_subjects(track), frontalization=weights["68"], neutral="auto")
    path = tmp_path / "kpm.npz"
    save_kpm(path, kpm)
    with np.load(path, allow_pickle=False) as npz:
        assert npz["X"].dtype == np.float64 and npz["X"].shape == (112, 136)
        assert npz["mask"].dtype == bool and npz["subject"].dtype.kind == "U"
        assert npz["frame"].dtype == np.int64
        meta = json.loads(str(npz["meta"]))
    assert meta["format"] == "dfecs-kpm" and meta["format_version"] == 1
    assert meta["options"]["neutral"] == "auto" and meta["sources"] == ["a.csv", "b.csv"]
    assert meta["frontalization"]["68"]["sha256"] == FW.SHA256["frontalization_weights_68.npy"]
    back = load_kpm(path)
    np.testing.assert_array_equal(back.X, kpm.X)
    np.testing.assert_array_equal(back.mask, kpm.mask)
    np.testing.assert_array_equal(back.subject, kpm.subject)
    np.testing.assert_array_equal(back.frame, kpm.frame)
    assert back.meta["neutral_frames"] == kpm.meta["neutral_frames"]


def test_plain_x_files_are_accepted(tmp_path):
    X = np.random.default_rng(0).normal(size=(5, 136))
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", X=X)
    for name in ("x.npy", "x.npz"):
        kpm = load_kpm(tmp_path / name)
        np.testing.assert_array_equal(kpm.X, X)
        assert kpm.mask.all() and kpm.frame.tolist() == [0, 1, 2, 3, 4] and kpm.subject[0] == "x"


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_bad_kpm_files_name_the_problem(tmp_path):
    good = dict(X=np.zeros((3, 136)), mask=np.ones((3, 68), bool), subject=np.array(["a"] * 3),
                sequence=np.array(["b"] * 3), frame=np.arange(3),
                meta=np.array(json.dumps({"format": "dfecs-kpm", "format_version": 1})))
    text = tmp_path / "notes.npz"
    text.write_text("x,y\n1,2\n")
    with pytest.raises(InputError, match="not an NPZ/NPY"):
        load_kpm(text)
    with pytest.raises(InputError, match=r"\[X\] missing array 'X'"):
        load_kpm(_npz(tmp_path / "nox.npz", **{k: v for k, v in good.items() if k != "X"}))
    with pytest.raises(InputError, match=r"\[X\] must have shape \(n, 136\)"):
        load_kpm(_npz(tmp_path / "shape.npz", **{**good, "X": np.zeros((3, 68, 2))}))
    bad = np.zeros((3, 136))
    bad[2, 7] = np.nan
    with pytest.raises(InputError, match=r"\[X\] NaN or inf in 1 row\(s\), first row 2"):
        load_kpm(_npz(tmp_path / "nan.npz", **{**good, "X": bad}))
    with pytest.raises(InputError, match=r"\[mask\] must have shape \(3, 68\)"):
        load_kpm(_npz(tmp_path / "mask.npz", **{**good, "mask": np.ones((3, 136), bool)}))
    with pytest.raises(InputError, match=r"\[subject\] must be 3 strings"):
        load_kpm(_npz(tmp_path / "subj.npz", **{**good, "subject": np.arange(3)}))
    v2 = np.array(json.dumps({"format": "dfecs-kpm", "format_version": 2}))
    with pytest.raises(FormatVersionError, match="format version 2"):
        load_kpm(_npz(tmp_path / "v2.npz", **{**good, "meta": v2}))
    obj = np.empty(3, dtype=object)
    obj[:] = ["a", "b", "c"]
    with pytest.raises(InputError, match="pickled"):
        load_kpm(_npz(tmp_path / "pickle.npz", **{**good, "subject": obj}))
    with pytest.raises(InputError, match="no such file"):
        load_kpm(tmp_path / "absent.npz")
    err = None
    try:
        load_kpm(_npz(tmp_path / "shape2.npz", **{**good, "X": np.zeros((3, 5))}))
    except InputError as e:
        err = str(e)
    assert err is not None and err.startswith(str(tmp_path / "shape2.npz")) and "\n" not in err


def test_saving_is_atomic(tmp_path, track):
    path = tmp_path / "kpm.npz"
    kpm = compute_kpm(L.LandmarkTable.from_frames(track, subject="s", sequence="q", source="x"))
    save_kpm(path, kpm)
    before = path.read_bytes()
    kpm.meta["bad"] = object()  # not JSON: the save fails before anything is written
    with pytest.raises(ValueError, match="JSON"):
        save_kpm(path, kpm)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["kpm.npz"]


# ---------------------------------------------------------------------------------------------
# Frontalization weight files
# ---------------------------------------------------------------------------------------------
def test_weights_load_from_the_env_folder_with_pinned_hashes(shared_data):
    for layout, shape in (("68", (137, 136)), ("66", (133, 132)), ("49", (137, 136))):
        w = FW.load_frontalization_weights(layout)
        assert w.W.shape == shape and w.layout == layout
        assert Path(w.source).parent == shared_data / "frontalization"


def test_a_damaged_copy_is_refused(shared_data, tmp_path, monkeypatch):
    src = shared_data / "frontalization"
    for name in FW.file_names("68"):
        shutil.copy(src / name, tmp_path / name)
    data = bytearray((tmp_path / "frontalization_weights_68.npy").read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the last weight
    (tmp_path / "frontalization_weights_68.npy").write_bytes(bytes(data))
    monkeypatch.setenv(FW.ENV_VAR, str(tmp_path))
    with pytest.raises(MissingResourceError, match="sha256 .* does not match") as err:
        FW.load_frontalization_weights("68")
    assert "--no-frontalize" in str(err.value) and str(tmp_path) in str(err.value)
    # a damaged file found in the user cache
    monkeypatch.delenv(FW.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    FW.cache_dir().mkdir(parents=True)
    for name in FW.file_names("66"):
        shutil.copy(src / name, FW.cache_dir() / name)
    damaged = FW.cache_dir() / "landmarks_mean_face_66.npy"
    damaged.write_bytes(damaged.read_bytes()[:-8] + bytes(8))
    with pytest.raises(MissingResourceError, match="does not match"):
        FW.load_frontalization_weights("66")


def test_only_the_weights_the_data_need_are_loaded(tmp_path, monkeypatch, shared_data):
    mask = np.ones((4, 68), dtype=bool)
    assert list(FW.load_frontalization_for(mask)) == ["68"]
    mask[1, [60, 64]] = False
    mask[2] = L.layout_mask("49")
    assert list(FW.load_frontalization_for(mask)) == ["68", "66", "49"]
    # a folder with only the public 68-point files serves 68-point data
    for name in FW.file_names("68"):
        shutil.copy(shared_data / "frontalization" / name, tmp_path / name)
    assert list(FW.load_frontalization_for(np.ones((2, 68), bool), directory=tmp_path)) == ["68"]
    with pytest.raises(MissingResourceError, match="landmarks_mean_face_66.npy|frontalization_weights_66.npy"):
        FW.load_frontalization_for(mask, directory=tmp_path)


def test_missing_weights_say_how_to_proceed(tmp_path, monkeypatch):
    monkeypatch.setenv(FW.ENV_VAR, str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(MissingResourceError) as err:
        FW.load_frontalization_weights("66")  # neither shipped nor downloaded: no licence stated
    msg = str(err.value)
    assert "frontalization_weights_66.npy" in msg and FW.ENV_VAR in msg and "--no-frontalize" in msg
    with pytest.raises(MissingResourceError, match="not found"):
        FW.load_frontalization_weights("68", directory=tmp_path)


# ---------------------------------------------------------------------------------------------
# dfecs kpm
# ---------------------------------------------------------------------------------------------

def test_cli_writes_a_kpm_file_and_a_summary(track, shared_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "kpm.npz"
    src = shared_data / "tracks" / "single_face_dlib68.csv"
    assert cli_main(["kpm", str(src), "--neutral", "first", "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "72 KPMs" in summary and "subjects: 1" in summary and "frontalization: 68-point" in summary
    kpm = load_kpm(out)
    table = L.LandmarkTable.from_frames(track, subject="x", sequence="y", source=str(src))
    expected = compute_kpm(table, frontalization=FW.load_frontalization_weights("68"))
    np.testing.assert_allclose(kpm.X, expected.X, atol=1e-9)
    assert kpm.meta["options"]["frontalize"] is True


def test_cli_errors_are_one_line_and_write_nothing(shared_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "kpm.npz"
    src = shared_data / "tracks" / "single_face_dlib68.csv"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["kpm", str(src), "--frontalization-dir", str(empty), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--no-frontalize" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert cli_main(["kpm", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "empty"]
    # on request the good inputs are still processed and the bad ones listed
    assert cli_main(["kpm", str(bad), str(src), "--skip-bad-files", "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "72 KPMs" in summary and f"note: skipped: {bad}" in summary
    assert cli_main(["kpm", str(src), "--no-frontalize", "--neutral", "auto", "--out", str(out)]) == 0
    assert load_kpm(out).meta["frontalization"] is None


def test_cli_on_many_real_inputs_at_once(shared_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "kpm.npz"
    tracks = shared_data / "tracks"
    code = cli_main(["kpm", str(tracks / "OpenFace_Test.csv"), str(tracks / "news_sample"),
                 str(tracks / "single_face_dlib68.csv"), str(shared_data / "pts"),
                 "--neutral", "auto", "--out", str(out)])
    assert code == 0
    summary = capsys.readouterr().out
    kpm = load_kpm(out)
    n_files = 1 + len(list((tracks / "news_sample").glob("*.csv"))) + 1 + len(list((shared_data / "pts").glob("*.pts")))
    assert len(np.unique(np.char.add(kpm.subject, kpm.sequence))) == n_files == 15
    assert np.isfinite(kpm.X).all() and kpm.mask.all()
    assert "single frame" in summary  # the three hand-annotated .pts faces
    # every sequence's own neutral row is zero, and real motion elsewhere is tens of units
    assert np.abs(kpm.X).max() > 20
    assert np.all(kpm.X[np.abs(kpm.X).sum(axis=1) == 0].shape[0] >= n_files)
