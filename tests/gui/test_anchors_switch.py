"""Data panel: the anchor-set switch (auto / jaw set / eye set) beside the frontalization switch."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from dfecs_app.core import geometry as G
from dfecs_app.core.kpm import compute_kpm
from dfecs_app.gui import project_bridge
from dfecs_app.io.frontalization_weights import load_frontalization_weights
from dfecs_app.io.readers import read_landmarks


def test_switching_the_anchor_set_recomputes_different_kpms(window, qtbot, shared_data,
                                                             tmp_path) -> None:  # noqa: ANN001
    panel = window.panels["data"]
    doc = window.document
    combo = panel.anchors_combo
    path = shared_data / "tracks" / "single_face_dlib68.csv"
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "jaw", "eyes"]
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "auto", "jaw set (0, 16, 27, 33, 39, 42)", "eye set (27, 33, 39, 42, 36, 45)"]
    assert combo.currentData() == doc.anchors == "auto"
    # keyboard: the label's mnemonic focuses the combo, which takes Tab focus
    assert panel.anchors_label.buddy() is combo and "&" in panel.anchors_label.text()
    assert combo.focusPolicy() & Qt.FocusPolicy.TabFocus
    # beside the frontalization switch, in the same box
    box = panel.frontalize_check.parentWidget().layout()
    assert box.indexOf(combo) == box.indexOf(panel.frontalize_check) + 2

    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load_paths([path])
    with qtbot.waitSignal(panel.kpmReady, timeout=30000):
        panel.compute_kpms()
    auto = doc.kpm
    assert auto.meta["options"]["anchors"] == "auto"
    doc.set_dirty(False)

    # switch by keyboard, as a user would: Down twice -> jaw set, then eye set
    combo.setFocus()
    with qtbot.waitSignal(doc.dataChanged, timeout=2000):  # what the frontalization switch emits
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert doc.anchors == "jaw" and doc.dirty
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert doc.anchors == "eyes" and combo.currentData() == "eyes"
    assert doc.kpm is auto  # as with the frontalization switch: recomputed on Compute KPMs
    assert doc.kpms_out_of_date() and "out of date" in panel.kpm_label.text()
    assert "other corrections" in window.panels["train"].data_label.text()
    # the standardized view follows the switch
    panel.frame_slider.setValue(30)
    row = panel.current_row()
    sx, sy = panel.std_face.neutral.getData()
    table = doc.table
    expected = G.standardize(table.points[row][None], table.mask[row][None], anchors="eyes")[0]
    np.testing.assert_allclose(np.c_[sx, sy], expected)

    with qtbot.waitSignal(panel.kpmReady, timeout=30000):
        panel.compute_kpms()
    eyes = doc.kpm
    assert not doc.kpms_out_of_date() and "out of date" not in panel.kpm_label.text()
    assert "other corrections" not in window.panels["train"].data_label.text()
    assert eyes.meta["options"]["anchors"] == "eyes" and eyes.X.shape == auto.X.shape == (72, 136)
    assert np.abs(eyes.X - auto.X).max() > 5  # another affine frame: other KPMs
    ref = compute_kpm(read_landmarks([str(path)]), neutral="first", anchors="eyes",
                      frontalization=load_frontalization_weights("68"))
    np.testing.assert_allclose(eyes.X, ref.X, atol=1e-9)  # the very numbers of the core function

    # the choice is part of the project: saved, reopened, shown
    saved = project_bridge.save_from(doc, tmp_path / "anchors.dfecs.json")
    doc.set_anchors("auto")
    assert combo.currentData() == "auto"
    project_bridge.load_into(doc, saved)
    assert doc.anchors == "eyes" and combo.currentData() == "eyes"
    # a KPM-only dataset shows no corrections to switch
    panel.datasets_tree.setCurrentItem(panel.datasets_tree.topLevelItem(1))
    assert panel.current_dataset() == "kpm" and not combo.isEnabled()
