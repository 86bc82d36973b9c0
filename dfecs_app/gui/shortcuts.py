"""One table of keyboard shortcuts: it creates the window's actions and the help page.

Each row is an action id, its key sequence (Qt portable text, or a standard key), the menu text
and a description. The main window builds one ``QAction`` per row (``MainWindow.actions[id]``)
and the Help ▸ Keyboard shortcuts dialog lists this same table, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class Shortcut:
    """One keyboard shortcut.

    Attributes
    ----------
    action : str
        Action id (``MainWindow.actions`` key).
    keys : str or QKeySequence.StandardKey
        Key sequence.
    text : str
        Menu text (with ``&`` mnemonic).
    description : str
        What it does, for the help page.
    """

    action: str
    keys: str | QKeySequence.StandardKey
    text: str
    description: str

    def sequence(self) -> QKeySequence:
        return QKeySequence(self.keys)


#: The panels in tab order; ``Ctrl+<n>`` shows panel n.
PANELS: tuple[tuple[str, str], ...] = (
    ("data", "&Data"),
    ("neutral", "&Neutral face"),
    ("train", "&Train"),
    ("aus", "&AUs"),
    ("projected", "&Projected AU images"),
    ("evaluate", "&Evaluate"),
    ("ratings", "&Rating sessions"),
    ("code", "&Code videos"),
)

SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("new_project", QKeySequence.StandardKey.New, "&New project", "Start an empty project"),
    Shortcut("open_project", QKeySequence.StandardKey.Open, "&Open project…",
             "Open a project file (.dfecs.json)"),
    Shortcut("save_project", QKeySequence.StandardKey.Save, "&Save project", "Save the project"),
    Shortcut("save_project_as", "Ctrl+Shift+S", "Save project &as…",
             "Save the project under a new name"),
    Shortcut("open_data", "Ctrl+L", "&Load landmark files…",
             "Add landmark files or folders (every format the readers know)"),
    Shortcut("open_demo", "Ctrl+Shift+D", "Open &demo project", "Replace the project by the demo"),
    Shortcut("export_current", "Ctrl+E", "&Export current view…",
             "Export the plot or table of the current panel (PNG, SVG, CSV)"),
    Shortcut("train", "Ctrl+R", "&Train", "Start training on the project's KPMs"),
    Shortcut("cancel", "Ctrl+.", "&Cancel running work", "Stop training or morphing between steps"),
    Shortcut("shortcuts_help", "F1", "&Keyboard shortcuts", "Show this table"),
    Shortcut("quit", QKeySequence.StandardKey.Quit, "&Quit", "Close the window (asks to save)"),
) + tuple(
    Shortcut(f"panel_{pid}", f"Ctrl+{i + 1}", text, f"Show the {text.replace('&', '')} panel")
    for i, (pid, text) in enumerate(PANELS)
)


def by_action(action: str) -> Shortcut:
    """The table row of an action id."""
    for s in SHORTCUTS:
        if s.action == action:
            return s
    raise KeyError(action)


def help_rows() -> list[tuple[str, str]]:
    """(key text, description) for the help dialog, in table order."""
    return [(s.sequence().toString(QKeySequence.SequenceFormat.NativeText), s.description)
            for s in SHORTCUTS]
