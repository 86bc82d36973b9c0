"""pytest-qt: any model rated in the app (Table 2 through PCA AUs fitted in the Rating panel),
a blinded DFECS-vs-PCA comparison by three raters by keyboard, blinding of the rater's screen
(every visible text walked), and the rater aids."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QTableWidget,
    QTabWidget,
    QWidget,
)

from dfecs_app.core.baselines import pca_aus  # noqa: E402
from dfecs_app.core.kpm import KPMSet  # noqa: E402
from dfecs_app.core.synthetic import make_kpm_dataset  # noqa: E402
from dfecs_app.gui.rating import RatingPanel  # noqa: E402
from dfecs_app.stats.proportions import compare_proportions  # noqa: E402

from .conftest import TABLE_2, VOLUNTEERS, make_model, parse_table  # noqa: E402


@pytest.fixture(scope="module")
def kpm() -> KPMSet:
    X, mask, _, _ = make_kpm_dataset(300, n_components=12, random_state=5)
    n = X.shape[0]
    return KPMSet(X=X, mask=mask, subject=np.full(n, "s"), sequence=np.full(n, "q"),
                  frame=np.arange(n))


def make_panel(qtbot, model, points, path, image=None) -> RatingPanel:
    panel = RatingPanel()
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    panel.set_model(model, image, points, path)
    return panel


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person can see in ``root``: labels, buttons, fields, combo items, list and
    table cells, tab titles, tooltips and the window title."""
    out = [root.window().windowTitle()]
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible():
            continue
        out.append(w.toolTip())
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QLineEdit):
            out += [w.text(), w.placeholderText()]
        elif isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QListWidget):
            out += [w.item(i).text() for i in range(w.count())]
        elif isinstance(w, QTableWidget):
            out += [w.item(i, j).text() for i in range(w.rowCount())
                    for j in range(w.columnCount()) if w.item(i, j) is not None]
        elif isinstance(w, QTabWidget):
            out += [w.tabText(i) for i in range(w.count())]
    return [t for t in out if t]


def rate_by_keyboard(qtbot, panel, rater: str, vote_of) -> None:
    """``rater``'s whole turn by keyboard: Y / N (then →) for every AU, then End my turn."""
    panel.setup.rater_combo.setCurrentText(rater)
    qtbot.mouseClick(panel.setup.rate_button, Qt.MouseButton.LeftButton)
    screen = panel.screen
    assert panel.turn == rater and screen.rater == rater
    for _ in range(panel.session.n_components):
        c = screen.current_component
        if vote_of(c):
            qtbot.keyClick(screen, Qt.Key.Key_Y)
        else:
            qtbot.keyClick(screen, Qt.Key.Key_N)
            qtbot.keyClick(screen, Qt.Key.Key_Right)
    assert panel.session.rater_done(rater)
    qtbot.mouseClick(screen.end_turn_button, Qt.MouseButton.LeftButton)
    assert panel.turn is None


def test_table_2_through_a_pca_session_made_in_the_app(qtbot, qt_env, tmp_path, kpm,
                                                       neutral_face) -> None:
    _, points = neutral_face
    panel = make_panel(qtbot, make_model(q=5), points, tmp_path / "s.json")
    panel.set_available_models({"DFECS": panel.model}, kpm=kpm)
    panel.setup.pca_spin.setValue(8)
    qtbot.mouseClick(panel.setup.pca_button, Qt.MouseButton.LeftButton)
    assert "PCA (8 PCs)" in panel.available
    panel.setup.check_models(["PCA (8 PCs)"])
    names, votes, _ = parse_table(TABLE_2)
    assert panel.model.kind == "pca" and list(panel.model.names) == names
    panel.setup.raters_edit.setPlainText("\n".join(VOLUNTEERS))
    qtbot.mouseClick(panel.setup.start_button, Qt.MouseButton.LeftButton)
    assert panel.session is not None and panel.session.components == names
    assert panel.session_path.name == f"session-{panel.model.content_hash()[:12]}.json"
    for j, rater in enumerate(VOLUNTEERS):
        rate_by_keyboard(qtbot, panel, rater, lambda c, j=j: votes[c, j] == 1.0)
    qtbot.mouseClick(panel.setup.close_button, Qt.MouseButton.LeftButton)
    table = panel.results.table
    last = table.rowCount() - 1
    assert [table.item(last, j).text() for j in range(5)] == [
        "Percentage", "56.25%", "75%", "56.25%", "62.5%"]
    assert "Component 2 (-ve)" in panel.results.stats.text()  # non-interpretable list
    panel.shutdown()


