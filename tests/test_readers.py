"""Landmark readers on the real files of ../shared/data and on files synthesized in the real
layouts of CK+, DISFA, BP4D, 300-W, OpenFace (new), NumPy and generic CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from dfecs_app.core.landmarks import LAYOUT_49, LAYOUT_66, LandmarkTable
from dfecs_app.core.progress import TaskState
from dfecs_app.errors import InputError
from dfecs_app.io.readers import (
    FORMATS,
    ReadResult,
    detect_format,
    read_landmark_files,
    read_landmarks,
)


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV, read with the csv module (independently of the readers)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, skipinitialspace=True))
    return rows[0], rows[1:]


def xy_of_row(header: list[str], row: list[str]) -> np.ndarray:
    return np.array([[float(row[header.index(f"x_{i}")]), float(row[header.index(f"y_{i}")])]
                     for i in range(68)])


@pytest.fixture(scope="module")
def dlib_track(shared_data) -> np.ndarray:
    """The 72 frames of tracks/single_face_dlib68.csv as (72, 68, 2), read with csv."""
    header, rows = csv_rows(shared_data / "tracks" / "single_face_dlib68.csv")
    return np.stack([xy_of_row(header, r) for r in rows])


# ---------------------------------------------------------------------------------------------
# Real files
# ---------------------------------------------------------------------------------------------
def test_openface_real_file(shared_data):
    path = shared_data / "tracks" / "OpenFace_Test.csv"
    assert detect_format(path) == "openface"
    table = read_landmarks(path)
    header, rows = csv_rows(path)
    assert len(table) == 100 == len(rows)
    assert table.frame.tolist() == list(range(1, 101))
    assert table.points[0, 0].tolist() == [277.276, float(rows[0][header.index("y_0")])]
    np.testing.assert_array_equal(table.points[57], xy_of_row(header, rows[57]))
    assert table.mask.all()
    assert set(table.subject) == {"OpenFace_Test"} and set(table.sequence) == {"OpenFace_Test"}
    assert table.notes == []


def test_openface_new_layout_drops_failed_frames(shared_data, tmp_path):
    header, rows = csv_rows(shared_data / "tracks" / "OpenFace_Test.csv")
    i_s, i_c = header.index("success"), header.index("confidence")
    rows = [list(r) for r in rows[:10]]
    rows[3][i_s] = "0"
    rows[4][i_c] = "0.2"
    new = tmp_path / "clip.csv"
    with open(new, "w", newline="") as fh:  # OpenFace >= 2.1: no spaces, face_id after frame
        w = csv.writer(fh)
        w.writerow(header[:1] + ["face_id"] + header[1:])
        for r in rows:
            w.writerow(r[:1] + ["0"] + r[1:])
    assert detect_format(new) == "openface"
    table = read_landmarks(new)
    assert table.frame.tolist() == [1, 2, 3, 6, 7, 8, 9, 10]
    assert len(table.notes) == 1 and "dropped 2 of 10 frames" in table.notes[0]
    assert "frames 4, 5" in table.notes[0] and str(new) in table.notes[0]
    np.testing.assert_array_equal(table.points[3], xy_of_row(header, rows[5]))


@pytest.mark.parametrize("clip", [f"{i:03d}" for i in range(1, 11)])
def test_pyfeat_news_sample(shared_data, clip):
    path = shared_data / "tracks" / "news_sample" / f"{clip}.csv"
    assert detect_format(path) == "pyfeat"
    table = read_landmarks(path)
    header, rows = csv_rows(path)
    assert len(table) == len(rows) >= 14
    assert table.frame.tolist() == [int(r[header.index("frame")]) for r in rows]
    np.testing.assert_array_equal(table.points[-1], xy_of_row(header, rows[-1]))
    assert set(table.subject) == {clip}


def test_pyfeat_no_face_rows_dropped_and_reported(shared_data, tmp_path):
    header, rows = csv_rows(shared_data / "tracks" / "news_sample" / "002.csv")
    for j, name in enumerate(header):
        if name.startswith(("x_", "y_")):
            rows[2][j] = ""
            rows[5][j] = "nan"
    path = tmp_path / "002.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    table = read_landmarks(path)
    assert len(table) == len(rows) - 2
    assert 4 not in table.frame and 10 not in table.frame
    assert "no face" in table.notes[0] and "frames 4, 10" in table.notes[0]


def test_whole_news_sample_folder(shared_data):
    table = read_landmarks(shared_data / "tracks" / "news_sample")
    assert len(table.groups()) == 10
    assert len(table) == 208


@pytest.mark.parametrize("name", ["takeo", "einstein", "breakingbad"])
def test_pts_files_are_made_zero_based(shared_data, name):
    path = shared_data / "pts" / f"{name}.pts"
    assert detect_format(path) == "pts"
    lines = path.read_text().splitlines()
    first = [float(v) for v in lines[3].split()]
    table = read_landmarks(path)
    assert len(table) == 1 and table.mask.all()
    assert table.points[0, 0].tolist() == [first[0] - 1, first[1] - 1]
    assert table.subject[0] == name


def test_pts_frame0_matches_dlib_track(shared_data, dlib_track):
    table = read_landmarks(shared_data / "faces" / "single_face_frame0.pts")
    np.testing.assert_array_equal(table.points[0], dlib_track[0])


def test_three_pts_in_one_folder_are_three_subjects(shared_data):
    table = read_landmarks(shared_data / "pts")  # takeo.ppm is not a landmark file
    assert sorted(table.subject) == ["breakingbad", "einstein", "takeo"]
    assert len(table.groups()) == 3


def test_dlib_track_csv(shared_data, dlib_track):
    path = shared_data / "tracks" / "single_face_dlib68.csv"
    assert detect_format(path) == "dfecs_track"
    table = read_landmarks(path)
    assert len(table) == 72 and table.frame.tolist() == list(range(72))
    np.testing.assert_array_equal(table.points, dlib_track)


def test_dlib_track_undetected_frames_dropped(shared_data, tmp_path):
    lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    row = lines[6].split(",")
    lines[6] = ",".join(row[:2] + ["0"] + [""] * (len(row) - 3))
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines[:11]) + "\n")
    table = read_landmarks(path)
    assert table.frame.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert "dropped 1 of 10 frames (no face detected): frames 5" in table.notes[0]


# ---------------------------------------------------------------------------------------------
# Synthesized datasets in their real layouts
# ---------------------------------------------------------------------------------------------
def write_ckplus(path: Path, points: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"   {x:.7e}   {y:.7e}\n" for x, y in points))


@pytest.fixture
def ckplus_tree(tmp_path, dlib_track) -> Path:
    root = tmp_path / "CK+"
    for subj, seq, frames in (("S005", "001", (1, 2, 10)), ("S010", "002", (1, 2))):
        for k, f in enumerate(frames):
            name = f"{subj}_{seq}_{f:08d}_landmarks.txt"
            write_ckplus(root / "Landmarks" / subj / seq / name, dlib_track[10 * k + f])
    emo = root / "Emotion" / "S005" / "001" / "S005_001_00000010_emotion.txt"
    emo.parent.mkdir(parents=True)
    emo.write_text("   3.0000000e+00\n")
    return root


def test_ckplus_tree(ckplus_tree, dlib_track):
    res = read_landmark_files(ckplus_tree)
    table = res.table
    assert res.errors == [] and len(res.skipped) == 1  # the emotion file
    assert table.subject.tolist() == ["S005"] * 3 + ["S010"] * 2
    assert table.sequence.tolist() == ["001"] * 3 + ["002"] * 2
    assert table.frame.tolist() == [1, 2, 10, 1, 2]  # numeric, not text, order
    np.testing.assert_allclose(table.points[2], dlib_track[20 + 10])
    assert table.source[2].endswith("S005_001_00000010_landmarks.txt")


def test_ckplus_single_file_and_sequence_folder(ckplus_tree, dlib_track):
    seq = ckplus_tree / "Landmarks" / "S005" / "001"
    one = seq / "S005_001_00000002_landmarks.txt"
    assert detect_format(one) == "ckplus"
    t1 = read_landmarks(one)
    assert (t1.subject[0], t1.sequence[0], t1.frame[0]) == ("S005", "001", 2)
    np.testing.assert_allclose(t1.points[0], dlib_track[12])
    assert read_landmarks(seq).frame.tolist() == [1, 2, 10]


def test_disfa_mat_frames(tmp_path, dlib_track):
    folder = tmp_path / "Landmark_Points" / "SN001" / "tmp_frame_lm"
    folder.mkdir(parents=True)
    pts66 = dlib_track[:, list(LAYOUT_66)]
    for f in (1, 2, 3):
        scipy.io.savemat(folder / f"l{f:04d}_lm.mat", {"pts": pts66[f]})
    assert detect_format(folder / "l0001_lm.mat") == "disfa"
    table = read_landmarks(tmp_path / "Landmark_Points")
    assert table.subject.tolist() == ["SN001"] * 3 and table.frame.tolist() == [1, 2, 3]
    assert not table.mask[:, [60, 64]].any() and table.mask.sum() == 3 * 66
    np.testing.assert_array_equal(table.points[:, list(LAYOUT_66)], pts66[1:4])
    assert (table.points[:, [60, 64]] == 0).all()


def test_disfa_text_points_and_interleaved_rows(tmp_path, dlib_track):
    pts66 = dlib_track[:, list(LAYOUT_66)]
    one = tmp_path / "frame_0007.txt"
    np.savetxt(one, pts66[7], fmt="%.3f")
    assert detect_format(one) == "disfa"
    t = read_landmarks(one)
    np.testing.assert_allclose(t.points[0, list(LAYOUT_66)], pts66[7])
    assert t.frame[0] == 7 and not t.mask[0, 60]
    rows = tmp_path / "SN002.txt"  # x1 y1 x2 y2 ... per frame, as DISFA exports
    np.savetxt(rows, pts66[:30].reshape(30, 132), fmt="%.5f", delimiter=" ")
    assert detect_format(rows) == "disfa"
    t = read_landmarks(rows)
    np.testing.assert_allclose(t.points[:, list(LAYOUT_66)], pts66[:30])
    assert "interleaved" in t.notes[0]


def test_bp4d_49_points(tmp_path, dlib_track):
    pts49 = dlib_track[:, list(LAYOUT_49)]
    path = tmp_path / "F001_T1.csv"  # planar rows x_0..x_48, y_0..y_48, no header
    np.savetxt(path, np.concatenate([pts49[..., 0], pts49[..., 1]], axis=1), delimiter=",",
               fmt="%.4f")
    assert detect_format(path) == "bp4d"
    t = read_landmarks(path)
    assert (t.subject[0], t.sequence[0]) == ("F001", "T1") and len(t) == 72
    np.testing.assert_allclose(t.points[:, list(LAYOUT_49)], pts49)
    assert not t.mask[:, :17].any() and not t.mask[:, [60, 64]].any()
    assert t.mask.sum(axis=1).tolist() == [49] * 72
    assert "planar" in t.notes[0]
    txt = tmp_path / "F002" / "T3" / "0005.txt"
    txt.parent.mkdir(parents=True)
    np.savetxt(txt, pts49[5])
    assert detect_format(txt) == "bp4d"
    t = read_landmarks(txt, format="bp4d")
    np.testing.assert_allclose(t.points[0, list(LAYOUT_49)], pts49[5])


def test_npy_and_npz(tmp_path, dlib_track):
    np.save(tmp_path / "a.npy", dlib_track)
    np.savez(tmp_path / "b.npz", points=dlib_track[:5], frame=np.arange(10, 15),
             subject=np.array(["p1"] * 5))
    np.savez(tmp_path / "c.npz", dlib_track[:, list(LAYOUT_66)])
    for f in ("a.npy", "b.npz", "c.npz"):
        assert detect_format(tmp_path / f) == "npy"
    a = read_landmarks(tmp_path / "a.npy")
    np.testing.assert_array_equal(a.points, dlib_track)
    b = read_landmarks(tmp_path / "b.npz")
    assert b.frame.tolist() == list(range(10, 15)) and set(b.subject) == {"p1"}
    c = read_landmarks(tmp_path / "c.npz")
    assert c.mask.sum() == 72 * 66 and not c.mask[:, 64].any()


def test_generic_csv_with_ids_and_49_points(tmp_path, dlib_track):
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "frame"] + [f"y_{i}" for i in range(68)] + [f"x_{i}" for i in range(68)])
        for k in range(4):
            w.writerow([f"p{k // 2}", k] + dlib_track[k, :, 1].tolist() + dlib_track[k, :, 0].tolist())
    assert detect_format(path) == "csv"
    t = read_landmarks(path)
    np.testing.assert_array_equal(t.points, dlib_track[:4])
    assert t.subject.tolist() == ["p0", "p0", "p1", "p1"] and len(t.groups()) == 2
    p49 = tmp_path / "small.csv"
    pts49 = dlib_track[:3, list(LAYOUT_49)]
    header = [f"x_{i}" for i in range(49)] + [f"y_{i}" for i in range(49)]
    body = np.concatenate([pts49[..., 0], pts49[..., 1]], axis=1)
    np.savetxt(p49, body, delimiter=",", header=",".join(header), comments="", fmt="%.2f")
    t = read_landmarks(p49)
    np.testing.assert_allclose(t.points[:, list(LAYOUT_49)], pts49)


def test_headerless_planar_68_rows(tmp_path, dlib_track):
    path = tmp_path / "rows.txt"
    np.savetxt(path, np.concatenate([dlib_track[..., 0], dlib_track[..., 1]], axis=1))
    assert detect_format(path) == "csv"
    np.testing.assert_allclose(read_landmarks(path).points, dlib_track)


def test_same_names_in_two_folders_do_not_mix(shared_data, tmp_path):
    src = (shared_data / "tracks" / "news_sample" / "001.csv").read_bytes()
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "001.csv").write_bytes(src)
    table = read_landmarks([tmp_path / "a", tmp_path / "b"])
    assert len(table.groups()) == 2
    assert sorted(set(table.sequence)) == ["a/001", "b/001"]
    assert any("renamed" in n for n in table.notes)


def test_progress_reports_and_format_names(shared_data):
    seen = []
    state = TaskState(seen.append)
    read_landmarks(shared_data / "tracks", progress=state)
    assert seen[-1].fraction == 1.0 and all(p.stage == "read" for p in seen)
    assert len(seen) >= 12
    assert set(FORMATS) >= {"openface", "pyfeat", "dfecs_track", "ckplus", "disfa", "bp4d",
                            "pts", "csv", "npy"}


# ---------------------------------------------------------------------------------------------
# Bad input: one InputError naming the file (and line)
# ---------------------------------------------------------------------------------------------
def expect_error(path, match: str, line: int | None = None, field: str | None = None, **kw):
    with pytest.raises(InputError, match=match) as info:
        read_landmarks(path, **kw)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    if line is not None:
        assert err.line == line and f"{path}:{line}:" in str(err)
    if field is not None:
        assert err.field == field
    assert "\n" not in str(err)
    return err


def test_empty_file(tmp_path):
    for name in ("e.csv", "e.txt", "e.pts", "e.npy", "e.mat"):
        (tmp_path / name).write_bytes(b"")
        expect_error(tmp_path / name, "empty file")
    (tmp_path / "blank.csv").write_text("\n  \n")
    expect_error(tmp_path / "blank.csv", "empty file")


def test_wrong_column_count(shared_data, tmp_path):
    lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0]
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(lines[:8]) + "\n")
    expect_error(path, "142 fields, expected 143", line=5)


def test_nan_and_inf_coordinates(shared_data, tmp_path):
    lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    header = lines[0].split(",")
    for k, bad in enumerate(("nan", "inf", "")):
        row = lines[3].split(",")
        row[header.index("y_12")] = bad
        path = tmp_path / f"bad{k}.csv"
        path.write_text("\n".join(lines[:3] + [",".join(row)] + lines[4:6]) + "\n")
        expect_error(path, "a number is required", line=4, field="y_12")
    row = lines[2].split(",")
    row[header.index("x_3")] = "abc"
    path = tmp_path / "text.csv"
    path.write_text("\n".join(lines[:2] + [",".join(row)]) + "\n")
    expect_error(path, "not a number: 'abc'", line=3, field="x_3")
    ck = tmp_path / "S001_001_00000001_landmarks.txt"
    ck.write_text("   1.0e+02   2.0e+02\n" * 40 + "   nan   2.0e+02\n" + "   1.0e+02   2.0e+02\n" * 27)
    expect_error(ck, "a number is required", line=41)


def test_67_points(tmp_path, dlib_track):
    txt = tmp_path / "S001_001_00000001_landmarks.txt"
    write_ckplus(txt, dlib_track[0, :67])
    expect_error(txt, "67 points; expected 68, 66 or 49")
    pts = tmp_path / "face.pts"
    pts.write_text("version: 1\nn_points: 67\n{\n" + "1 2\n" * 67 + "}\n")
    expect_error(pts, "67 points")
    pts.write_text("version: 1\nn_points: 68\n{\n" + "1 2\n" * 67 + "}\n")
    expect_error(pts, "n_points: 68 but 67 points follow", line=71)
    header = ",".join([f"x_{i}" for i in range(67)] + [f"y_{i}" for i in range(67)])
    csvp = tmp_path / "g.csv"
    csvp.write_text(header + "\n" + ",".join(["1"] * 134) + "\n")
    expect_error(csvp, "67 points", line=1)
    np.save(tmp_path / "a.npy", dlib_track[:2, :67])
    expect_error(tmp_path / "a.npy", "67 points")
    scipy.io.savemat(tmp_path / "f.mat", {"pts": dlib_track[0, :67]})
    expect_error(tmp_path / "f.mat", "67 points")
    write_ckplus(txt, dlib_track[0])
    expect_error(txt, "68 points; expected 66", format="disfa")


def test_non_utf8_file(shared_data, tmp_path):
    data = (shared_data / "tracks" / "single_face_dlib68.csv").read_bytes().split(b"\n")
    data[3] = data[3].replace(b"1,", b"\xe9,", 1)
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\n".join(data[:6]))
    expect_error(path, "not UTF-8", line=4)


def test_directory_without_landmark_files(tmp_path, shared_data):
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.md").write_text("hello")
    expect_error(empty, "no landmark files")
    other = tmp_path / "other"
    other.mkdir()
    (other / "S005_001_00000001_emotion.txt").write_text("   3.0000000e+00\n")
    expect_error(other, "no landmark files")
    expect_error(tmp_path / "missing.csv", "no such file")


def test_other_bad_binaries(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expect_error(tmp_path / "obj.npy", "unpickling")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    expect_error(tmp_path / "junk.npz", "not a NumPy")
    scipy.io.savemat(tmp_path / "nopts.mat", {"shape": np.zeros((66, 2))})
    expect_error(tmp_path / "nopts.mat", "no 'pts' array")
    (tmp_path / "table.csv").write_text("a,b,c\n1,2,3\n")
    expect_error(tmp_path / "table.csv", "no landmark columns", line=1)


def test_collect_reads_good_files_and_reports_bad(shared_data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    good = shared_data / "tracks" / "single_face_dlib68.csv"
    with pytest.raises(InputError, match="empty file"):
        read_landmarks([good, bad])
    res = read_landmark_files([good, bad, tmp_path / "gone.pts"])
    assert isinstance(res, ReadResult) and isinstance(res.table, LandmarkTable)
    assert len(res.table) == 72 and res.files == [good]
    assert [e.path for e in res.errors] == [str(bad), str(tmp_path / "gone.pts")]
    table = read_landmarks([good, bad], errors="collect")
    assert len(table) == 72 and table.notes == [f"skipped: {bad}: empty file"]
    with pytest.raises(InputError, match=r"empty file \(and 1 more bad inputs\)"):
        read_landmarks([bad, tmp_path / "gone.pts"], errors="collect")


def test_forced_format_and_unknown_format(shared_data):
    path = shared_data / "tracks" / "single_face_dlib68.csv"
    assert len(read_landmarks(path, format="csv")) == 72  # generic reading of the same columns
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read_landmarks(path, format="xml")
