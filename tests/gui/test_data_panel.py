"""Data panel: real landmark files from ../shared/data through the panel's load function."""

from __future__ import annotations

import numpy as np

from dfecs_app.core.kpm import compute_kpm
from dfecs_app.gui import dialogs
from dfecs_app.io.frontalization_weights import load_frontalization_weights
from dfecs_app.io.readers import read_landmarks


def test_open_dlib_track_and_compute_kpms(window, qtbot, shared_data, tmp_path) -> None:  # noqa: ANN001
    panel = window.panels["data"]
    path = shared_data / "tracks" / "single_face_dlib68.csv"
    with qtbot.waitSignal(panel.loaded, timeout=20000) as blocker:
        panel.load_paths([path])
    assert blocker.args == [72]
    assert panel.tree.topLevelItemCount() == 1
    item = panel.tree.topLevelItem(0)
    assert item.text(2) == "72" and item.text(3) == "none"
    # the scrubber shows raw and standardized landmarks of the chosen frame
    panel.frame_slider.setValue(40)
    raw = window.document.table.points[40]
    xs, ys = panel.raw_face.neutral.getData()
    assert np.allclose(np.c_[xs, ys], raw)
    sx, _ = panel.std_face.neutral.getData()
    assert len(sx) == 68 and abs(np.ptp(sx) - 800) < 80  # standardized units: jaw 800 apart

    # pick frame 5 as this sequence's neutral, then compute with frontalization on
    panel.frame_slider.setValue(5)
    panel.use_current_frame_as_neutral()
    assert "frame 5 (picked)" in panel.tree.topLevelItem(0).text(4)
    assert window.document.frontalize
    with qtbot.waitSignal(panel.kpmReady, timeout=30000) as blocker:
        panel.compute_kpms()
    kpm = window.document.kpm
    assert blocker.args == [72] and kpm.X.shape == (72, 136)
    # the same numbers as the core function the CLI calls
    table = read_landmarks([str(path)])
    ref = compute_kpm(table, neutral="first", frontalization=load_frontalization_weights("68"),
                      neutral_overrides={(str(table.subject[0]), str(table.sequence[0])): 5})
    np.testing.assert_allclose(kpm.X, ref.X, atol=1e-9)
    assert np.abs(kpm.X[5]).max() < 1e-9  # the picked neutral frame has zero motion
    assert window.document.dirty
    for p in panel.export_plots(tmp_path):
        assert p.stat().st_size > 1000, p


def test_open_openface_csv(window, qtbot, shared_data) -> None:  # noqa: ANN001
    panel = window.panels["data"]
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load_paths([shared_data / "tracks" / "OpenFace_Test.csv"])
    table = window.document.table
    assert table.points.shape[1:] == (68, 2) and len(table) > 50
    assert panel.tree.topLevelItemCount() >= 1


