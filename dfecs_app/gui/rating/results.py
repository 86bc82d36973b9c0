"""Results of a closed session: Table 1/2, percentages, agreement, artifacts and exports.

Signals
-------
exported(str)
    A file was written (its path).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.ratings import RatingSummary
from dfecs_app.errors import DfecsError
from dfecs_app.io.atomic import write_text_atomic
from dfecs_app.io.rating_export import (
    artifact_rows,
    artifacts_to_csv,
    artifacts_to_markdown,
    export_grid_figure,
    export_table,
    fmt_percent,
    table_rows,
)
from dfecs_app.io.rating_session import RatingSession
from dfecs_app.stats.agreement import Agreement, agreement

N_BOOT = 1000


def _stat(x: float, ci) -> str:
    if not math.isfinite(x):
        return "undefined (all votes agree)"
    if not math.isfinite(ci.low):
        return f"{x:.3f}"
    return f"{x:.3f}  ({ci.level:.0%} CI {ci.low:.3f} – {ci.high:.3f}, bootstrap over AUs)"


class ResultsWidget(QWidget):
    """Table 1/2 of a closed session with κ, α and the artifact list; see module doc."""

    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: RatingSession | None = None
        self.summary: RatingSummary | None = None
        self.agreement: Agreement | None = None
        self.model: AUModel | None = None
        self.neutral_points: np.ndarray | None = None
        self.thumbnails: dict[int, str] = {}
        self.info = QLabel("Results appear when the session is closed.")
        self.info.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName("Interpretability table")
        self.stats = QLabel()
        self.stats.setTextFormat(Qt.TextFormat.RichText)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.artifacts = QTableWidget()
        self.artifacts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.artifacts.setAccessibleName("Artifact list")
        buttons = QHBoxLayout()
        self.export_buttons: dict[str, QPushButton] = {}
        for key, text in (("csv", "Export &CSV…"), ("markdown", "Export &Markdown…"),
                          ("latex", "Export &LaTeX…"), ("artifacts", "Export a&rtifacts…"),
                          ("figure", "Export &figure…")):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=key: self._export_dialog(k))
            buttons.addWidget(b)
            self.export_buttons[key] = b
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.stats)
        layout.addWidget(QLabel("<b>Artifacts</b> (SI Tables 3–4)"))
        layout.addWidget(self.artifacts, 2)
        layout.addLayout(buttons)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for key, b in self.export_buttons.items():
            b.setEnabled(on and (key != "figure" or (self.model is not None
                                                     and self.neutral_points is not None)))

    def set_session(self, session: RatingSession | None, model: AUModel | None = None,
                    neutral_points: np.ndarray | None = None,
                    thumbnails: dict[int, str] | None = None, seed: int = 0) -> None:
        """Show the results of ``session`` (only once it is closed or unblinded)."""
        self.session, self.model, self.neutral_points = session, model, neutral_points
        self.thumbnails = dict(thumbnails or {})
        self.summary = self.agreement = None
        self.table.clear()
        self.table.setRowCount(0)
        self.artifacts.setRowCount(0)
        self.stats.setText("")
        if session is None:
            self.info.setText("No rating session.")
            self._set_enabled(False)
            return
        try:
            self.summary = session.summary()
        except DfecsError:
            done = ", ".join(f"{r}: {session.vote_count(r)}/{session.n_components}"
                             for r in session.raters)
            self.info.setText("The session is blinded and still open: results appear when it is "
                              f"closed. Progress — {done}.")
            self._set_enabled(False)
            return
        self.agreement = agreement(self.summary.matrix, n_boot=N_BOOT, seed=seed)
        self._fill()
        self._set_enabled(True)

    def _fill(self) -> None:
        s, a = self.summary, self.agreement
        header, rows = table_rows(s)
        self.table.setColumnCount(len(header))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(header)
        bold = QFont(self.font())
        bold.setBold(True)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if i == len(rows) - 1 or j == len(row) - 1:
                    item.setFont(bold)
                self.table.setItem(i, j, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        k = int(np.isfinite(s.majority).sum())
        n_i = len(s.non_interpretable)
        self.info.setText(f"{len(s.components)} AUs rated by {len(s.raters)} raters; majority "
                          f"tie rule: {s.tie.replace('_', '-')}."
                          + ("" if s.complete else " Some votes are missing."))
        per_rater = ", ".join(f"{r} {fmt_percent(p)}" for r, p in zip(s.raters, s.rater_percent))
        self.stats.setText(
            f"Per rater: {per_rater}<br>"
            f"<b>Interpretability (majority vote): {fmt_percent(s.majority_percent)}</b> "
            f"({k - n_i} of {k}); non-interpretable: {', '.join(s.non_interpretable) or 'none'}<br>"
            f"Fleiss' κ: {_stat(a.fleiss_kappa, a.kappa_ci)}<br>"
            f"Krippendorff's α (nominal): {_stat(a.krippendorff_alpha, a.alpha_ci)}")
        arts = artifact_rows(s.votes, s.components, self.thumbnails)
        cols = ["Component", "Rater", "Keypoints", "Artifact", "Muscular basis", "Thumbnail"]
        self.artifacts.setColumnCount(len(cols))
        self.artifacts.setHorizontalHeaderLabels(cols)
        self.artifacts.setRowCount(len(arts))
        for i, r in enumerate(arts):
            for j, key in enumerate(("component", "rater", "keypoints", "artifact",
                                     "muscular_basis", "thumbnail")):
                self.artifacts.setItem(i, j, QTableWidgetItem(r[key]))
        self.artifacts.horizontalHeader().setStretchLastSection(True)

    # -- export ---------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path) -> Path:
        """Write ``kind`` (csv, markdown, latex, artifacts, figure) to ``path``."""
        if self.summary is None:
            raise DfecsError("no results to export (close the session first)")
        path = Path(path)
        if kind in ("csv", "markdown", "latex"):
            export_table(self.summary, path, kind)
        elif kind == "artifacts":
            rows = artifact_rows(self.summary.votes, self.summary.components, self.thumbnails)
            text = (artifacts_to_markdown(rows) if path.suffix.lower() == ".md"
                    else artifacts_to_csv(rows))
            write_text_atomic(path, text)
        elif kind == "figure":
            if self.model is None or self.neutral_points is None:
                raise DfecsError("the figure needs the model and the neutral face")
            export_grid_figure(self.summary, self.model, self.neutral_points, path)
        else:
            raise ValueError(f"unknown export {kind!r}")
        self.exported.emit(str(path))
        return path

    def _export_dialog(self, kind: str) -> None:
        filters = {"csv": "CSV (*.csv)", "markdown": "Markdown (*.md)", "latex": "LaTeX (*.tex)",
                   "artifacts": "CSV (*.csv);;Markdown (*.md)",
                   "figure": "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", filters[kind])
        if not path:
            return
        try:
            self.export(kind, path)
        except DfecsError as err:
            QMessageBox.warning(self, "Export", str(err))
