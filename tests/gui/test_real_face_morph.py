"""The AUs, Projected and Rating panels on a real closed-mouth neutral face
(faces/single_face_frame0.png + .pts, inner lips 61/67 on one pixel) with a model trained on the
real news_sample tracks: every projected AU image appears, no dialog opens, no label stays
"morphing…"/"rendering…"; a face that cannot be morphed says why in place, once."""

from __future__ import annotations

import numpy as np

from dfecs_app.gui import dialogs
from dfecs_app.io.model_file import load_model


def _open_face(win, shared_data, model_path) -> None:  # noqa: ANN001
    neutral = win.panels["neutral"]
    assert neutral.load_image(shared_data / "faces" / "single_face_frame0.png")
    assert neutral.load_landmarks(shared_data / "faces" / "single_face_frame0.pts")
    assert neutral.problems == []  # checked at load: a sound face
    lm = win.document.neutral_landmarks
    assert np.array_equal(lm[61], lm[67])  # closed mouth, as dlib puts it
    win.document.set_model(load_model(model_path))


def test_every_panel_shows_every_image_of_the_closed_mouth_face(window, qtbot, shared_data, news_model) -> None:  # noqa: ANN001
    win = window
    _open_face(win, shared_data, news_model[1])
    model = win.document.model
    q = model.n_components

    # Projected AU images: all of them, at the default intensity 1 (p95 unit)
    proj = win.panels["projected"]
    with qtbot.waitSignal(proj.allReady, timeout=120000):
        win.raise_panel("projected")
    qtbot.waitUntil(lambda: proj._worker is None, timeout=10000)
    assert proj.intensity == 1.0 and len(proj.images) == q and not proj.failures
    for row in range(proj.list.count()):
        assert not proj.list.item(row).icon().isNull()
    assert "morphing" not in proj.status.text().lower()
    assert proj.view.image is not None

    # AUs panel: each AU's large view gets its image (from the cache), never "morphing…"
    aus = win.panels["aus"]
    win.raise_panel("aus")
    qtbot.waitUntil(lambda: len(aus.cells) == q, timeout=10000)
    for comp in range(q):
        aus.select(comp)
        qtbot.waitUntil(lambda c=comp: aus._image_shown == c, timeout=20000)
        assert aus.image_view.image is not None
        assert aus.image_label.text().startswith("Projected AU image, intensity 1")
    # one intensity: moving the AUs slider moves the Projected panel's
    aus.intensity_slider.setValue(5)
    assert proj.intensity == 0.5
    qtbot.waitUntil(lambda: aus._image_shown == aus.current, timeout=30000)
    assert "intensity 0.5" in aus.image_label.text()

    # Rating panel: the rating pictures of every AU
    rating = win.panels["ratings"]
    win.raise_panel("ratings")
    qtbot.waitUntil(lambda: len(rating.au_images) == q, timeout=120000)
    assert rating.renderer.wait(10000)
    assert all(img.ndim == 3 and img.shape[2] == 3 for img in rating.au_images.values())
    assert dialogs.shown == []  # no dialog at any point
    win.raise_panel("projected")
    qtbot.waitUntil(lambda: proj._worker is None, timeout=60000)


def test_a_face_that_cannot_be_morphed_says_why_once(window, qtbot, shared_data, news_model) -> None:  # noqa: ANN001
    win = window
    _open_face(win, shared_data, news_model[1])
    neutral = win.panels["neutral"]
    log = []
    win.panels["projected"].message.connect(log.append)
    neutral.move_landmark(8, (320.0, 400.0))  # the chin below the 640x360 image
    assert any("landmarks 8 lie outside" in p for p in neutral.problems)
    assert "outside" in neutral.info_label.text()

    proj = win.panels["projected"]
    q = win.document.model.n_components
    with qtbot.waitSignal(proj.allReady, timeout=60000):
        win.raise_panel("projected")
    qtbot.waitUntil(lambda: proj._worker is None, timeout=10000)
    assert len(proj.failures) == q and not proj.images
    assert "landmarks 8 lie outside" in proj.status.text()
    assert len(log) == 1 and "cannot be made" in log[0]  # one notification, not one per AU

    aus = win.panels["aus"]
    win.raise_panel("aus")
    qtbot.waitUntil(lambda: aus.image_label.text().startswith("No projected AU image"),
                    timeout=10000)
    assert "landmarks 8" in aus.image_label.text()
    # selecting again answers from what is known: no new morph, no dialog, no second log line
    misses = proj.cache.misses
    for comp in range(q):
        aus.select(comp)
        qtbot.waitUntil(lambda: aus.image_label.text().startswith("No projected AU image"),
                        timeout=5000)
    assert proj._worker is None and proj.cache.misses == misses and len(log) == 1

    rating = win.panels["ratings"]
    failed = []
    rating.renderer.imageFailed.connect(lambda c, r: failed.append(c))
    win.raise_panel("ratings")
    qtbot.waitUntil(lambda: len(failed) == q, timeout=30000)
    assert rating.renderer.wait(10000)
    assert dialogs.shown == []
