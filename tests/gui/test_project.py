"""Projects: save and reopen with the same state; unsaved-changes prompt; recent projects."""

from __future__ import annotations

import json

import numpy as np

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.main_window import MainWindow


def _fake_trained(window) -> AUModel:  # noqa: ANN001
    """A model with the demo data's true components (the training tests train for real)."""
    _, _, comps, _ = make_kpm_dataset(10, n_components=6, random_state=1)
    model = AUModel(components=comps, kind="dfecs", meta={"ve_train": 97.5},
                    arrays={"usage": np.arange(6, 0, -1, dtype=float)})
    window.document.set_model(model, {"beta": 0.1, "mode": "search", "seed": 3})
    return model


def test_save_and_reopen_same_state(demo_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    win = demo_window
    model = _fake_trained(win)
    win.panels["neutral"].move_landmark(30, (250.5, 260.25))  # a hand correction
    path = tmp_path / "study.dfecs.json"
    assert win.save_project(path)
    assert not win.document.dirty and not win.isWindowModified()
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == "dfecs-project" and raw["format_version"] == 1
    assert settings.recent_projects()[0] == str(path.resolve())

    other = MainWindow()
    try:
        assert other.open_project(path)
        doc, ref = other.document, win.document
        np.testing.assert_array_equal(doc.model.components, model.components)
        np.testing.assert_array_equal(doc.model.arrays["usage"], model.arrays["usage"])
        np.testing.assert_array_equal(doc.kpm.X, ref.kpm.X)
        np.testing.assert_array_equal(doc.neutral_landmarks, ref.neutral_landmarks)
        assert tuple(doc.neutral_landmarks[30]) == (250.5, 260.25)
        np.testing.assert_array_equal(doc.neutral_image, ref.neutral_image)
        assert doc.train_params == {"beta": 0.1, "mode": "search", "seed": 3}
        assert other.panels["train"].beta_spin.value() == 0.1
        other.show()
        other.raise_panel("aus")
        qtbot.waitUntil(lambda: len(other.panels["aus"].cells) == 6, timeout=5000)
        assert not doc.dirty
    finally:
        other.shutdown()
        other.close()
        other.deleteLater()


def test_unsaved_changes_prompt(demo_window, qtbot) -> None:  # noqa: ANN001
    win = demo_window
    _fake_trained(win)
    assert win.document.dirty
    dialogs.queue_answer("cancel")
    assert not win.close()  # the user chose to stay
    assert win.isVisible()
    assert dialogs.shown[-1].kind == "unsaved"
    dialogs.queue_answer("discard")
    win.new_project()
    assert win.document.model is None and not win.document.dirty


def test_bad_project_file_is_reported(window, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.dfecs.json"
    bad.write_text('{"format": "dfecs-project", "format_version": 99}', encoding="utf-8")
    assert not window.open_project(bad)
    err = dialogs.shown[-1]
    assert err.kind == "error" and "format version" in err.text and "bad.dfecs.json" in err.text
