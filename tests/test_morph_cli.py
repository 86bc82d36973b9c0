"""``dfecs morph`` and the landmark round trip on a real closed-mouth face: a model trained on
the news_sample tracks, every AU morphed onto faces/single_face_frame0.png (its .pts as is,
61/67 on one pixel) with its largest keypoint move at 6 % of the face width; dlib's 68-point
predictor finds the requested motion again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfecs_app.cli.main import main
from dfecs_app.core.projection import au_displacements, face_width, max_move_intensity
from dfecs_app.io.images import read_image
from dfecs_app.io.model_file import load_model
from dfecs_app.io.readers import read_landmarks
from dfecs_app.render.morph import morph_au
from dfecs_app.render.morph_check import landmark_round_trip


@pytest.fixture(scope="module")
def closed_face(shared_data):  # noqa: ANN001, ANN201
    png = shared_data / "faces" / "single_face_frame0.png"
    pts = shared_data / "faces" / "single_face_frame0.pts"
    return png, pts, read_image(png), read_landmarks([pts]).points[0]


@pytest.mark.slow
def test_round_trip_recovers_the_requested_motion(news_model, closed_face, capsys) -> None:  # noqa: ANN001
    _, model_path = news_model
    _, _, image, points = closed_face
    model = load_model(model_path)
    scales = max_move_intensity(points, model.components, 0.06)
    trip = landmark_round_trip(image, points, model.components, scales)
    np.testing.assert_allclose(trip.largest_move, 0.06 * face_width(points))
    with capsys.disabled():
        print("\nround trip (fraction of requested motion recovered by dlib, 6 % of face width):")
        for name, r, c in zip(model.names, trip.recovered, trip.capped):
            print(f"  {name:8s} {r:5.2f}{'  (capped)' if c else ''}")
        print(f"  median {trip.median:.2f}, worst {np.nanmin(trip.recovered):.2f}")
    assert trip.median >= 0.75
    assert np.nanmin(trip.recovered) > 0.3  # no AU is lost


def test_dfecs_morph_writes_one_png_per_au_and_the_scales(news_model, closed_face, tmp_path, capsys) -> None:  # noqa: ANN001
    kpm, model_path = news_model
    png, pts, image, points = closed_face
    model = load_model(model_path)
    out = tmp_path / "max"
    assert main(["morph", str(model_path), str(png), "--landmarks", str(pts), "--out", str(out),
                 "--max-move", "0.06"]) == 0
    desc = json.loads((out / "projected_aus.json").read_text())
    assert desc["max_move"] == 0.06 and desc["intensity"] is None
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == [f"{i + 1:02d}_AU_{i + 1}.png" for i in range(model.n_components)]
    scales = max_move_intensity(points, model.components, 0.06)
    np.testing.assert_allclose([a["scale"] for a in desc["aus"]], scales)
    # the same function as the GUI: the PNG is morph_au at that scale
    np.testing.assert_array_equal(read_image(out / files[0]),
                                  morph_au(image, points, model.components[0], scales[0]))

    # --intensity in the p95 unit, computed from the KPMs (this model has no au_stats)
    out2 = tmp_path / "int"
    capsys.readouterr()
    assert main(["morph", str(model_path), str(png), "--landmarks", str(pts), "--out", str(out2),
                 "--intensity", "0.5", "--kpm", str(kpm)]) == 0
    desc2 = json.loads((out2 / "projected_aus.json").read_text())
    assert desc2["intensity"] == 0.5 and desc2["unit_source"] in ("kpm", "model")
    assert "95th-percentile" in desc2["unit_definition"]
    np.testing.assert_allclose([a["scale"] for a in desc2["aus"]],
                               0.5 * np.array(desc2["p95_activation"]))
    for a in desc2["aus"]:
        if not a["capped"]:
            assert a["applied_intensity"] == pytest.approx(0.5)
    assert "intensity 0.5" in capsys.readouterr().out
    moves = np.linalg.norm(au_displacements(points, model.components,
                                            np.array([a["scale"] for a in desc2["aus"]])),
                           axis=-1).max(axis=1)
    assert (moves > 0).all()


def test_dfecs_morph_bad_face_is_one_line(news_model, closed_face, shared_data, tmp_path, capsys) -> None:  # noqa: ANN001
    _, model_path = news_model
    png, _, _, _ = closed_face
    code = main(["morph", str(model_path), str(png), "--landmarks",
                 str(shared_data / "pts" / "breakingbad.pts"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "breakingbad.pts" in err[0] and "lie outside the 640x360 image" in err[0]
    assert "landmarks 0, 1," in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o").exists()