def test_blinded_dfecs_vs_pca_three_raters_by_keyboard(qtbot, qt_env, tmp_path, kpm,
                                                       neutral_face) -> None:
    _, points = neutral_face
    dfecs = make_model(q=4, seed=3)
    pca = pca_aus(kpm.X, mask=kpm.mask, n_components=2)  # 4 AUs
    panel = make_panel(qtbot, dfecs, points, tmp_path / "s.json")
    panel.set_available_models({"DFECS": dfecs, "PCA": pca})
    messages: list[str] = []
    panel.message.connect(messages.append)
    panel.setup.check_models(["DFECS", "PCA"])
    assert panel.model.kind == "comparison" and panel.model.n_components == 8
    raters = ["Ann", "Bob", "Cat"]
    panel.setup.raters_edit.setPlainText("\n".join(raters))
    qtbot.mouseClick(panel.setup.start_button, Qt.MouseButton.LeftButton)
    session = panel.session
    assert session.is_comparison and session.blinded
    # the coordinator sees the pre-check of all 8 AUs in the Session tab
    assert panel.setup.precheck_table.rowCount() == 8
    assert "DFECS: Component 1" in visible_texts(panel.setup)
    # DFECS AUs 0-3, PCA AUs 4-7; planned votes by AU
    plan = {"Ann": [1, 1, 1, 0, 1, 0, 0, 1], "Bob": [1, 1, 0, 1, 0, 0, 1, 1],
            "Cat": [1, 0, 1, 1, 1, 0, 0, 0]}
    for rater in raters:
        others = [r for r in raters if r != rater]
        # the rater's turn begins: only their own name, their own progress, no model names
        panel.setup.rater_combo.setCurrentText(rater)
        qtbot.mouseClick(panel.setup.rate_button, Qt.MouseButton.LeftButton)
        assert not panel.tabs.isTabEnabled(panel.tabs.indexOf(panel.setup))
        assert not panel.tabs.isTabEnabled(panel.tabs.indexOf(panel.results))
        seen = set()
        for _ in range(session.n_components):
            texts = " | ".join(visible_texts(panel))
            for name in others:
                assert not re.search(rf"\b{name}\b", texts), (rater, name, texts)
            for label in ("DFECS", "PCA", "+ve", "-ve", "Component", "pre-check",
                          "Plausibility", "implausible"):
                assert label not in texts, (rater, label, texts)
            assert not re.search(r"\d+ / 8 rated", texts)  # nobody's progress table
            c = panel.screen.current_component
            seen.add(c)
            qtbot.keyClick(panel.screen, Qt.Key.Key_Y if plan[rater][c] else Qt.Key.Key_N)
            if not plan[rater][c]:
                qtbot.keyClick(panel.screen, Qt.Key.Key_Right)
        assert seen == set(range(8))  # one list: both models' AUs shuffled together
        assert not panel.rate_as(others[0])  # identity fixed for the turn
        qtbot.mouseClick(panel.screen.end_turn_button, Qt.MouseButton.LeftButton)
    # the raters' orders mix the models differently
    orders = [tuple(session.order(r)) for r in raters]
    assert len(set(orders)) == 3
    for m in messages:  # the host's status bar / log never names a rater
        assert not any(re.search(rf"\b{r}\b", m) for r in raters), m
    qtbot.mouseClick(panel.setup.close_button, Qt.MouseButton.LeftButton)
    # majority: DFECS 1,1,1,1 (100 %); PCA 1,0,0,1 (50 %)
    cmp = panel.results.comparison
    assert cmp is not None and cmp.labels == ["DFECS", "PCA"]
    assert [s.majority_percent for s in cmp.summaries] == pytest.approx([100.0, 50.0])
    d = cmp.differences[0]
    ref = compare_proportions([1, 1, 1, 1], [1, 0, 0, 1], "DFECS", "PCA", n_boot=1000, seed=1)
    assert d.difference == pytest.approx(-50.0) and d.p_value == pytest.approx(ref.p_value)
    assert d.ci_low <= -50.0 <= d.ci_high
    text = panel.results.comparison_label.text()
    assert "PCA − DFECS: -50.00 percentage points" in text and "95% CI" in text
    assert "Fisher's exact test" in text
    # the pre-check's agreement with the majority vote, once closed; exported beside the CSV
    pa = panel.results.precheck_agreement
    assert pa is not None and pa.n == 8 and pa.table.sum() == 8
    assert "Cohen's κ" in panel.results.precheck_label.text()
    panel.results.export("csv", tmp_path / "results.csv")
    lines = (tmp_path / "results.precheck.csv").read_text().splitlines()
    assert lines[0].startswith("component,precheck,score") and len(lines) == 9
    assert lines[1].startswith("DFECS: Component 1,") and lines[1].endswith(",1")
    panel.shutdown()


