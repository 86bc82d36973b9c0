"""Main window: panels by keyboard, one shortcut table, layout kept in QSettings, help."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.main_window import MainWindow
from dfecs_app.gui.shortcuts import PANELS, SHORTCUTS, help_rows


def test_shortcut_table_is_unique_and_drives_actions(window) -> None:  # noqa: ANN001
    keys = [s.sequence().toString() for s in SHORTCUTS]
    assert len(keys) == len(set(keys)), "two actions share a key"
    assert set(window.actions) == {s.action for s in SHORTCUTS}
    for s in SHORTCUTS:
        assert window.actions[s.action].shortcut() == s.sequence()
    assert len(help_rows()) == len(SHORTCUTS)
    window.actions["shortcuts_help"].trigger()
    assert dialogs.shown[-1].kind == "shortcuts"


def test_ctrl_number_raises_each_panel(window, qtbot) -> None:  # noqa: ANN001
    for i, (pid, _) in enumerate(PANELS):
        if pid not in window.docks:
            continue
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + i), Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda p=pid: window.is_shown(p), timeout=2000)
        others = [q for q in window.panels if q != pid and window.is_shown(q)]
        assert not others, f"Ctrl+{i + 1}: {others} shown beside {pid}"
        assert not window.panels[pid].visibleRegion().isEmpty()
    assert QKeySequence("Ctrl+4") == window.actions["panel_aus"].shortcut()


def test_layout_is_restored_from_settings(window, qtbot) -> None:  # noqa: ANN001
    window.raise_panel("evaluate")
    window.docks["log"].show()
    window.save_layout()
    assert not settings.get("window/state").isEmpty()
    again = MainWindow()
    try:
        again.show()
        qtbot.waitExposed(again)
        assert again.docks["log"].isVisible()
        qtbot.waitUntil(lambda: again.is_shown("evaluate"), timeout=2000)
        assert not again.is_shown("data")
    finally:
        again.shutdown()
        again.close()
        again.deleteLater()
