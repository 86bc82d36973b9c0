"""Session setup: raters' names, start / resume, which rater rates now, close, packs.

Signals
-------
startRequested(list, int, str, bool)
    Start a new session: (rater names, seed, tie rule, blinded).
openRequested()
    Resume: open an existing session file (the host shows a file dialog).
rateRequested(str)
    Rate as this rater now.
closeRequested()
    Close the session (results become visible).
packRequested(str)
    Export a rating pack for this rater.
mergeRequested()
    Merge a returned ratings file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.ratings import TIE_RULES
from dfecs_app.io.rating_session import DEFAULT_RATERS, RatingSession


class SessionSetupWidget(QWidget):
    """Set up, resume and close a rating session; see the module docstring."""

    startRequested = Signal(list, int, str, bool)
    openRequested = Signal()
    rateRequested = Signal(str)
    closeRequested = Signal()
    packRequested = Signal(str)
    mergeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        new_box = QGroupBox("New session")
        self.raters_edit = QPlainTextEdit("\n".join(DEFAULT_RATERS))
        self.raters_edit.setTabChangesFocus(True)
        self.raters_edit.setFixedHeight(90)
        self.raters_edit.setAccessibleName("Rater names, one per line")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(1)
        self.tie_combo = QComboBox()
        for t in TIE_RULES:
            self.tie_combo.addItem(f"a tie counts as {t.replace('_', '-')}", t)
        self.blinded_check = QCheckBox("&Blinded (own random order, no view of others' votes)")
        self.blinded_check.setChecked(True)
        self.start_button = QPushButton("&Start new session")
        self.start_button.clicked.connect(self._start)
        self.open_button = QPushButton("&Resume a session…")
        self.open_button.clicked.connect(self.openRequested)
        form = QFormLayout(new_box)
        form.addRow("Raters (one per line):", self.raters_edit)
        form.addRow("Order seed:", self.seed_spin)
        form.addRow("Tie rule:", self.tie_combo)
        form.addRow(self.blinded_check)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        form.addRow(row)

        cur_box = QGroupBox("Current session")
        self.session_label = QLabel("No session.")
        self.session_label.setWordWrap(True)
        self.session_label.setTextFormat(Qt.TextFormat.RichText)
        self.rater_combo = QComboBox()
        self.rater_combo.setAccessibleName("Rater")
        self.rate_button = QPushButton("Rate &as this rater")
        self.rate_button.clicked.connect(lambda: self.rateRequested.emit(self.rater_combo.currentText()))
        self.pack_button = QPushButton("Export rating &pack…")
        self.pack_button.clicked.connect(lambda: self.packRequested.emit(self.rater_combo.currentText()))
        self.merge_button = QPushButton("&Merge returned ratings…")
        self.merge_button.clicked.connect(self.mergeRequested)
        self.close_button = QPushButton("&Close session (show results)")
        self.close_button.clicked.connect(self.closeRequested)
        cur = QVBoxLayout(cur_box)
        cur.addWidget(self.session_label)
        r1 = QHBoxLayout()
        r1.addWidget(QLabel("Rater:"))
        r1.addWidget(self.rater_combo, 1)
        r1.addWidget(self.rate_button)
        r1.addWidget(self.pack_button)
        cur.addLayout(r1)
        r2 = QHBoxLayout()
        r2.addWidget(self.merge_button)
        r2.addWidget(self.close_button)
        r2.addStretch(1)
        cur.addLayout(r2)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(new_box)
        layout.addWidget(cur_box)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.set_session(None)

    def rater_names(self) -> list[str]:
        return [line.strip() for line in self.raters_edit.toPlainText().splitlines()
                if line.strip()]

    def _start(self) -> None:
        self.startRequested.emit(self.rater_names(), self.seed_spin.value(),
                                 self.tie_combo.currentData(), self.blinded_check.isChecked())

    def set_can_start(self, on: bool) -> None:
        self.start_button.setEnabled(on)

    def set_session(self, session: RatingSession | None) -> None:
        """Show the session's state (progress counts only: votes stay blinded)."""
        self.rater_combo.clear()
        has = session is not None
        for w in (self.rate_button, self.pack_button, self.merge_button, self.close_button,
                  self.rater_combo):
            w.setEnabled(has and not session.closed)
        if not has:
            self.session_label.setText("No session. Start one for the current model, or resume.")
            return
        self.rater_combo.addItems(session.raters)
        progress = "<br>".join(f"{r}: {session.vote_count(r)} / {session.n_components} rated"
                               for r in session.raters)
        state = "closed" if session.closed else ("open, blinded" if session.blinded else "open")
        self.session_label.setText(f"<b>{session.path.name}</b> ({state}) — "
                                   f"{session.n_components} AUs<br>{progress}")

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(f"<span style='color:#b00020'>{text}</span>" if error else text)