def test_rater_aids_and_fig6_export(qtbot, qt_env, tmp_path, neutral_face) -> None:
    image, points = neutral_face
    model = make_model(q=2, seed=8)
    panel = make_panel(qtbot, model, points, tmp_path / "s.json", image=image)
    panel.start_session(["Ann"], seed=2)
    qtbot.waitUntil(lambda: len(panel.au_images) == 2, timeout=30000)
    panel.rate_as("Ann")
    screen = panel.screen
    base = screen.composed_image()
    assert base is not None
    # keypoint numbers (I): on the plot and drawn into the image
    qtbot.keyClick(screen, Qt.Key.Key_I)
    assert screen.plot.show_numbers and screen.aid("toggle_numbers")
    assert screen.composed_image() != base
    qtbot.keyClick(screen, Qt.Key.Key_I)
    # neutral face (V): fraction 0, the neutral crop instead of the AU image
    qtbot.keyClick(screen, Qt.Key.Key_V)
    assert screen.fraction == 0.0 and screen.plot.fraction == 0.0
    neutral = screen.composed_image()
    c = screen.current_component
    top, bottom, left, right = screen.material.crop_box(c)
    assert neutral.size().width() == right - left and neutral != base
    qtbot.keyClick(screen, Qt.Key.Key_V)
    assert screen.composed_image() == base
    # looping animation (P): the shown fraction runs from 0 to 1 and starts again
    qtbot.keyClick(screen, Qt.Key.Key_P)
    seen = []
    qtbot.waitUntil(lambda: seen.append(screen.plot.fraction) or (
        len(seen) > 3 and max(seen) == 1.0 and seen[-1] < 0.5 and min(seen) < 0.2),
        timeout=8000)
    qtbot.keyClick(screen, Qt.Key.Key_P)
    assert screen.fraction == 1.0
    # scale bar (S): 1/2/5 × 10^n pixels, about a sixth of the face
    qtbot.keyClick(screen, Qt.Key.Key_S)
    px = screen.plot.scale_bar_pixels()
    width = np.ptp(points[:, 0])
    assert screen.plot.show_scale_bar and width / 15 <= px <= width / 6
    assert px / 10.0 ** np.floor(np.log10(px)) in (1.0, 2.0, 5.0)
    for _ in range(2):
        qtbot.keyClick(screen, Qt.Key.Key_N)
        qtbot.keyClick(screen, Qt.Key.Key_Right)
    panel.session.set_points("Ann", 0, [19, 24])
    qtbot.mouseClick(screen.end_turn_button, Qt.MouseButton.LeftButton)
    panel.close_session()
    arts = panel.results.artifacts
    assert arts.rowCount() == 2
    assert not arts.item(0, 5).icon().isNull()  # thumbnails
    panel.results.thumbs_check.setChecked(False)
    assert panel.results.artifacts.item(0, 5).icon().isNull()
    out = panel.results.export("fig6", tmp_path / "fig6.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = panel.results.export("fig6", tmp_path / "fig6.svg").read_text()
    assert svg.count('id="artifact-keypoints"') == 1 and svg.count("<image") == 2
    panel.shutdown()
