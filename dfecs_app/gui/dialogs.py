"""Every modal dialog of the app goes through this module.

In normal use these are ordinary ``QMessageBox`` / ``QFileDialog`` calls. In *test mode*
(``set_test_mode(True)``, set by the GUI test suite and by ``--screenshot``) nothing blocks:
each dialog is recorded in :data:`shown` and questions return the next answer queued with
:func:`queue_answer` (or their default), file dialogs the next queued path list.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

log = logging.getLogger(__name__)

_test_mode = False
_answers: deque[Any] = deque()


@dataclass
class Shown:
    """A dialog that was shown (test mode keeps them for assertions)."""

    kind: str
    title: str
    text: str
    detail: str = ""


#: Dialogs shown in test mode, oldest first.
shown: list[Shown] = []


def set_test_mode(on: bool) -> None:
    """Make every dialog non-blocking (recorded in :data:`shown`)."""
    global _test_mode
    _test_mode = bool(on)
    _answers.clear()
    shown.clear()


def test_mode() -> bool:
    return _test_mode


def queue_answer(answer: Any) -> None:
    """The answer the next question or file dialog returns in test mode."""
    _answers.append(answer)


def _next(default: Any) -> Any:
    return _answers.popleft() if _answers else default


def error(parent: QWidget | None, title: str, text: str, detail: str = "") -> None:
    """A readable error message (``detail``: e.g. a traceback, folded away)."""
    log.info("error dialog: %s: %s", title, text)
    if _test_mode:
        shown.append(Shown("error", title, text, detail))
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    if detail:
        box.setDetailedText(detail)
    box.exec()


def info(parent: QWidget | None, title: str, text: str) -> None:
    if _test_mode:
        shown.append(Shown("info", title, text))
        return
    QMessageBox.information(parent, title, text)


def question(parent: QWidget | None, title: str, text: str, default: bool = True) -> bool:
    """Yes/No question; returns True for Yes."""
    if _test_mode:
        shown.append(Shown("question", title, text))
        return bool(_next(default))
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons,
                                  QMessageBox.StandardButton.Yes if default
                                  else QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def save_discard_cancel(parent: QWidget | None, title: str, text: str) -> str:
    """The unsaved-changes prompt: returns ``"save"``, ``"discard"`` or ``"cancel"``."""
    if _test_mode:
        shown.append(Shown("unsaved", title, text))
        return str(_next("discard"))
    buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
               | QMessageBox.StandardButton.Cancel)
    answer = QMessageBox.warning(parent, title, text, buttons, QMessageBox.StandardButton.Save)
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")


def open_files(parent: QWidget | None, title: str, directory: str = "",
               filter: str = "") -> list[str]:  # noqa: A002 - Qt's name
    if _test_mode:
        shown.append(Shown("open_files", title, directory))
        return list(_next([]))
    paths, _ = QFileDialog.getOpenFileNames(parent, title, directory, filter)
    return paths


def open_file(parent: QWidget | None, title: str, directory: str = "",
              filter: str = "") -> str:  # noqa: A002
    if _test_mode:
        shown.append(Shown("open_file", title, directory))
        return str(_next(""))
    path, _ = QFileDialog.getOpenFileName(parent, title, directory, filter)
    return path


def open_dir(parent: QWidget | None, title: str, directory: str = "") -> str:
    if _test_mode:
        shown.append(Shown("open_dir", title, directory))
        return str(_next(""))
    return QFileDialog.getExistingDirectory(parent, title, directory)


def save_file(parent: QWidget | None, title: str, directory: str = "",
              filter: str = "") -> str:  # noqa: A002
    if _test_mode:
        shown.append(Shown("save_file", title, directory))
        return str(_next(""))
    path, _ = QFileDialog.getSaveFileName(parent, title, directory, filter)
    return path


def exception(parent: QWidget | None, what: str, err: BaseException, tb: str = "") -> None:
    """Show a failure readably: a user error (:class:`DfecsError`) as its one line; anything
    else as "unexpected error" with the traceback folded into the details. A failure of
    background work (a worker) in a window with a notification bar is shown there, in
    place and non-modal (:mod:`dfecs_app.gui.notifications`); anything else in a dialog."""
    from dfecs_app.errors import DfecsError
    from dfecs_app.gui.worker import failed_in_background

    if isinstance(err, DfecsError):
        text, tb = str(err), ""
    else:
        text = f"Unexpected error while {what.lower()}: {type(err).__name__}: {err}"
    bar = getattr(parent.window(), "notification_bar", None) if parent is not None else None
    if bar is not None and failed_in_background(err):
        log.info("notification: %s failed: %s", what, text)
        bar.notify(f"{what} failed", text, tb)  # in place, non-modal; repeats are counted
        return
    error(parent, f"{what} failed", text, tb)