def test_bad_file_is_reported_in_place_and_keeps_the_project(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "broken.csv"
    bad.write_text("x_0,y_0\n1,2,3\n", encoding="utf-8")
    panel = window.panels["data"]
    with qtbot.waitSignal(panel.message, timeout=20000, check_params_cb=lambda m: "failed" in m):
        w = panel.load_paths([bad])
    qtbot.waitUntil(w.isFinished, timeout=5000)
    assert not [d for d in dialogs.shown if d.kind == "error"]  # no modal dialog
    notice = window.notification_bar.current
    assert notice is not None and "broken.csv" in notice.text
    assert window.document.table is None
    qtbot.waitUntil(panel.add_files_button.isEnabled, timeout=5000)  # the panel is usable


def test_missing_frontalization_weights_asks_then_goes_on_without(
        window, qtbot, shared_data, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """BP4D-like 49-point data need weights that are never downloaded: the panel says so and,
    when the user agrees, computes the KPMs without frontalization — never silently."""
    from dfecs_app.core.landmarks import LAYOUT_49, layout_mask

    monkeypatch.setenv("DFECS_FRONTALIZATION_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    table = read_landmarks([str(shared_data / "tracks" / "single_face_dlib68.csv")])
    mask = np.repeat(layout_mask("49")[None], len(table), axis=0)
    table49 = type(table)(points=table.points, mask=mask, subject=table.subject,
                          sequence=table.sequence, frame=table.frame, source=table.source)
    assert len(LAYOUT_49) == 49
    window.document.set_table(table49, ["bp4d-like"])
    panel = window.panels["data"]
    assert window.document.frontalize
    dialogs.queue_answer(True)  # "Continue without frontalization?" -> yes
    with qtbot.waitSignal(panel.kpmReady, timeout=30000):
        panel.compute_kpms()
    question = [d for d in dialogs.shown if d.kind == "question"]
    assert question and "frontalization_weights_49.npy" in question[-1].text
    assert not window.document.frontalize and not panel.frontalize_check.isChecked()
    kpm = window.document.kpm
    assert kpm.X.shape == (72, 136) and not kpm.mask[:, :17].any()  # no jaw in BP4D data
    qtbot.waitUntil(panel.compute_button.isEnabled, timeout=5000)


def test_drop_a_folder_of_landmark_files(window, qtbot, shared_data) -> None:  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    panel = window.panels["data"]
    folder = shared_data / "tracks" / "news_sample"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    assert panel.acceptDrops()
    with qtbot.waitSignal(panel.loaded, timeout=30000):
        panel.dropEvent(drop)  # Qt delivers drops only inside a real drag session
    assert drop.isAccepted()
    n_files = len(list(folder.glob("*.csv")))
    assert panel.tree.topLevelItemCount() == n_files == 10  # one sequence per clip
    assert window.document.data_paths == [str(folder)]


def test_demo_kpm_dataset_is_listed_without_raw_landmarks(demo_window, qtbot) -> None:  # noqa: ANN001
    """The demo holds only synthetic KPMs: the panel lists them (1500 rows) and says that raw
    landmarks are not available, showing the selected row's KPM as arrows instead."""
    from dfecs_app.core.landmarks import vec_to_points
    from dfecs_app.core.synthetic import neutral_face
    from dfecs_app.gui.data_panel import KPM_ARROW_SCALE

    panel = demo_window.panels["data"]
    kpm = demo_window.document.kpm
    assert demo_window.document.table is None and kpm.X.shape[0] == 1500
    datasets = panel.datasets_tree
    assert datasets.topLevelItemCount() == 1
    row = [datasets.topLevelItem(0).text(c) for c in range(datasets.columnCount())]
    assert row == ["demo KPMs", "synthetic", "1500", "20", "none"]
    assert panel.current_dataset() == "kpm"
    # one row per generator subject, their frame counts adding up to the 1500 rows
    assert panel.tree.topLevelItemCount() == 20
    assert sum(int(panel.tree.topLevelItem(i).text(2)) for i in range(20)) == 1500
    # the scrubber runs over the selected subject's rows (the first listed, by appearance)
    first = panel.tree.topLevelItem(0).text(0)
    assert first == kpm.subject[0]
    s01 = np.flatnonzero(kpm.subject == first)
    assert panel.frame_slider.isEnabled() and panel.frame_slider.maximum() == len(s01) - 1
    assert not panel.pick_button.isEnabled()  # no frames to pick a neutral from
    assert "not available" in panel.raw_notice.toPlainText()
    assert "raw landmarks are not available" in panel.frame_label.text()
    assert len(panel.raw_face.neutral.points()) == 0  # nothing drawn as raw landmarks

    panel.frame_slider.setValue(40)
    assert panel.current_row() == s01[40]
    xs, ys = panel.std_face.moved.getData()
    moved = neutral_face() + KPM_ARROW_SCALE * vec_to_points(kpm.X[s01[40]])
    np.testing.assert_allclose(np.c_[xs, ys], moved)
    assert f"{first} / synthetic: row 40 (41 of {len(s01)})" in panel.frame_label.text()


def test_loaded_kpm_file_is_listed_beside_the_landmarks(window, qtbot, shared_data,
                                                        tmp_path) -> None:  # noqa: ANN001
    from dfecs_app.io.kpm_file import save_kpm

    table = read_landmarks([str(shared_data / "tracks" / "single_face_dlib68.csv")])
    kpm = compute_kpm(table, neutral="first")
    path = tmp_path / "clip_kpms.npz"
    save_kpm(path, kpm)
    panel = window.panels["data"]
    with qtbot.waitSignal(panel.kpmReady, timeout=10000) as blocker:
        assert panel.load_kpm_file(path)
    assert blocker.args == [72]
    item = panel.datasets_tree.topLevelItem(0)
    assert [item.text(c) for c in range(4)] == ["clip_kpms.npz", "KPM file", "72", "1"]
    assert panel.current_dataset() == "kpm" and panel.tree.topLevelItem(0).text(2) == "72"

    with qtbot.waitSignal(panel.loaded, timeout=20000):  # landmark files come first once read
        panel.load_paths([shared_data / "tracks" / "single_face_dlib68.csv"])
    kinds = [panel.datasets_tree.topLevelItem(i).text(1)
             for i in range(panel.datasets_tree.topLevelItemCount())]
    assert kinds == ["landmark files", "KPM file"] and panel.current_dataset() == "landmarks"
    assert panel.raw_notice.toPlainText() == "" and panel.pick_button.isEnabled()
    panel.datasets_tree.setCurrentItem(panel.datasets_tree.topLevelItem(1))
    assert panel.current_dataset() == "kpm" and not panel.pick_button.isEnabled()
