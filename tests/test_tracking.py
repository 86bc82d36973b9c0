"""The dlib tracker on the real video and images of ../shared/data."""

from __future__ import annotations

import argparse
import csv
import sys

import cv2
import numpy as np
import pytest

from dfecs_app.cli import track as track_cli
from dfecs_app.core.progress import TaskState
from dfecs_app.errors import Cancelled, InputError, MissingResourceError
from dfecs_app.io import tracking
from dfecs_app.io.readers import detect_format, read_landmarks
from dfecs_app.io.tracking import (
    TRACK_COLUMNS,
    detect_landmarks,
    to_gray,
    track_video,
    write_track_csv,
)


@pytest.fixture(scope="module")
def reference(shared_data):
    """Reference track (dlib-bin 20.0.1 + face-recognition-models 0.3.0), read with csv."""
    with open(shared_data / "tracks" / "single_face_dlib68.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    col = {c: j for j, c in enumerate(header)}
    pts = np.array([[[float(r[col[f"x_{i}"]]), float(r[col[f"y_{i}"]])] for i in range(68)]
                    for r in body])
    box = np.array([[int(r[col[c]]) for c in ("face_left", "face_top", "face_right", "face_bottom")]
                    for r in body])
    return header, pts, box


@pytest.fixture(scope="module")
def video_track(shared_data):
    reports = []
    result = track_video(shared_data / "videos" / "single_face.mp4", TaskState(reports.append),
                         detect="every-frame")
    return result, reports


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dfecs")
    track_cli.register(parser.add_subparsers())
    args = parser.parse_args(["track", *argv])
    return args.func(args)


def test_video_matches_reference_within_1px(video_track, reference):
    result, reports = video_track
    _, ref_pts, ref_box = reference
    assert len(result) == 72 and result.detected.all()
    assert np.abs(result.points - ref_pts).max() <= 1.0
    np.testing.assert_array_equal(result.box, ref_box)
    np.testing.assert_allclose(result.time_s[:4], [0, 1 / 30, 2 / 30, 3 / 30])
    assert reports[-1].fraction == 1.0 and reports[0].stage == "track"


def test_csv_has_reference_layout_and_reads_back(video_track, reference, shared_data, tmp_path):
    result, _ = video_track
    out = tmp_path / "tracks.csv"
    write_track_csv(out, result)
    header, ref_pts, _ = reference
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == header == list(TRACK_COLUMNS)
    ref_lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    assert lines == ref_lines  # per-frame detection reproduces the reference byte for byte
    assert detect_format(out) == "dfecs_track"
    table = read_landmarks(out)
    np.testing.assert_array_equal(table.points, ref_pts)


def test_detect_landmarks_on_image(shared_data, reference):
    bgr = cv2.imread(str(shared_data / "faces" / "single_face_frame0.png"))
    rgb = bgr[..., ::-1]
    pts = detect_landmarks(rgb)
    assert pts.shape == (68, 2)
    np.testing.assert_array_equal(pts, reference[1][0])  # the PNG is frame 0 of the video
    np.testing.assert_array_equal(detect_landmarks(bgr), pts)  # channel order is irrelevant
    assert detect_landmarks(np.full((240, 320, 3), 128, np.uint8)) is None
    assert to_gray(np.array([[[10, 20, 31]]], np.uint8)).tolist() == [[20]]  # (10+20+31)//3


def test_cli_images_one_sequence_with_a_faceless_frame(shared_data, reference, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.zeros((200, 200, 3), np.uint8))
    out = tmp_path / "imgs.csv"
    code = run_cli(str(shared_data / "faces" / "single_face_frame0.png"), str(blank),
                   str(shared_data / "pts" / "takeo.ppm"), "--out", str(out))
    assert code == 0
    rows = out.read_text().splitlines()
    assert len(rows) == 4 and rows[2] == "1,,0" + "," * (len(TRACK_COLUMNS) - 3)
    table = read_landmarks(out)
    assert table.frame.tolist() == [0, 2]
    assert "frames 1" in table.notes[0]
    np.testing.assert_array_equal(table.points[0], reference[1][0])
    takeo = read_landmarks(shared_data / "pts" / "takeo.pts").points[0]  # hand annotation
    eye_dist = np.linalg.norm(takeo[36:42].mean(0) - takeo[42:48].mean(0))
    err = np.linalg.norm(table.points[1] - takeo, axis=1).mean()
    assert err < 0.1 * eye_dist


def test_cli_several_sequences_need_a_directory(shared_data, tmp_path):
    img = shared_data / "faces" / "single_face_frame0.png"
    sub = tmp_path / "seq"
    sub.mkdir()
    cv2.imwrite(str(sub / "a.png"), cv2.imread(str(img)))
    with pytest.raises(InputError, match="give a directory") as info:
        run_cli(str(img), str(sub), "--out", str(tmp_path / "x.csv"))
    assert info.value.field == "--out"
    assert run_cli(str(img), str(sub), "--out", str(tmp_path / "out"), "--jobs", "1") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        "seq.csv", "single_face_frame0.csv"]
    with pytest.raises(InputError, match="no such file"):
        run_cli(str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "y.csv"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="video") as info:
        run_cli(str(bad), "--out", str(tmp_path / "z.csv"))
    assert info.value.path == str(bad)
    assert not (tmp_path / "z.csv").exists()


