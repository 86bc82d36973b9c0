"""pytest-qt: a full blinded three-rater session by keyboard, artifacts, kill-and-resume,
results, and a rating pack through rater mode back into the session."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from dfecs_app.gui.rating import RaterWindow, RatingPanel, help_text  # noqa: E402
from dfecs_app.gui.rating.shortcuts import RATING_SHORTCUTS  # noqa: E402

# planned votes by model component (4 AUs): 1 ✓, 0 ×
PLAN = {"Ann": [1, 0, 1, 1], "Bob": [1, 0, 0, 1], "Cat": [1, 1, 0, 0]}
ARTIFACT_POINT = {1: 19, 2: 50, 3: 8}


def disk_votes(path) -> dict[tuple[str, int], dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(v["rater"], v["component"]): v for v in data["votes"]}


def make_panel(qtbot, model, points, session_path, image=None) -> RatingPanel:
    panel = RatingPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    panel.set_model(model, image, points, session_path)
    return panel


def rate_one(qtbot, screen, rater: str, with_artifacts: bool = True) -> None:
    """Rate the AU on screen by keyboard (and the mouse on the arrow plot for dots)."""
    c = screen.current_component
    if PLAN[rater][c]:
        qtbot.keyClick(screen, Qt.Key.Key_Y)
        return
    qtbot.keyClick(screen, Qt.Key.Key_N)
    if with_artifacts:
        p = ARTIFACT_POINT[c]
        pos = screen.plot.keypoint_position(p).toPoint()
        qtbot.mouseClick(screen.plot, Qt.MouseButton.LeftButton, pos=pos)
        qtbot.keyClick(screen, Qt.Key.Key_A)
        qtbot.keyClicks(screen.artifact_edit, f"point {p} moves against the muscles")
        qtbot.keyClick(screen.artifact_edit, Qt.Key.Key_Return)
        qtbot.keyClicks(screen.basis_edit.lineEdit(), "UF1")
        qtbot.keyClick(screen.basis_edit.lineEdit(), Qt.Key.Key_Return)
    qtbot.keyClick(screen, Qt.Key.Key_Right)


def test_three_rater_blinded_session_by_keyboard(qtbot, qt_env, tmp_path, model,
                                                 neutral_face) -> None:
    _, points = neutral_face
    path = tmp_path / "session.json"
    panel = make_panel(qtbot, model, points, path)
    assert panel.start_session(["Ann", "Bob", "Cat"], seed=11) is not None
    screen = panel.screen
    done: dict[tuple[str, int], int] = {}

    # Ann rates everything
    panel.rate_as("Ann")
    assert [screen.current_component] == [panel.session.order("Ann")[0]]
    for _ in range(4):
        c = screen.current_component
        rate_one(qtbot, screen, "Ann")
        done[("Ann", c)] = PLAN["Ann"][c]
        on_disk = disk_votes(path)
        assert {k: int(v["vote"]) for k, v in on_disk.items()} == done
    v = disk_votes(path)[("Ann", 1)]
    assert v["points"] == [ARTIFACT_POINT[1]] and v["basis"] == "UF1"
    assert v["artifact"] == f"point {ARTIFACT_POINT[1]} moves against the muscles"

    # Bob: blinded — his screen shows none of Ann's votes; undo by Ctrl+Z. Ann's turn must
    # end first (the rater identity is fixed for a turn)
    assert not panel.rate_as("Bob") and screen.rater == "Ann"
    qtbot.mouseClick(screen.end_turn_button, Qt.MouseButton.LeftButton)
    assert panel.turn is None and panel.tabs.currentWidget() is panel.setup
    panel.rate_as("Bob")
    assert screen.vote_label.text() == "your vote: —"
    assert screen.plot.artifacts == set()
    assert not panel.tabs.isTabEnabled(panel.tabs.indexOf(panel.results))
    first = screen.current_component
    qtbot.keyClick(screen, Qt.Key.Key_N if PLAN["Bob"][first] else Qt.Key.Key_Y)  # a slip
    qtbot.keyClick(screen, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert screen.current_component == first and ("Bob", first) not in disk_votes(path)
    rate_one(qtbot, screen, "Bob", with_artifacts=False)
    c2 = screen.current_component
    rate_one(qtbot, screen, "Bob", with_artifacts=False)
    for c in (first, c2):
        done[("Bob", c)] = PLAN["Bob"][c]
    assert {k: int(v["vote"]) for k, v in disk_votes(path).items()} == done

    # abrupt stop: the window goes away without any save; a new one resumes from disk
    panel.shutdown()
    panel.hide()
    panel.deleteLater()
    panel2 = make_panel(qtbot, model, points, path)
    assert panel2.session is not None and panel2.session.vote_count("Bob") == 2
    panel2.rate_as("Bob")
    s2 = panel2.screen
    assert s2.position == 2 == panel2.session.resume_position("Bob")
    for _ in range(2):
        c = s2.current_component
        rate_one(qtbot, s2, "Bob", with_artifacts=False)
        done[("Bob", c)] = PLAN["Bob"][c]
    qtbot.mouseClick(s2.end_turn_button, Qt.MouseButton.LeftButton)
    panel2.rate_as("Cat")
    for _ in range(4):
        c = s2.current_component
        rate_one(qtbot, s2, "Cat", with_artifacts=False)
        done[("Cat", c)] = PLAN["Cat"][c]
    assert {k: int(v["vote"]) for k, v in disk_votes(path).items()} == done

    # close: results table (Table 1 layout)
    panel2.close_session()
    assert json.loads(path.read_text())["closed"] is True
    table = panel2.results.table
    assert [table.horizontalHeaderItem(j).text() for j in range(5)] == [
        "Component", "Ann", "Bob", "Cat", "Majority Vote"]
    expected_majority = ["✓", "×", "×", "✓"]  # 3✓; 2×; 2×; 2✓
    for c in range(4):
        row = [table.item(c, j).text() for j in range(5)]
        assert row[1:4] == ["✓" if PLAN[r][c] else "×" for r in ("Ann", "Bob", "Cat")]
        assert row[4] == expected_majority[c]
    assert [table.item(4, j).text() for j in range(5)] == [
        "Percentage", "75%", "50%", "50%", "50%"]
    assert "Fleiss' κ" in panel2.results.stats.text()
    assert panel2.results.artifacts.rowCount() == 5  # 1 + 2 + 2 × votes
    out = panel2.results.export("markdown", tmp_path / "t.md")
    assert "| **Percentage** | **75%** | **50%** | **50%** | **50%** |" in out.read_text()
    panel2.shutdown()


def test_session_for_another_model_is_refused_in_the_panel(qtbot, qt_env, tmp_path, model,
                                                           neutral_face) -> None:
    from .conftest import make_model

    _, points = neutral_face
    path = tmp_path / "s.json"
    panel = make_panel(qtbot, model, points, path)
    panel.start_session(["A", "B", "C"], seed=1)
    before = path.read_bytes()
    other = make_model(seed=4)
    panel.set_model(other, None, points, path)
    assert panel.session is None
    text = panel.setup.status.text()
    assert model.content_hash()[:16] in text and other.content_hash()[:16] in text
    assert path.read_bytes() == before
    panel.shutdown()


def test_pack_rater_mode_and_merge(qtbot, qt_env, tmp_path, model, neutral_face) -> None:
    image, points = neutral_face
    path = tmp_path / "s.json"
    panel = make_panel(qtbot, model, points, path, image=image)
    panel.start_session(["Ann", "Bob", "Cat"], seed=3)
    qtbot.waitUntil(lambda: len(panel.au_images) == 4, timeout=30000)
    panel.rate_as("Ann")
    assert panel.screen.image_label.pixmap() is not None
    assert not panel.screen.image_label.pixmap().isNull()
    folder = panel.export_pack("Bob", tmp_path / "pack-bob")
    assert folder is not None and (folder / "pack.json").is_file()
    pack = json.loads((folder / "pack.json").read_text())
    assert "intensity 1 per AU" in pack["scales_definition"]  # the shared unit, stated

    win = RaterWindow(folder)
    qtbot.addWidget(win)
    win.show()
    screen = win.screen
    assert win.pack.rater == "Bob" and screen.current_component == panel.session.order("Bob")[0]
    assert not screen.image_label.pixmap().isNull()
    assert win.pack.neutral_image is not None  # the neutral-face aid works in rater mode
    qtbot.keyClick(screen, Qt.Key.Key_V)
    assert screen.fraction == 0.0 and screen.composed_image() is not None
    qtbot.keyClick(screen, Qt.Key.Key_V)
    for _ in range(4):
        rate_one(qtbot, screen, "Bob")
    returned = json.loads((folder / "ratings.json").read_text())
    assert len(returned["votes"]) == 4
    win.close()

    assert panel.merge_returned(folder) == 4
    assert panel.session.vote_count("Bob") == 4
    assert {c: v.interpretable for c, v in panel.session.rater_votes("Bob").items()} == {
        c: bool(x) for c, x in enumerate(PLAN["Bob"])}
    merged = path.read_bytes()
    assert panel.merge_returned(folder) is None
    assert "already voted" in panel.setup.status.text()
    assert path.read_bytes() == merged
    panel.shutdown()


def test_shortcut_table_drives_help_and_buttons(qtbot, qt_env) -> None:
    text = help_text()
    for s in RATING_SHORTCUTS:
        assert s.description in text
    panel = RatingPanel()
    qtbot.addWidget(panel)
    assert "(Y)" in panel.screen.yes_button.text() and "(N)" in panel.screen.no_button.text()
    # keys without a session do nothing and raise nothing
    qtbot.keyClick(panel.screen, Qt.Key.Key_Y)
    assert panel.screen.current_component is None
    panel.shutdown()


def test_arrow_plot_click_maps_to_keypoints(qtbot, qt_env, neutral_face) -> None:
    from dfecs_app.gui.rating import ArrowPlotWidget

    _, points = neutral_face
    plot = ArrowPlotWidget()
    qtbot.addWidget(plot)
    plot.resize(400, 400)
    plot.show()
    plot.set_data(points, np.zeros((68, 2)))
    for i in (0, 30, 48, 67):
        with qtbot.waitSignal(plot.pointClicked) as sig:
            qtbot.mouseClick(plot, Qt.MouseButton.LeftButton,
                             pos=plot.keypoint_position(i).toPoint())
        assert sig.args == [i]
