"""Code panel: code the real video with DFECS/PCA models, seek by clicking the timeline, export;
Evaluate takes landmark files as test sets prepared with the model's recipe."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF, Qt

import dfecs_app
from dfecs_app.cli import main as cli_main
from dfecs_app.core.recipe import Recipe
from dfecs_app.io.model_file import load_model
from dfecs_app.io.prepare import prepare_kpm

PARAMS = json.dumps({
    "parts": {name: {"k": 2, "alpha": 0.5} for name in
              ("jaw", "right_brow", "left_brow", "nose", "right_eye", "left_eye", "lips")},
    "hfm": {"q": 6, "alpha_A": 0.1, "alpha_B": 0.1},
})


@pytest.fixture(scope="module")
def models(shared_data, tmp_path_factory):
    """DFECS and PCA model files trained on news_sample clips 001-009."""
    tmp = tmp_path_factory.mktemp("code_panel")
    clips = sorted((shared_data / "tracks" / "news_sample").glob("*.csv"))
    train = tmp / "train"
    train.mkdir()
    for c in clips[:9]:
        shutil.copy(c, train / c.name)
    assert cli_main.main(["kpm", str(train), "--out", str(tmp / "train.npz")]) == 0
    assert cli_main.main(["train", str(tmp / "train.npz"), "--params", PARAMS,
                          "--out", str(tmp / "dfecs.npz")]) == 0
    assert cli_main.main(["baseline", "pca", str(tmp / "train.npz"), "--ve", "90",
                          "--out", str(tmp / "pca.npz")]) == 0
    return {"dfecs": tmp / "dfecs.npz", "pca": tmp / "pca.npz", "held_out": clips[9]}


def _click_timeline(qtbot, panel, x: float) -> None:  # noqa: ANN001
    vb = panel.timeline.getPlotItem().getViewBox()
    (y0, y1) = vb.viewRange()[1]
    scene = vb.mapViewToScene(QPointF(x, (y0 + y1) / 2))
    pos = panel.timeline.mapFromScene(scene)
    qtbot.mouseClick(panel.timeline.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_code_the_video_seek_and_export(window, qtbot, models, shared_data, tmp_path) -> None:  # noqa: ANN001
    panel = window.panels["code"]
    window.raise_panel("code")
    assert panel.add_model_file(models["dfecs"])
    video = shared_data / "videos" / "single_face.mp4"
    panel.add_inputs([video])
    with qtbot.waitSignal(panel.coded, timeout=180000):
        panel.code()
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10000)
    clip = panel.clip()
    model = load_model(models["dfecs"])
    assert len(clip) == 72 and clip.video == str(video)
    assert len(panel.timeline.getPlotItem().listDataItems()) == model.n_components
    # the same activations as the API (the function dfecs encode uses)
    api = dfecs_app.encode(models["dfecs"], [video])
    np.testing.assert_allclose(clip.codes, api[model.names].to_numpy(), rtol=1e-12, atol=1e-12)
    # summary: fraction active, mean and peak per AU over the face frames
    rows = panel.summary_rows()
    assert [r[0] for r in rows] == model.names
    j = int(np.argmax(clip.codes.max(axis=0)))
    assert rows[j][3] == pytest.approx(clip.codes[:, j].max(), rel=1e-2)
    assert rows[j][1] == pytest.approx(100 * (clip.codes[:, j] > 0).mean(), abs=0.05)
    # a video frame and its tracked landmarks are shown; the registered face too
    assert panel.image_item.image is not None and panel.image_item.image.shape == (360, 640, 3)
    assert len(panel.tracked_item.data) == 68

    # click the timeline at 1.5 s: seeks to frame 45 (30 fps)
    _click_timeline(qtbot, panel, 1.5)
    qtbot.waitUntil(lambda: panel.current_row != 0, timeout=3000)
    assert abs(panel.current_row - 45) <= 1
    assert panel.slider.value() == panel.current_row
    assert abs(panel.cursor.value() - clip.time_s[panel.current_row]) < 1e-9
    moved = panel.face_items.moved.data
    assert len(moved) == 68  # reconstructed landmarks of the frame shown

    for name in ("codes.csv", "timeline.png", "timeline.svg"):
        assert panel.export(tmp_path / name)
    df = pd.read_csv(tmp_path / "codes.csv")
    np.testing.assert_allclose(df[model.names].to_numpy(), clip.codes, rtol=1e-12)
    assert (tmp_path / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "timeline.svg").read_text(encoding="utf-8")[:1000]


def test_pca_model_codes_a_landmark_file_and_cancel(window, qtbot, models, shared_data) -> None:  # noqa: ANN001
    panel = window.panels["code"]
    assert panel.add_model_file(models["pca"])
    held = models["held_out"]
    with qtbot.waitSignal(panel.coded, timeout=120000):
        panel.code([str(held)])
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10000)
    clip = panel.clip()
    pca = load_model(models["pca"])
    assert clip.codes.shape[1] == pca.n_components and not clip.no_face.any()
    assert clip.video is None and panel.image_item.image is None
    # cancel a video coding at once: nothing changes, the panel says so
    panel.add_inputs([shared_data / "videos" / "single_face.mp4"])
    w = panel.code([str(shared_data / "videos" / "single_face.mp4")])
    assert w is not None
    panel.cancel()
    qtbot.waitUntil(lambda: panel._worker is None, timeout=60000)
    assert w.was_cancelled and panel.status.text() == "Cancelled."
    assert panel.clip() is clip


def test_evaluate_takes_a_landmark_file_prepared_with_the_recipe(window, qtbot, models) -> None:  # noqa: ANN001
    panel = window.panels["evaluate"]
    model = load_model(models["dfecs"])
    window.document.set_model(model)
    held = models["held_out"]
    with qtbot.waitSignal(panel.testSetAdded, timeout=60000):
        assert panel.add_test_set(held)
    qtbot.waitUntil(lambda: panel._prep_worker is None, timeout=10000)
    kpm = window.document.test_sets["010"]
    ref, _ = prepare_kpm(held, Recipe.from_dict(model.meta["recipe"]))
    np.testing.assert_array_equal(kpm.X, ref.X)
    assert kpm.meta["recipe"] == ref.meta["recipe"]