def test_cancel_stops_tracking(shared_data):
    calls = []

    def on_progress(p):
        calls.append(p)
        if len(calls) == 3:
            state.cancel()

    state = TaskState(on_progress)
    with pytest.raises(Cancelled):
        track_video(shared_data / "videos" / "single_face.mp4", state)
    assert len(calls) == 3


def test_missing_dlib_says_how_to_install(monkeypatch):
    tracking._models.cache_clear()
    monkeypatch.setitem(sys.modules, "dlib", None)  # what an absent package looks like
    try:
        with pytest.raises(MissingResourceError, match=r"pip install dfecs-studio\[track\]"):
            detect_landmarks(np.zeros((10, 10), np.uint8))
    finally:
        tracking._models.cache_clear()


@pytest.fixture(scope="module")
def gap_video(shared_data, tmp_path_factory):
    """The real video, 12 blank frames, then the video again shifted 60 px right (mp4v)."""
    cap = cv2.VideoCapture(str(shared_data / "videos" / "single_face.mp4"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    seq = frames[:40] + [np.zeros_like(frames[0])] * 12 + [np.roll(f, 60, axis=1) for f in frames[:40]]
    path = tmp_path_factory.mktemp("gap") / "gap.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for f in seq:
        writer.write(f)
    writer.release()
    return path


def test_tracker_propagates_most_frames_within_a_pixel_of_per_frame_detection(video_track, shared_data):
    every, _ = video_track
    fast = track_video(shared_data / "videos" / "single_face.mp4")
    assert fast.detected.all()
    assert fast.propagated.sum() >= 60  # detected on frame 0 and on the periodic checks only
    assert not fast.propagated[0]
    diff = np.abs(fast.points - every.points)
    assert np.median(diff) <= 1.0 and np.percentile(diff, 99) <= 3.0
    detected_rows = ~fast.propagated  # a detection is the per-frame detector's own result
    np.testing.assert_array_equal(fast.points[detected_rows], every.points[detected_rows])


def test_tracker_loses_the_face_on_blank_frames_and_finds_it_again(gap_video):
    every = track_video(gap_video, detect="every-frame")
    fast = track_video(gap_video)
    np.testing.assert_array_equal(fast.detected, every.detected)  # none lost, none invented
    assert not fast.detected[40:52].any() and fast.detected[52:].all()
    assert not fast.propagated[52]  # found again by the detector
    both = fast.detected
    assert np.median(np.abs(fast.points[both] - every.points[both])) <= 1.0


def test_tracked_csv_has_a_propagated_column_and_reads_back(shared_data, tmp_path):
    out = tmp_path / "t.csv"
    assert run_cli(str(shared_data / "videos" / "single_face.mp4"), "--out", str(out)) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(TRACK_COLUMNS) + ",propagated"
    assert lines[1].endswith(",0") and lines[2].endswith(",1")
    assert len(read_landmarks(out)) == 72
    ref = tmp_path / "ref.csv"
    assert run_cli(str(shared_data / "videos" / "single_face.mp4"), "--detect", "every-frame",
                   "--out", str(ref)) == 0
    assert ref.read_bytes() == (shared_data / "tracks" / "single_face_dlib68.csv").read_bytes()


def test_fast_grey_equals_dlibs_mean():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    expect = (img.astype(np.uint16).sum(axis=2) // 3).astype(np.uint8)
    np.testing.assert_array_equal(tracking.gray_into(img, np.empty((37, 53), np.uint8)), expect)
    np.testing.assert_array_equal(to_gray(img), expect)
