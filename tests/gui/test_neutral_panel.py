"""Neutral face panel: image + landmarks from real files, detection, dragging a landmark."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from dfecs_app.gui import dialogs
from dfecs_app.io.readers import read_landmarks


def test_open_image_and_pts_then_drag_and_undo(window, qtbot, shared_data) -> None:  # noqa: ANN001
    panel = window.panels["neutral"]
    window.raise_panel("neutral")
    assert panel.load_image(shared_data / "faces" / "single_face_frame0.png")
    assert panel.load_landmarks(shared_data / "faces" / "single_face_frame0.pts")
    doc = window.document
    ref = read_landmarks([str(shared_data / "faces" / "single_face_frame0.pts")]).points[0]
    np.testing.assert_allclose(doc.neutral_landmarks, ref)
    assert doc.neutral_image.shape == (360, 640, 3)

    # drag landmark 48 (a lip corner) 6 px to the left with the mouse
    qtbot.wait(50)
    view = panel.view
    vb = view.getPlotItem().getViewBox()
    start = ref[48]

    def to_widget(xy):  # noqa: ANN001, ANN202
        return view.mapFromScene(vb.mapViewToScene(QPointF(*xy)))

    p0, p1 = to_widget(start), to_widget(start + [-6.0, 0.0])
    _drag(view.viewport(), p0, p1)
    moved = doc.neutral_landmarks[48]
    assert moved[0] == pytest.approx(start[0] - 6.0, abs=1.0)
    assert moved[1] == pytest.approx(start[1], abs=1.0)
    others = np.delete(np.arange(68), 48)
    np.testing.assert_allclose(doc.neutral_landmarks[others], ref[others])
    assert doc.dirty and panel.undo_button.isEnabled()
    panel.undo()
    np.testing.assert_allclose(doc.neutral_landmarks, ref)


def _drag(widget, p0, p1, steps: int = 8) -> None:  # noqa: ANN001
    """A real left-button drag (QTest's mouseMove carries no buttons; pyqtgraph drops move
    events closer than ~16 ms apart, so the moves are spaced like a hand's)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind, pos, button, buttons):  # noqa: ANN001, ANN202
        posf = QPointF(pos)
        QApplication.sendEvent(widget, QMouseEvent(kind, posf, widget.mapToGlobal(posf),
                                                   button, buttons, mods))

    send(QEvent.Type.MouseButtonPress, p0, left, left)
    for t in np.linspace(0, 1, steps + 1)[1:]:
        time.sleep(0.025)
        send(QEvent.Type.MouseMove, p0 + (p1 - p0) * float(t), none, left)
    send(QEvent.Type.MouseButtonRelease, p1, left, none)


def test_detect_landmarks_with_the_tracker(window, qtbot, shared_data) -> None:  # noqa: ANN001
    panel = window.panels["neutral"]
    assert panel.load_image(shared_data / "faces" / "single_face_frame0.png")
    with qtbot.waitSignal(panel.detected, timeout=60000):
        panel.detect()
    qtbot.waitUntil(panel.detect_button.isEnabled, timeout=5000)
    ref = read_landmarks([str(shared_data / "faces" / "single_face_frame0.pts")]).points[0]
    err = np.abs(window.document.neutral_landmarks - ref).max()
    assert err < 2.0  # the .pts was made by the same predictor (1-based rounding aside)


def test_wrong_landmark_file_is_reported(window, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "five.pts"
    bad.write_text("version: 1\nn_points: 5\n{\n1 2\n3 4\n5 6\n7 8\n9 10\n}\n", encoding="utf-8")
    assert not window.panels["neutral"].load_landmarks(bad)
    assert dialogs.shown[-1].kind == "error" and "five.pts" in dialogs.shown[-1].text
    assert window.document.neutral_landmarks is None
