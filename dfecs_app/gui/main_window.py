"""The main window: one dock per panel, menus built from the shortcut table, projects.

Panels are ``QDockWidget``s, tabified by default (the user may float or split them; the layout
is kept with ``saveState``/``restoreState`` in QSettings). ``Ctrl+1`` … ``Ctrl+7`` raise them.
A project is saved and reopened through :mod:`dfecs_app.io.project`; closing, opening or
replacing a modified project asks first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dfecs_app import __version__
from dfecs_app.gui import dialogs, settings, worker
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.shortcuts import PANELS, SHORTCUTS, help_rows
from dfecs_app.io.licences import PREDICTOR_NOTICE

log = logging.getLogger(__name__)

PROJECT_FILTER = "DFECS projects (*.dfecs.json *.json);;All files (*)"
STATE_VERSION = 1


class MainWindow(QMainWindow):
    """DFECS Studio's main window.

    Parameters
    ----------
    document : ProjectDocument, optional
        The project to show (a new empty one by default).
    keep_layout : bool
        Restore the window layout from QSettings and save it on close (``--screenshot``
        turns this off so that README images do not depend on the user's layout).

    Attributes
    ----------
    document : ProjectDocument
    panels : dict str -> QWidget
        Panel widgets by id (``data``, ``neutral``, ``train``, ``aus``, ``projected``,
        ``evaluate``, ``ratings``).
    docks : dict str -> QDockWidget
    actions : dict str -> QAction
        One per row of :data:`dfecs_app.gui.shortcuts.SHORTCUTS`.

    Signals
    -------
    projectSaved(str), projectLoaded(str)
    """

    projectSaved = Signal(str)
    projectLoaded = Signal(str)

    def __init__(self, document: ProjectDocument | None = None, *,
                 keep_layout: bool = True) -> None:
        super().__init__()
        import pyqtgraph as pg

        pg.setConfigOptions(foreground="#202020", antialias=True)
        self.setObjectName("MainWindow")
        self.document = document or ProjectDocument(self)
        if self.document.parent() is None:
            self.document.setParent(self)
        self.panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.shown: dict[str, bool] = {}
        self.actions: dict[str, QAction] = {}
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AnimatedDocks)
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self._make_actions()
        self._make_panels()
        self._make_menus()
        self._make_log_dock()
        self._make_notification_bar()
        self._default_state = self.saveState(STATE_VERSION)
        self.statusBar().showMessage("Ready")
        self._work_label = QLabel("")
        self.statusBar().addPermanentWidget(self._work_label)
        self._busy_timer = QTimer(self)
        self._busy_timer.setInterval(500)
        self._busy_timer.timeout.connect(self._update_busy)
        self._busy_timer.start()
        self.document.dirtyChanged.connect(self._update_title)
        self.document.pathChanged.connect(self._update_title)
        self.resize(1500, 950)
        self.keep_layout = keep_layout
        if not (keep_layout and self._restore_layout()):
            self.raise_panel("data")
        self._notification_toolbar.hide()  # shown by the first failure of background work
        self._update_title()

    # -- construction ----------------------------------------------------------------------
    def _make_actions(self) -> None:
        handlers = {
            "new_project": self.new_project,
            "open_project": lambda: self.open_project(),
            "save_project": lambda: self.save_project(),
            "save_project_as": lambda: self.save_project(ask=True),
            "open_data": lambda: self.panels["data"].open_files_dialog(),
            "open_demo": lambda: self.open_demo(),
            "export_current": self.export_current,
            "train": lambda: (self.raise_panel("train"), self.panels["train"].start_training()),
            "cancel": self.cancel_work,
            "shortcuts_help": self.show_shortcuts,
            "quit": self.close,
        }
        for sc in SHORTCUTS:
            act = QAction(sc.text, self)
            act.setShortcut(sc.sequence())
            act.setStatusTip(sc.description)
            act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            if sc.action.startswith("panel_"):
                pid = sc.action[len("panel_"):]
                act.triggered.connect(lambda _=False, p=pid: self.raise_panel(p))
            else:
                act.triggered.connect(handlers[sc.action])
            self.addAction(act)
            self.actions[sc.action] = act

    def _panel_classes(self) -> dict[str, Any]:
        from dfecs_app.gui.au_panel import AUPanel
        from dfecs_app.gui.code_panel import CodePanel
        from dfecs_app.gui.data_panel import DataPanel
        from dfecs_app.gui.evaluate_panel import EvaluatePanel
        from dfecs_app.gui.neutral_panel import NeutralPanel
        from dfecs_app.gui.projected_panel import ProjectedPanel
        from dfecs_app.gui.train_panel import TrainPanel

        classes: dict[str, Any] = {
            "data": DataPanel, "neutral": NeutralPanel, "train": TrainPanel, "aus": AUPanel,
            "projected": ProjectedPanel, "evaluate": EvaluatePanel,
            "code": CodePanel,
        }
        rating = _rating_panel_class()
        if rating is not None:
            classes["ratings"] = rating
        return classes

    def _make_panels(self) -> None:
        classes = self._panel_classes()
        first: QDockWidget | None = None
        for pid, text in PANELS:
            cls = classes.get(pid)
            if cls is None:
                self.actions[f"panel_{pid}"].setEnabled(False)
                continue
            panel = cls(self.document, self) if pid != "ratings" else _make_rating_panel(cls, self)
            dock = QDockWidget(text.replace("&", ""), self)
            dock.setObjectName(f"dock_{pid}")
            dock.setWidget(panel)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
            self.panels[pid] = panel
            self.docks[pid] = dock
            dock.visibilityChanged.connect(lambda on, p=pid: self._on_dock_visibility(p, on))
        from dfecs_app.gui.view_settings import bind_view_settings

        bind_view_settings(self.document, self.panels)  # arrow scale, intensity per project
        # cross-panel navigation without panels knowing each other
        aus = self.panels.get("aus")
        projected = self.panels.get("projected")
        if aus is not None and projected is not None:
            aus.set_morph_provider(projected)
        if "ratings" in self.panels:
            for sig in (self.document.modelChanged, self.document.neutralChanged,
                        self.document.replaced, self.document.pathChanged,
                        self.document.evaluationChanged, self.document.kpmChanged):
                sig.connect(self._update_rating_panel)
            self.panels["ratings"].sessionChanged.connect(self._on_session_changed)

    def _on_dock_visibility(self, pid: str, on: bool) -> None:
        """A dock's tab became current (or not): panels do lazy work only when shown
        (tabified docks are moved off-screen, not hidden, so ``isVisible`` cannot tell)."""
        self.shown[pid] = bool(on)
        panel = self.panels.get(pid)
        hook = getattr(panel, "set_shown", None)
        if hook is not None:
            hook(bool(on))
        if pid == "ratings" and on:
            self._update_rating_panel()

    def is_shown(self, pid: str) -> bool:
        """Whether the panel's dock is open and in front."""
        return self.shown.get(pid, False)

    # -- rating sessions -------------------------------------------------------------------
    def session_path(self) -> Path | None:
        """The rating session file of the current model: the one the project lists, else
        ``<project>.dfecs/ratings/session-<model hash>.json``, or for an unsaved project the
        same name in the app's data folder (so votes are autosaved from the first click)."""
        model = self.document.model
        if model is None:
            return None
        key = model.content_hash()[:12]
        known = self.document.sessions.get(key)
        if known:
            return Path(known)
        if self.document.path is None:
            from PySide6.QtCore import QStandardPaths

            data = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.AppDataLocation)
            return Path(data) / "ratings" / f"session-{key}.json"
        from dfecs_app.io.project import sidecar_dir

        return sidecar_dir(self.document.path) / "ratings" / f"session-{key}.json"

    def _update_rating_panel(self, *_: Any) -> None:
        panel = self.panels.get("ratings")
        if panel is None or not self.is_shown("ratings"):  # rendered when the tab is opened
            return
        doc = self.document
        offer = getattr(panel, "set_available_models", None)
        if offer is not None:  # the project's models to choose from (baselines too)
            offer({"DFECS": doc.model, **doc.baselines}, kpm=doc.kpm)
        key = (id(doc.model), id(doc.neutral_image), None if doc.neutral_landmarks is None
               else doc.neutral_landmarks.tobytes(), str(self.session_path()))
        if key == getattr(self, "_rating_key", None):
            return
        self._rating_key = key
        panel.set_model(doc.model, doc.neutral_image, doc.neutral_landmarks, self.session_path())

    def _on_session_changed(self, path: str) -> None:
        if self.document.model is not None and path:
            rated = getattr(self.panels.get("ratings"), "rated_hash", None)
            key = (rated or self.document.model.content_hash())[:12]
            if self.document.sessions.get(key) != path:
                self.document.sessions[key] = path
                self.document.set_dirty()

    def _make_notification_bar(self) -> None:
        """Failures of background work, in place (:mod:`dfecs_app.gui.notifications`)."""
        from PySide6.QtWidgets import QSizePolicy, QToolBar

        from dfecs_app.gui.notifications import NotificationBar

        self.notification_bar = NotificationBar(self)
        self.notification_bar.setSizePolicy(QSizePolicy.Policy.Expanding,
                                            QSizePolicy.Policy.Maximum)
        bar = QToolBar("Notifications", self)
        bar.setObjectName("notifications")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setVisible(False)
        self.notification_bar.show()  # its toolbar is shown and hidden instead
        bar.addWidget(self.notification_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self._notification_toolbar = bar
        self.notification_bar.container = bar

    def _make_log_dock(self) -> None:
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        dock = QDockWidget("Log", self)
        dock.setObjectName("dock_log")
        dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.docks["log"] = dock
        self._view_menu.addSeparator()
        self._view_menu.addAction(dock.toggleViewAction())
        for panel in self.panels.values():
            sig = getattr(panel, "message", None)
            if sig is not None:
                sig.connect(self.log_message)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        for key in ("new_project", "open_project"):
            m.addAction(self.actions[key])
        self._recent_menu = QMenu("Open &recent", self)
        self._recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addMenu(self._recent_menu)
        for key in ("open_demo", None, "save_project", "save_project_as", None, "open_data",
                    "export_current", None, "quit"):
            if key is None:
                m.addSeparator()
            else:
                m.addAction(self.actions[key])
        m = bar.addMenu("&Run")
        m.addAction(self.actions["train"])
        m.addAction(self.actions["cancel"])
        self._view_menu = bar.addMenu("&View")
        for pid, _ in PANELS:
            self._view_menu.addAction(self.actions[f"panel_{pid}"])
        self._view_menu.addSeparator()
        reset = self._view_menu.addAction("Reset &layout")
        reset.triggered.connect(self.reset_layout)
        m = bar.addMenu("&Help")
        m.addAction(self.actions["shortcuts_help"])
        about = m.addAction("&About DFECS Studio")
        about.triggered.connect(lambda: dialogs.info(
            self, "About DFECS Studio",
            f"DFECS Studio {__version__}\nData-driven Facial Expression Coding System.\n"
            f"Settings: {settings.settings_file()}\n\n{PREDICTOR_NOTICE}\n"
            "Frontalization weights: MIT (Vonikakis & Winkler). Licences: see the README."))

    # -- panels ----------------------------------------------------------------------------
    def raise_panel(self, pid: str) -> None:
        dock = self.docks.get(pid)
        if dock is None:
            return
        dock.show()
        dock.raise_()
        panel = self.panels.get(pid)
        if panel is not None:
            panel.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def current_panel_id(self) -> str | None:
        """The panel whose dock is visible and in front (focus first, then visibility)."""
        focus = self.focusWidget()
        for pid, panel in self.panels.items():
            if focus is not None and (focus is panel or panel.isAncestorOf(focus)):
                return pid
        for pid in self.panels:
            if self.is_shown(pid):
                return pid
        return None

    def log_message(self, text: str) -> None:
        self.log_view.appendPlainText(text)
        self.statusBar().showMessage(text.splitlines()[0] if text else "", 8000)

    def _update_busy(self) -> None:
        names = [w.name for w in worker.running_workers()]
        self._work_label.setText(("Running: " + ", ".join(names)) if names else "")

    def cancel_work(self) -> None:
        for w in worker.running_workers():
            w.cancel()

    def export_current(self) -> None:
        pid = self.current_panel_id()
        panel = self.panels.get(pid or "")
        if panel is None or not hasattr(panel, "export_dialog"):
            dialogs.info(self, "Export", "This panel has nothing to export.")
            return
        panel.export_dialog()

    def show_shortcuts(self) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(0, 2, dlg)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        for keys, text in help_rows():
            r = table.rowCount()
            table.insertRow(r)
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=dlg)
        buttons.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(table)
        lay.addWidget(buttons)
        dlg.resize(520, 480)
        if dialogs.test_mode():
            dialogs.shown.append(dialogs.Shown("shortcuts", "Keyboard shortcuts",
                                               f"{table.rowCount()} rows"))
            dlg.deleteLater()
            return
        dlg.exec()
        dlg.deleteLater()

    # -- layout ----------------------------------------------------------------------------
    def _restore_layout(self) -> bool:
        """Window geometry and dock layout from QSettings; False when there was none."""
        geometry = settings.get("window/geometry")
        state = settings.get("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            return bool(self.restoreState(state, STATE_VERSION))
        return False

    def save_layout(self) -> None:
        settings.set("window/geometry", self.saveGeometry())
        settings.set("window/state", self.saveState(STATE_VERSION))

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for pid, dock in self.docks.items():
            dock.setVisible(pid != "log")
        self.raise_panel("data")

    # -- projects --------------------------------------------------------------------------
    def _update_title(self, *_: Any) -> None:
        self.setWindowTitle(f"{self.document.name}[*] — DFECS Studio")
        self.setWindowModified(self.document.dirty)

    def maybe_save(self) -> bool:
        """Ask what to do with unsaved changes; False means "stay" (the user cancelled)."""
        if not self.document.dirty:
            return True
        answer = dialogs.save_discard_cancel(
            self, "Unsaved changes",
            f"The project “{self.document.name}” has unsaved changes. Save them?")
        if answer == "save":
            return self.save_project()
        return answer == "discard"

    def new_project(self) -> None:
        if not self.maybe_save():
            return
        self.cancel_work()
        self.document.clear()

    def open_project(self, path: str | Path | None = None) -> bool:
        """Open a project file (asks for one when ``path`` is None)."""
        if not self.maybe_save():
            return False
        if path is None:
            path = dialogs.open_file(self, "Open project", settings.get("projects/last_dir"),
                                     PROJECT_FILTER)
            if not path:
                return False
        from dfecs_app.gui.project_bridge import load_into

        try:
            load_into(self.document, Path(path))
        except Exception as err:  # noqa: BLE001 - shown to the user, app stays usable
            import traceback

            dialogs.exception(self, "Opening the project", err, traceback.format_exc())
            return False
        settings.add_recent_project(path)
        settings.set("projects/last_dir", str(Path(path).resolve().parent))
        self.log_message(f"Opened project {path}")
        self.projectLoaded.emit(str(path))
        return True

    def save_project(self, path: str | Path | None = None, ask: bool = False) -> bool:
        """Save the project (asks for a file name when it has none or ``ask``)."""
        if path is None and (ask or self.document.path is None):
            path = dialogs.save_file(self, "Save project as", settings.get("projects/last_dir"),
                                     PROJECT_FILTER)
            if not path:
                return False
            if not str(path).endswith(".json"):
                path = str(path) + ".dfecs.json"
        path = Path(path) if path is not None else self.document.path
        from dfecs_app.gui.project_bridge import save_from

        try:
            save_from(self.document, path)
        except Exception as err:  # noqa: BLE001
            import traceback

            dialogs.exception(self, "Saving the project", err, traceback.format_exc())
            return False
        settings.add_recent_project(path)
        settings.set("projects/last_dir", str(Path(path).resolve().parent))
        self.log_message(f"Saved project {path}")
        self.projectSaved.emit(str(path))
        return True

    def open_demo(self, ask: bool = True) -> bool:
        """Replace the project by the built-in demo."""
        if ask and not self.maybe_save():
            return False
        from dfecs_app.gui.project_bridge import load_demo_into

        try:
            load_demo_into(self.document)
        except Exception as err:  # noqa: BLE001
            import traceback

            dialogs.exception(self, "Opening the demo", err, traceback.format_exc())
            return False
        self.log_message("Opened the demo project: press Ctrl+R (Train) to learn its AUs.")
        return True

    def _fill_recent_menu(self) -> None:
        self._recent_menu.clear()
        recent = settings.recent_projects()
        if not recent:
            act = self._recent_menu.addAction("(none)")
            act.setEnabled(False)
        for i, path in enumerate(recent):
            act = self._recent_menu.addAction(f"&{i + 1} {Path(path).name}")
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self.open_project(p))

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop background work (bounded wait) and keep the layout; safe to call twice."""
        self._busy_timer.stop()
        worker.stop_all(timeout_ms)
        for panel in self.panels.values():
            stop = getattr(panel, "shutdown", None)
            if stop is not None:
                stop()
        if self.keep_layout:
            self.save_layout()


def _rating_panel_class() -> Any:
    """The ratings helper's panel class, when that package is installed in the tree."""
    try:
        from dfecs_app.gui import rating
    except ImportError:
        return None
    return getattr(rating, "RatingPanel", None)


def _make_rating_panel(cls: Any, window: MainWindow) -> QWidget:
    try:
        return cls(parent=window)
    except TypeError:
        return cls(window)


__all__ = ["MainWindow"]
