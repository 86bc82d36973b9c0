"""Data panel with videos: tracked in the worker (progress, Cancel), frames behind the landmarks."""

from __future__ import annotations

import shutil

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from dfecs_app.io.readers import read_landmarks
from dfecs_app.io.tracking import TRACKS_DIRNAME, video_of_track


def test_a_dropped_video_is_tracked_and_shown_behind_its_landmarks(window, qtbot, shared_data,
                                                                   tmp_path) -> None:  # noqa: ANN001
    video = tmp_path / "clip.mp4"
    shutil.copy(shared_data / "videos" / "single_face.mp4", video)
    panel = window.panels["data"]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    reports = []
    with qtbot.waitSignal(panel.loaded, timeout=60000) as blocker:
        panel.dropEvent(drop)
        assert panel.cancel_button.isVisible() and panel.progress.isVisible()
        panel._worker.yielded.connect(reports.append)
    assert blocker.args == [72]
    qtbot.waitUntil(lambda: not panel.cancel_button.isVisible(), timeout=5000)
    assert any(getattr(r, "stage", "") == "track" for r in reports)
    csv = tmp_path / TRACKS_DIRNAME / "clip.csv"
    assert window.document.data_paths == [str(csv)]
    assert video_of_track(csv) == video.resolve()
    ref = read_landmarks(shared_data / "tracks" / "single_face_dlib68.csv")
    assert np.median(np.abs(window.document.table.points - ref.points)) <= 1.0
    # the scrubber shows frame 40 of the video under frame 40's landmarks
    panel.frame_slider.setValue(40)
    image = panel.raw_image.image
    assert image is not None and image.shape == (360, 640, 3)
    from dfecs_app.io.tracking import VideoFrames

    frames = VideoFrames(video)
    np.testing.assert_array_equal(image, frames.frame(40))
    frames.close()
    assert "over clip.mp4" in panel.frame_label.text()
    # adding it again reuses the complete track instead of tracking again
    mtime = csv.stat().st_mtime_ns
    panel.clear()
    with qtbot.waitSignal(panel.loaded, timeout=30000):
        panel.load_paths([video])
    assert csv.stat().st_mtime_ns == mtime


def test_cancel_stops_tracking_and_keeps_the_project(window, qtbot, shared_data, tmp_path) -> None:  # noqa: ANN001
    video = tmp_path / "clip.mp4"
    shutil.copy(shared_data / "videos" / "single_face.mp4", video)
    panel = window.panels["data"]
    worker = panel.load_paths([video])
    seen = []

    def on_progress(p) -> None:  # noqa: ANN001
        seen.append(p)
        panel.cancel_button.click()

    worker.yielded.connect(on_progress)
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert worker.was_cancelled
    assert window.document.table is None
    assert not (tmp_path / TRACKS_DIRNAME / "clip.csv").exists()
    qtbot.waitUntil(lambda: not panel.cancel_button.isVisible(), timeout=5000)
