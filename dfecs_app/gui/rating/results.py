"""Results of a closed session: Table 1/2, percentages, agreement, artifacts and exports.

A comparison session (several models' AUs shuffled together) adds the per-model results:
each model's interpretability, and each model's difference to the first with its stratified
bootstrap interval and Fisher's exact test (:mod:`dfecs_app.stats.proportions`).
The artifact table can show each AU's projected image as a thumbnail (check box). *Export
Fig. 6* writes projected images, arrow plots and blue artifact dots in one figure.

Signals
-------
exported(str)
    A file was written (its path).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
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
from dfecs_app.gui.image_view import to_qimage
from dfecs_app.io.atomic import write_text_atomic
from dfecs_app.io.precheck_export import precheck_path_beside, write_precheck_csv
from dfecs_app.io.rating_export import (
    artifact_rows,
    artifacts_to_csv,
    artifacts_to_markdown,
    export_fig6_figure,
    export_grid_figure,
    export_table,
    fmt_percent,
    table_rows,
)
from dfecs_app.io.rating_session import RatingSession
from dfecs_app.stats.agreement import Agreement, PrecheckAgreement, agreement, precheck_agreement
from dfecs_app.stats.proportions import ModelComparison, compare_models, format_difference

N_BOOT = 1000
THUMB = 48


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
        self.images: dict = {}
        self.comparison: ModelComparison | None = None
        self.precheck: list | None = None
        self.cones = None
        self.precheck_agreement: PrecheckAgreement | None = None
        self.precheck_label = QLabel()
        self.precheck_label.setTextFormat(Qt.TextFormat.RichText)
        self.precheck_label.setWordWrap(True)
        self.info = QLabel("Results appear when the session is closed.")
        self.info.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName("Interpretability table")
        self.stats = QLabel()
        self.stats.setTextFormat(Qt.TextFormat.RichText)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats.setWordWrap(True)
        self.comparison_label = QLabel()
        self.comparison_label.setTextFormat(Qt.TextFormat.RichText)
        self.comparison_label.setWordWrap(True)
        self.comparison_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.thumbs_check = QCheckBox("Show &thumbnails")
        self.thumbs_check.setChecked(True)
        self.thumbs_check.toggled.connect(lambda _on: self._fill_artifacts())
        self.artifacts = QTableWidget()
        self.artifacts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.artifacts.setAccessibleName("Artifact list")
        buttons = QHBoxLayout()
        self.export_buttons: dict[str, QPushButton] = {}
        for key, text in (("csv", "Export &CSV…"), ("markdown", "Export &Markdown…"),
                          ("latex", "Export &LaTeX…"), ("artifacts", "Export a&rtifacts…"),
                          ("figure", "Export &figure…"), ("fig6", "Export Fig. &6…")):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=key: self._export_dialog(k))
            buttons.addWidget(b)
            self.export_buttons[key] = b
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.stats)
        layout.addWidget(self.comparison_label)
        layout.addWidget(self.precheck_label)
        arow = QHBoxLayout()
        arow.addWidget(QLabel("<b>Artifacts</b> (SI Tables 3–4)"))
        arow.addStretch(1)
        arow.addWidget(self.thumbs_check)
        layout.addLayout(arow)
        layout.addWidget(self.artifacts, 2)
        layout.addLayout(buttons)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for key, b in self.export_buttons.items():
            b.setEnabled(on and (key not in ("figure", "fig6")
                                 or (self.model is not None and self.neutral_points is not None)))

    def set_session(self, session: RatingSession | None, model: AUModel | None = None,
                    neutral_points: np.ndarray | None = None,
                    thumbnails: dict[int, str] | None = None, seed: int = 0,
                    images: dict | None = None, precheck: list | None = None,
                    cones=None) -> None:
        """Show the results of ``session`` (only once it is closed or unblinded).

        ``images``: projected AU images by component (ndarray, QImage or Path) for the
        thumbnails and the Fig. 6 export (the dict is kept, so images rendered later show).
        """
        self.session, self.model, self.neutral_points = session, model, neutral_points
        self.thumbnails = dict(thumbnails or {})
        self.images = images if images is not None else {}
        self.precheck, self.cones = precheck, cones
        self.summary = self.agreement = self.comparison = self.precheck_agreement = None
        self.comparison_label.setText("")
        self.precheck_label.setText("")
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
        if self.precheck is not None and len(self.precheck) == len(self.summary.components):
            verdicts = np.array([float(c.plausible) if np.isfinite(c.score) else np.nan
                                 for c in self.precheck])
            self.precheck_agreement = precheck_agreement(verdicts, self.summary.majority)
        if session.is_comparison:
            self.comparison = compare_models(self.summary, session.model_groups(),
                                             n_boot=N_BOOT, seed=seed)
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
        if self.comparison is not None:
            rows = "".join(
                f"<tr><td><b>{lab}</b></td><td>{fmt_percent(m.majority_percent)}</td>"
                f"<td>{len(m.components)} AUs</td><td>per rater "
                + ", ".join(f"{r} {fmt_percent(p)}" for r, p in zip(m.raters, m.rater_percent))
                + "</td></tr>"
                for lab, m in zip(self.comparison.labels, self.comparison.summaries))
            diffs = "<br>".join(format_difference(d) for d in self.comparison.differences)
            self.comparison_label.setText(
                f"<b>Per model (blinded comparison)</b><table cellspacing='4'>{rows}</table>"
                f"{diffs}")
        pa = self.precheck_agreement
        if pa is not None:
            t = pa.table
            kappa = "undefined" if not math.isfinite(pa.kappa) else f"{pa.kappa:.3f}"
            self.precheck_label.setText(
                f"<b>Muscle-direction pre-check vs majority vote</b> ({pa.n} AUs): Cohen's κ "
                f"{kappa}, {pa.accuracy:.0%} agree<table cellspacing='4'>"
                "<tr><td></td><td>majority ✓</td><td>majority ×</td></tr>"
                f"<tr><td>pre-check plausible</td><td>{t[0, 0]}</td><td>{t[0, 1]}</td></tr>"
                f"<tr><td>pre-check implausible</td><td>{t[1, 0]}</td><td>{t[1, 1]}</td></tr>"
                "</table>")
        self._fill_artifacts()

    def thumbnail(self, component: int) -> QImage | None:
        """The projected AU image of ``component`` scaled to a thumbnail (None: none)."""
        img = self.images.get(component)
        if img is None:
            return None
        if isinstance(img, np.ndarray):
            img = to_qimage(img)
        elif isinstance(img, Path):
            img = QImage(str(img))
        if img.isNull():
            return None
        return img.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)

    def _fill_artifacts(self) -> None:
        s = self.summary
        if s is None:
            return
        arts = artifact_rows(s.votes, s.components, self.thumbnails)
        comps = sorted(v.component for v in s.votes if not v.interpretable)
        cols = ["Component", "Rater", "Keypoints", "Artifact", "Muscular basis", "Thumbnail"]
        self.artifacts.setColumnCount(len(cols))
        self.artifacts.setHorizontalHeaderLabels(cols)
        self.artifacts.setRowCount(len(arts))
        show = self.thumbs_check.isChecked()
        self.artifacts.setIconSize(QSize(THUMB, THUMB))
        for i, r in enumerate(arts):
            for j, key in enumerate(("component", "rater", "keypoints", "artifact",
                                     "muscular_basis", "thumbnail")):
                self.artifacts.setItem(i, j, QTableWidgetItem(r[key]))
            thumb = self.thumbnail(comps[i]) if show and i < len(comps) else None
            if thumb is not None:
                self.artifacts.item(i, 5).setIcon(QIcon(QPixmap.fromImage(thumb)))
            self.artifacts.setRowHeight(i, THUMB + 4 if thumb is not None else 24)
        self.artifacts.horizontalHeader().setStretchLastSection(True)

    # -- export ---------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path) -> Path:
        """Write ``kind`` (csv, markdown, latex, artifacts, figure) to ``path``."""
        if self.summary is None:
            raise DfecsError("no results to export (close the session first)")
        path = Path(path)
        if kind in ("csv", "markdown", "latex"):
            export_table(self.summary, path, kind)
            if self.precheck is not None and self.cones is not None:  # beside the ratings
                write_precheck_csv(precheck_path_beside(path), self.summary.components,
                                   self.precheck, self.cones, self.summary.majority)
        elif kind == "artifacts":
            rows = artifact_rows(self.summary.votes, self.summary.components, self.thumbnails)
            text = (artifacts_to_markdown(rows) if path.suffix.lower() == ".md"
                    else artifacts_to_csv(rows))
            write_text_atomic(path, text)
        elif kind == "figure":
            if self.model is None or self.neutral_points is None:
                raise DfecsError("the figure needs the model and the neutral face")
            export_grid_figure(self.summary, self.model, self.neutral_points, path)
        elif kind == "fig6":
            if self.model is None or self.neutral_points is None:
                raise DfecsError("the figure needs the model and the neutral face")
            export_fig6_figure(self.summary, self.model, self.neutral_points,
                               self._image_arrays(), path)
        else:
            raise ValueError(f"unknown export {kind!r}")
        self.exported.emit(str(path))
        return path

    def _image_arrays(self) -> dict[int, np.ndarray]:
        out = {}
        for c, img in self.images.items():
            if isinstance(img, np.ndarray):
                out[c] = img
            else:
                q = (QImage(str(img)) if isinstance(img, Path) else img).convertToFormat(
                    QImage.Format.Format_RGB888)
                arr = np.frombuffer(q.constBits(), np.uint8).reshape(q.height(),
                                                                     q.bytesPerLine())
                out[c] = arr[:, :3 * q.width()].reshape(q.height(), q.width(), 3).copy()
        return out

    def _export_dialog(self, kind: str) -> None:
        filters = {"csv": "CSV (*.csv)", "markdown": "Markdown (*.md)", "latex": "LaTeX (*.tex)",
                   "artifacts": "CSV (*.csv);;Markdown (*.md)",
                   "figure": "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)",
                   "fig6": "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", filters[kind])
        if not path:
            return
        try:
            self.export(kind, path)
        except DfecsError as err:
            QMessageBox.warning(self, "Export", str(err))
