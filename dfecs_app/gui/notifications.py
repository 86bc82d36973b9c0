"""The main window's notification bar: failures of background work, shown in place.

A failed worker (:mod:`dfecs_app.gui.worker`) is reported by the panel that started it through
:func:`dfecs_app.gui.dialogs.exception`; when that panel sits in a window with a
:class:`NotificationBar`, the failure appears there — one line, non-modal, with "Details" for
an unexpected error's traceback — instead of a modal dialog. The same failure repeated (a morph
failing for every AU) is counted on the one line ("… (×12)"), never a dialog storm; the panels
stay usable while it is shown and the bar closes with its × button or Esc.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["Notice", "NotificationBar"]


@dataclass
class Notice:
    """One notification: where it came from, its line, the details, how often it happened."""

    title: str
    text: str
    detail: str = ""
    count: int = 1


class NotificationBar(QFrame):
    """A closable bar showing the latest failure (see the module docstring).

    Attributes
    ----------
    history : list of Notice
        Every distinct notice, oldest first (repeats raise ``count``).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notification_bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#notification_bar { background: #fdecea; border: 1px solid #e0a09a; }"
                           " QLabel { color: #611a15; }")
        self.history: list[Notice] = []
        #: The widget shown and hidden instead of the bar (the window's toolbar holding it).
        self.container: QWidget | None = None
        self.label = QLabel("")
        self.label.setWordWrap(False)  # a toolbar has no height-for-width: one line, tooltip
        self.label.setMinimumWidth(200)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        self.close_button = QPushButton("×")
        self.close_button.setToolTip("Dismiss (Esc)")
        self.close_button.setFixedWidth(28)
        self.close_button.clicked.connect(self.dismiss)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(160)
        self.details.hide()
        row = QHBoxLayout()
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.details_button)
        row.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(row)
        lay.addWidget(self.details)
        self._open = False
        self.hide()

    @property
    def current(self) -> Notice | None:
        """The notice shown (None when the bar is closed)."""
        return self.history[-1] if self.history and self.is_open() else None

    def notify(self, title: str, text: str, detail: str = "") -> Notice:
        """Show a failure; the same one again only counts up on the shown line."""
        last = self.history[-1] if self.history else None
        if last is not None and (last.title, last.text) == (title, text) and self.is_open():
            last.count += 1
            notice = last
        else:
            notice = Notice(title, text, detail)
            self.history.append(notice)
        count = f" (×{notice.count})" if notice.count > 1 else ""
        self.label.setText(f"<b>{_escape(title)}:</b> {_escape(text)}{count}")
        self.label.setToolTip(f"{title}: {text}")
        self.details.setPlainText(notice.detail)
        self.details_button.setVisible(bool(notice.detail))
        if not notice.detail:
            self.details_button.setChecked(False)
        self._open = True
        (self.container or self).show()
        return notice

    def is_open(self) -> bool:
        """Whether a notice is shown (until dismissed)."""
        return self._open

    def dismiss(self) -> None:
        self.details_button.setChecked(False)
        self._open = False
        (self.container or self).hide()

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)

    def _toggle_details(self, on: bool) -> None:
        self.details.setVisible(on and bool(self.details.toPlainText()))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
