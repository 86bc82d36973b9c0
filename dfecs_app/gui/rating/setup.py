"""Session setup (the coordinator's view): which model(s) to rate, raters' names, start /
resume, whose turn it is, close, packs.

Models to rate
--------------
A checklist of the models the host offers (the project's DFECS model, its PCA / FACS
baselines, model files loaded here, PCA AUs fitted here with a number of components). One
model checked: an ordinary session (Table 1 / Table 2). Two or more: a blinded comparison — the
models' AUs shuffled together per rater, the model hidden from raters.

Signals
-------
modelsChosen(list)
    The checked model labels changed.
loadModelRequested()
    Load a model file (the host shows a file dialog).
pcaRequested(int)
    Fit PCA AUs with this many principal components on the training KPMs.
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
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
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
    modelsChosen = Signal(list)
    loadModelRequested = Signal()
    pcaRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        model_box = QGroupBox("Models to rate (two or more: blinded comparison)")
        self.model_list = QListWidget()
        self.model_list.setAccessibleName("Models to rate")
        self.model_list.setFixedHeight(84)
        self.model_list.itemChanged.connect(lambda _i: self.modelsChosen.emit(self.chosen_models()))
        self.load_model_button = QPushButton("&Load model file…")
        self.load_model_button.clicked.connect(self.loadModelRequested)
        self.pca_spin = QSpinBox()
        self.pca_spin.setRange(1, 68)
        self.pca_spin.setValue(8)
        self.pca_spin.setAccessibleName("Number of principal components")
        self.pca_button = QPushButton("Fit &PCA AUs")
        self.pca_button.setToolTip("PCA AUs [U, −U] of the training KPMs with this many "
                                   "principal components (Table 2: 8 PCs = 16 AUs)")
        self.pca_button.clicked.connect(lambda: self.pcaRequested.emit(self.pca_spin.value()))
        self.pca_button.setEnabled(False)
        mrow = QHBoxLayout()
        mrow.addWidget(self.load_model_button)
        mrow.addWidget(QLabel("PCs:"))
        mrow.addWidget(self.pca_spin)
        mrow.addWidget(self.pca_button)
        mrow.addStretch(1)
        mlay = QVBoxLayout(model_box)
        mlay.addWidget(self.model_list)
        mlay.addLayout(mrow)
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
        pre_box = QGroupBox("Muscle-direction pre-check (coordinator only — never shown to raters)")
        self.precheck_label = QLabel("No model.")
        self.precheck_label.setWordWrap(True)
        self.precheck_table = QTableWidget()
        self.precheck_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.precheck_table.setAccessibleName("Muscle-direction pre-check")
        pl = QVBoxLayout(pre_box)
        pl.addWidget(self.precheck_label)
        pl.addWidget(self.precheck_table, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(new_box)
        layout.addWidget(cur_box)
        layout.addWidget(self.status)
        layout.addWidget(pre_box, 1)
        self.set_session(None)

    # -- models ---------------------------------------------------------------------------
    def set_models(self, labels: list[str], checked: list[str]) -> None:
        """Offer these model labels; check those in ``checked`` (no signal)."""
        self.model_list.blockSignals(True)
        self.model_list.clear()
        for lab in labels:
            item = QListWidgetItem(lab)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if lab in checked
                               else Qt.CheckState.Unchecked)
            self.model_list.addItem(item)
        self.model_list.blockSignals(False)

    def chosen_models(self) -> list[str]:
        """The checked model labels, in list order."""
        return [self.model_list.item(i).text() for i in range(self.model_list.count())
                if self.model_list.item(i).checkState() == Qt.CheckState.Checked]

    def check_models(self, labels: list[str]) -> None:
        """Check exactly ``labels`` (emits modelsChosen once)."""
        self.model_list.blockSignals(True)
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in labels
                               else Qt.CheckState.Unchecked)
        self.model_list.blockSignals(False)
        self.modelsChosen.emit(self.chosen_models())

    def set_precheck(self, rows: list[dict[str, str]] | None) -> None:
        """Show the pre-check rows (:func:`~dfecs_app.core.muscle_check.precheck_rows`)."""
        cols = [("component", "AU"), ("precheck", "Pre-check"), ("score", "Plausibility"),
                ("flagged_keypoints", "Keypoints against the muscles"),
                ("against_muscles", "Muscles there")]
        self.precheck_table.clear()
        self.precheck_table.setColumnCount(len(cols))
        self.precheck_table.setHorizontalHeaderLabels([c[1] for c in cols])
        rows = rows or []
        self.precheck_table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, (key, _) in enumerate(cols):
                self.precheck_table.setItem(i, j, QTableWidgetItem(r[key]))
        self.precheck_table.resizeColumnsToContents()
        bad = sum(r["precheck"] != "plausible" for r in rows)
        self.precheck_label.setText(
            "No model." if not rows else
            f"{len(rows) - bad} of {len(rows)} AUs plausible (plausibility = share of the "
            "moving displacement within the facial muscles' directions, plausible from 0.8); "
            "flagged keypoints move against every muscle at that point.")

    def set_can_fit_pca(self, on: bool) -> None:
        self.pca_button.setEnabled(on)

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
        models = ""
        if session.is_comparison:
            models = ("<br>Blinded comparison of " + ", ".join(
                f"{m['label']} ({int(m['stop']) - int(m['start'])} AUs)" for m in session.models)
                + ": raters see neutral labels only")
        self.session_label.setText(f"<b>{session.path.name}</b> ({state}) — "
                                   f"{session.n_components} AUs{models}<br>{progress}")

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(f"<span style='color:#b00020'>{text}</span>" if error else text)
