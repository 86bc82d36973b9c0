"""The Train panel's explicit hyperparameters, checked as they are typed.

:func:`check_params_cell` says what is wrong with one cell of the table (rows: the face parts,
then the HFM; columns: k / q, α / α_A, α_B); :class:`ParamsValidation` marks the bad cells,
shows the first problem beside the table and keeps Train disabled while any is left, so a bad
value never reaches the training (no dialog, no traceback).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QTableWidget

from dfecs_app.core.landmarks import N_FEATURES, PART_FEATURES, PART_LABELS, PART_NAMES

__all__ = ["check_params_cell", "check_params_row", "ParamsValidation", "MAX_Q"]

#: Largest HFM q accepted: the HFM factors the part codes of at most 136 features.
MAX_Q = N_FEATURES
ERROR_BRUSH = QBrush(QColor(255, 210, 210))


def _row_name(row: int) -> str:
    return PART_LABELS[PART_NAMES[row]] if row < len(PART_NAMES) else "HFM"


def check_params_cell(row: int, col: int, text: str) -> str | None:
    """The problem with ``text`` in cell (``row``, ``col``), or None (blank is fine here;
    :func:`check_params_row` asks for complete rows)."""
    text = text.strip()
    if not text:
        return None
    hfm = row >= len(PART_NAMES)
    name = ("q" if hfm else "k") if col == 0 else (("α_A", "α_B")[col - 1] if hfm else "α")
    where = f"{_row_name(row)} {name}"
    try:
        value = float(text)
    except ValueError:
        return f"{where}: {text!r} is not a number"
    if not math.isfinite(value):
        return f"{where}: {text!r} must be a finite number"
    if col == 0:
        top = MAX_Q if hfm else len(PART_FEATURES[PART_NAMES[row]])
        if value != int(value) or not 1 <= value <= top:
            return f"{where} must be a whole number from 1 to {top}, got {text!r}"
    elif value < 0:
        return f"{where} must be ≥ 0, got {text!r}"
    return None


def check_params_row(row: int, texts: list[str]) -> str | None:
    """The first problem of a row's cells: a bad cell, or a row filled in part."""
    for col, text in enumerate(texts):
        problem = check_params_cell(row, col, text)
        if problem is not None:
            return problem
    filled = [bool(t.strip()) for t in texts]
    if any(filled) and not all(filled):
        what = "q, α_A and α_B" if row >= len(PART_NAMES) else "k and α"
        return f"{_row_name(row)}: give {what}, or leave the row blank to search it"
    return None


class ParamsValidation(QObject):
    """Checks a Train panel's hyperparameter table while it is edited.

    Parameters
    ----------
    table : QTableWidget
        ``len(PART_NAMES) + 1`` rows (parts, HFM); the part rows use 2 columns, the HFM 3.
    active : callable () -> bool
        Whether the table is in use (explicit mode); when not, nothing is reported.
    changed : callable () -> None
        Called when the verdict may have changed (the panel re-enables its Train button).

    Attributes
    ----------
    label : QLabel
        The problem, in red, to be placed beside the table (empty when all is well).
    """

    def __init__(self, table: QTableWidget, active: object, changed: object,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self._active = active
        self._changed = changed
        self.label = QLabel("")
        self.label.setObjectName("params_error")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #b00020;")
        table.itemChanged.connect(lambda _item: self.update())

    def problems(self) -> list[str]:
        """Every row's first problem (empty when the table is fine or not in use)."""
        if not self._active():
            return []
        out = []
        for row in range(self.table.rowCount()):
            cols = 3 if row >= len(PART_NAMES) else 2
            texts = [self._text(row, c) for c in range(cols)]
            problem = check_params_row(row, texts)
            if problem is not None:
                out.append(problem)
        return out

    def ok(self) -> bool:
        return not self.problems()

    def update(self) -> bool:
        """Mark bad cells, show the first problem; returns :meth:`ok`."""
        active = self._active()
        self.table.blockSignals(True)
        try:
            for row in range(self.table.rowCount()):
                for col in range(self.table.columnCount()):
                    item = self.table.item(row, col)
                    if item is None:
                        continue
                    bad = active and check_params_cell(row, col, item.text()) is not None
                    item.setBackground(ERROR_BRUSH if bad else QBrush())
        finally:
            self.table.blockSignals(False)
        problems = self.problems()
        self.label.setText(problems[0] if problems else "")
        self.label.setVisible(bool(problems))
        self._changed()
        return not problems

    def _text(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return "" if item is None else item.text()
