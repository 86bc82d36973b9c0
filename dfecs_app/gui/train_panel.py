"""Train panel: learn the DFECS AUs of the project's KPMs in the worker thread.

β (target VE = 1 − β), the paper's hyperparameter search (§2.3.3, with a choice of search
strategy) or explicit hyperparameters per part and for the HFM, a seed; Train and Cancel.
After training, the chosen hyperparameters are shown as SI Tables 1–2 (per part k_f, α_f, VE;
HFM q, α_A, α_B, VE; fits tried; strategy) with the model's labelled VE figures, and warnings
about too little training data stay visible above the table. Progress (stage, part, k, α; HFM q, α_A,
α_B), the VE reached so far, the elapsed time and a log are shown while the window stays
responsive. Training calls :func:`dfecs_app.gui.train_panel.train_au_model`, a thin wrapper
over the same core function ``dfecs train`` calls.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.ffm import hyperparameter_rows, training_data_warnings
from dfecs_app.core.landmarks import PART_LABELS, PART_NAMES
from dfecs_app.core.progress import Progress
from dfecs_app.core.search import DEFAULT_STRATEGY, STRATEGIES, STRATEGY_LABELS, check_strategy
from dfecs_app.core.ve_labels import VE_FFM, VE_FFM_HELP, VE_NNLS, VE_NNLS_HELP
from dfecs_app.errors import InputError
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.params_validation import ParamsValidation
from dfecs_app.gui.worker import Worker, start_worker

MODES = (("search", "Paper search (§2.3.3)"), ("explicit", "Explicit hyperparameters"))


class TrainPanel(QWidget):
    """Training settings, Train/Cancel, progress and log.

    Signals
    -------
    trained(object)
        The new :class:`AUModel` (already set on the document).
    failed(str)
        Training raised an error (shown in a dialog too).
    cancelled()
        Training stopped on Cancel; the previous model is kept.
    progressed(object)
        Each :class:`Progress` report shown.
    message(str)
    """

    trained = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    progressed = Signal(object)
    message = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.worker: Worker | None = None
        self._t0 = 0.0
        self._best_ve: float | None = None
        self._build()
        self.validation = ParamsValidation(  # bad hyperparameters shown beside the table
            self.params_table, lambda: self.mode_combo.currentData() == "explicit", self._refresh, self)
        self.params_box.layout().addWidget(self.validation.label)
        self.mode_combo.currentIndexChanged.connect(lambda _: self.validation.update())
        self._elapsed_timer = QTimer(self)
        self._elapsed_timer.setInterval(200)
        self._elapsed_timer.timeout.connect(self._tick)
        document.kpmChanged.connect(self._refresh)
        document.dataChanged.connect(self._refresh)  # corrections changed: KPMs may be stale
        document.replaced.connect(self._load_params)
        document.modelChanged.connect(self._refresh)
        self._load_params()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.beta_spin = QDoubleSpinBox()
        self.beta_spin.setRange(0.005, 0.9)
        self.beta_spin.setSingleStep(0.01)
        self.beta_spin.setDecimals(3)
        self.beta_spin.setToolTip("Allowed loss of variance explained: the FFM stops at "
                                  "VE ≥ 1 − β, each PFM at VE ≥ 1 − β/2")
        self.beta_spin.valueChanged.connect(self._on_beta)
        self.beta_label = QLabel()
        self.mode_combo = QComboBox()
        for key, text in MODES:
            self.mode_combo.addItem(text, key)
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.strategy_combo = QComboBox()
        for key in STRATEGIES:
            self.strategy_combo.addItem(STRATEGY_LABELS[key], key)
        self.strategy_combo.setToolTip(
            "How the §2.3.3 grid is searched. exact and literal return the same settings; "
            "heuristic is faster but can choose other settings (warm starts, bisection)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        form = QFormLayout()
        beta_row = QHBoxLayout()
        beta_row.addWidget(self.beta_spin)
        beta_row.addWidget(self.beta_label, 1)
        form.addRow("β:", beta_row)
        form.addRow("Mode:", self.mode_combo)
        form.addRow("Search:", self.strategy_combo)
        form.addRow("Seed:", self.seed_spin)

        self.params_table = QTableWidget(len(PART_NAMES) + 1, 3)
        self.params_table.setHorizontalHeaderLabels(["k / q", "α / α_A", "α_B"])
        self.params_table.setVerticalHeaderLabels(
            [PART_LABELS[p] for p in PART_NAMES] + ["HFM (all parts)"])
        self.params_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for r in range(len(PART_NAMES)):
            self._set_row(r, ("", ""))
        self._set_row(len(PART_NAMES), ("", "", ""))
        params_box = QGroupBox("Explicit hyperparameters")
        pl = QVBoxLayout(params_box)
        hint = QLabel("A row left blank is searched (§2.3.3); e.g. SI Table 1: lips k=5, α=1.5.")
        hint.setWordWrap(True)
        pl.addWidget(hint)
        pl.addWidget(self.params_table)
        self.params_box = params_box

        self.train_button = QPushButton("&Train")
        self.train_button.setToolTip("Ctrl+R")
        self.train_button.clicked.connect(lambda: self.start_training())
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setToolTip("Stops between two fits (Ctrl+.)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)

        self.data_label = QLabel()
        self.data_label.setWordWrap(True)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #a05a00;")
        self.warning_label.hide()
        self.result_table = QTableWidget(0, 7)
        self.result_table.setHorizontalHeaderLabels(
            ["model", "part", "k / q", "α / α_A", "α_B", "VE %", "fits"])
        self.result_table.verticalHeader().hide()
        self.result_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.result_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.result_table.horizontalHeader().setStretchLastSection(True)
        self.result_label = QLabel("No model trained yet.")
        self.result_label.setWordWrap(True)
        self.result_label.setToolTip(f"{VE_FFM}: {VE_FFM_HELP}\n{VE_NNLS}: {VE_NNLS_HELP}")
        result_box = QGroupBox("Chosen hyperparameters (SI Tables 1–2)")
        rl = QVBoxLayout(result_box)
        rl.addWidget(self.result_label)
        rl.addWidget(self.result_table, 1)
        self.result_box = result_box
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        self.stage_label = QLabel("Idle")
        self.ve_label = QLabel("VE: –")
        self.elapsed_label = QLabel("Elapsed: –")
        status = QHBoxLayout()
        status.addWidget(self.stage_label, 1)
        status.addWidget(self.ve_label)
        status.addWidget(self.elapsed_label)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(10000)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.params_box, 1)
        left.addLayout(buttons)
        right = QVBoxLayout()
        right.addWidget(self.data_label)
        right.addWidget(self.warning_label)
        right.addWidget(self.progress)
        right.addLayout(status)
        right.addWidget(self.result_box, 3)
        right.addWidget(self.log, 2)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 2)
        lay.addLayout(right, 3)

    def _set_row(self, r: int, values: tuple) -> None:
        for c in range(3):
            v = values[c] if c < len(values) else ""
            text = v if isinstance(v, str) else f"{v:g}"
            item = QTableWidgetItem(text)
            if c >= len(values):
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.params_table.setItem(r, c, item)

    # -- parameters ------------------------------------------------------------------------
    def _load_params(self) -> None:
        p = self.document.train_params
        self.beta_spin.setValue(float(p.get("beta", settings.get("train/beta"))))
        self.seed_spin.setValue(int(p.get("seed", settings.get("train/seed"))))
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(p.get("mode", "search"))))
        try:
            strategy = check_strategy(str(p.get("strategy", DEFAULT_STRATEGY)))
        except ValueError:
            strategy = DEFAULT_STRATEGY
        self.strategy_combo.setCurrentIndex(max(0, self.strategy_combo.findData(strategy)))
        explicit = p.get("params") or {}
        for r, part in enumerate(PART_NAMES):
            d = (explicit.get("parts") or {}).get(part)
            self._set_row(r, (d["k"], d["alpha"]) if d else ("", ""))
        h = explicit.get("hfm")
        self._set_row(len(PART_NAMES), (h["q"], h["alpha_A"], h["alpha_B"]) if h else ("", "", ""))
        self._on_mode()
        self._on_beta(self.beta_spin.value())
        self._refresh()

    def explicit_params(self) -> dict[str, Any]:
        """The explicit hyperparameters in ``dfecs train --params`` form: ``{"parts": {part:
        {"k", "alpha"}}, "hfm": {"q", "alpha_A", "alpha_B"} or None}``; blank rows are left
        out (searched). InputError naming the cell otherwise."""
        def text(r: int, c: int) -> str:
            return self.params_table.item(r, c).text().strip()

        def cell(r: int, c: int, kind: type) -> Any:
            text = self.params_table.item(r, c).text().strip()
            name = self.params_table.verticalHeaderItem(r).text()
            col = self.params_table.horizontalHeaderItem(c).text()
            try:
                v = kind(float(text)) if kind is int else float(text)
            except ValueError:
                raise InputError(f"{name}, {col}: {text!r} is not a number",
                                 field="hyperparameters") from None
            if (kind is int and v < 1) or v < 0 or not np.isfinite(v):
                raise InputError(f"{name}, {col}: {text!r} is out of range",
                                 field="hyperparameters")
            return v

        parts = {part: {"k": cell(r, 0, int), "alpha": cell(r, 1, float)}
                 for r, part in enumerate(PART_NAMES) if text(r, 0) or text(r, 1)}
        h = len(PART_NAMES)
        hfm = None
        if any(text(h, c) for c in range(3)):
            hfm = {"q": cell(h, 0, int), "alpha_A": cell(h, 1, float),
                   "alpha_B": cell(h, 2, float)}
        return {"parts": parts, "hfm": hfm}

    def current_params(self) -> dict[str, Any]:
        mode = self.mode_combo.currentData()
        params: dict[str, Any] = {"beta": round(self.beta_spin.value(), 6), "mode": mode,
                                  "strategy": self.strategy_combo.currentData(),
                                  "seed": int(self.seed_spin.value())}
        if mode == "explicit":
            params["params"] = self.explicit_params()
        return params

    def _on_beta(self, beta: float) -> None:
        self.beta_label.setText(f"target VE ≥ {100 * (1 - beta):.1f} % "
                                f"(each part ≥ {100 * (1 - beta / 2):.1f} %)")

    def _on_mode(self, *_: Any) -> None:
        self.params_box.setEnabled(self.mode_combo.currentData() == "explicit")

    def _refresh(self) -> None:
        kpm = self.document.kpm
        if kpm is None:
            self.data_label.setText("No KPMs: load landmark files and compute KPMs in the Data "
                                    "panel (Ctrl+1), or open the demo.")
        else:
            text = (f"Training data: {kpm.X.shape[0]} KPMs of "
                    f"{len(set(np.asarray(kpm.subject).tolist()))} subject(s)")
            if self.document.kpms_out_of_date():
                text += (" — computed with other corrections than the Data panel now shows; "
                         "press Compute KPMs there (Ctrl+1) to train on the current ones")
            self.data_label.setText(text)
        warnings = [] if kpm is None else training_data_warnings(
            kpm.X.shape[0], len(set(np.asarray(kpm.subject).tolist())))
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        self.show_result(self.document.model)
        running = self.is_running()
        self.train_button.setEnabled(kpm is not None and not running and self.validation.ok())

    # -- training --------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start_training(self, quick: bool = False) -> Worker | None:
        """Start training in the worker thread; returns the worker (None if it cannot start)."""
        if self.is_running():
            return None
        kpm = self.document.kpm
        if kpm is None:
            dialogs.info(self, "Train", "There are no KPMs to train on yet.")
            return None
        if not self.validation.update():
            return None  # the problem is shown beside the table
        try:
            params = self.current_params()
        except InputError as err:
            self.validation.label.setText(str(err))
            self.validation.label.show()
            return None
        settings.set("train/beta", params["beta"])
        settings.set("train/seed", params["seed"])
        self._params = params
        self._t0 = time.perf_counter()
        self._best_ve = None
        self.progress.setValue(0)
        self.stage_label.setText("Starting…")
        self.ve_label.setText("VE: –")
        self._log(f"Training on {kpm.X.shape[0]} KPMs: β={params['beta']:g}, "
                  f"mode={params['mode']}, search={params['strategy']}, seed={params['seed']}")
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._elapsed_timer.start()
        self.worker = start_worker(
            train_au_model, kpm, params, name="training", min_interval=0.05,
            on_yielded=self._on_progress, on_returned=self._on_returned,
            on_errored=self._on_errored, on_aborted=self._on_aborted,
            on_finished=self._on_finished)
        return self.worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.stage_label.setText("Cancelling (stops after the current fit)…")
            self.cancel_button.setEnabled(False)

    def _on_progress(self, p: Progress) -> None:
        if not isinstance(p, Progress):
            return
        if p.fraction is not None:
            self.progress.setValue(int(round(1000 * min(max(p.fraction, 0.0), 1.0))))
        self.stage_label.setText(stage_text(p))
        ve = p.info.get("ve")
        if ve is not None and np.isfinite(ve):
            self.ve_label.setText(f"VE: {float(ve):.2f} %")
        if p.message:
            self._log(p.message)
        self.progressed.emit(p)

    def show_result(self, model: AUModel | None) -> None:
        """Fill the SI Table 1–2 view from a DFECS model's metadata (cleared otherwise)."""
        meta = {} if model is None else model.meta
        rows = hyperparameter_rows(meta)
        self.result_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            name = "all parts" if row["model"] == "HFM" else PART_LABELS[row["name"]]
            skipped = row["k"] == 0
            vals = [row["model"], name, "NA" if skipped else str(row["k"]),
                    "NA" if skipped else f"{row['alpha']:g}",
                    "" if row["alpha_B"] is None else f"{row['alpha_B']:g}",
                    "" if row["ve"] is None or skipped else f"{row['ve']:.2f}"
                    + ("" if row["reached"] else " (not reached)"),
                    "" if row["n_fits"] is None else str(row["n_fits"])]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if skipped and row["note"]:
                    item.setToolTip(row["note"])
                if c == 5:
                    item.setToolTip("part's own VE (PFM)" if row["model"] == "PFM"
                                    else f"{VE_FFM}: {VE_FFM_HELP}")
                self.result_table.setItem(r, c, item)
        if not rows:
            self.result_label.setText("No DFECS model trained yet." if model is None else
                                      "This model has no FFM hyperparameters (a baseline).")
            return
        n_aus = model.n_components
        text = (f"{n_aus} AUs · search: {meta.get('search_mode', '?')}, "
                f"{meta.get('n_fits', '?')} fits")
        if "search_seconds" in meta:
            text += f", {float(meta['search_seconds']):.1f} s"
        text += f" · {VE_FFM}: {float(meta['ve_train']):.2f} %"
        if "ve_nnls_train" in meta:
            text += f" · {VE_NNLS}: {float(meta['ve_nnls_train']):.2f} %"
        self.result_label.setText(text)

    def _on_returned(self, model: AUModel) -> None:
        self.progress.setValue(1000)
        ve = model.meta.get("ve_train", model.meta.get("ve"))
        ve_text = f", {VE_FFM} {float(ve):.2f} %" if ve is not None else ""
        self.stage_label.setText(f"Done: {model.n_components} AUs{ve_text}")
        self._log(f"Done in {time.perf_counter() - self._t0:.1f} s: {model.n_components} AUs"
                  f"{ve_text}")
        self.document.set_model(model, self._params)
        self.show_result(model)
        for w in model.meta.get("warnings", []):
            self._log(f"Warning: {w}")
        self.message.emit(f"Trained {model.n_components} AUs{ve_text}")
        self.trained.emit(model)

    def _on_errored(self, err: BaseException) -> None:
        self.stage_label.setText("Failed")
        self._log(f"Failed: {err}")
        tb = self.worker.error_traceback if self.worker is not None else ""
        dialogs.exception(self, "Training", err, tb)
        self.failed.emit(str(err))

    def _on_aborted(self) -> None:
        self.stage_label.setText("Cancelled")
        self.progress.setValue(0)
        self._log(f"Cancelled after {time.perf_counter() - self._t0:.1f} s; the previous model "
                  "is kept.")
        self.cancelled.emit()

    def _on_finished(self) -> None:
        self._elapsed_timer.stop()
        self._tick()
        self.worker = None
        self.cancel_button.setEnabled(False)
        self._refresh()

    def _tick(self) -> None:
        if self._t0:
            self.elapsed_label.setText(f"Elapsed: {time.perf_counter() - self._t0:.1f} s")

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {text}")

    def shutdown(self) -> None:
        self._elapsed_timer.stop()


def stage_text(p: Progress) -> str:
    """One line naming the stage: "PFM lips: k=4, α=2.5" / "HFM: q=8, α_A=1, α_B=1"."""
    info = p.info
    parts = []
    if p.stage:
        parts.append(p.stage.upper() if len(p.stage) <= 4 else p.stage)
    if "part" in info:
        parts.append(PART_LABELS.get(str(info["part"]), str(info["part"])))
    keys = [("k", "k"), ("q", "q"), ("alpha", "α"), ("alpha_A", "α_A"), ("alpha_B", "α_B")]
    vals = [f"{label}={info[key]:g}" if isinstance(info[key], (int, float)) else
            f"{label}={info[key]}" for key, label in keys if key in info]
    text = " ".join(parts)
    if vals:
        text += ": " + ", ".join(vals)
    return text or (p.message or "…")


def train_au_model(kpm: Any, params: dict[str, Any], state: Any = None) -> AUModel:
    """Train the DFECS AUs of a KPM set exactly as ``dfecs train`` does.

    Parameters
    ----------
    kpm : KPMSet
        ``X`` (n, 136), ``mask`` (n, 68).
    params : dict
        ``beta``, ``mode`` ('search' or 'explicit'), ``strategy`` (a search strategy of
        :mod:`dfecs_app.core.search`, default ``'exact'``), ``seed`` and, for 'explicit',
        ``params`` in ``dfecs train --params`` form (``{"parts": {...}, "hfm": {...}}``).
    state : TaskState, optional
        Progress and cancellation (checked between fits).

    Returns
    -------
    AUModel
        ``FullFaceModel.to_au_model()``: AUs by decreasing share of the training VE,
        ``meta['au_stats']``.
    """
    from dfecs_app.core.ffm import FullFaceModel

    explicit = (params.get("params") or {}) if params.get("mode") == "explicit" else {}
    ffm = FullFaceModel(beta=float(params["beta"]), parts=explicit.get("parts") or None,
                        hfm=explicit.get("hfm"),
                        search_mode=check_strategy(str(params.get("strategy", DEFAULT_STRATEGY))),
                        random_state=int(params["seed"]))
    ffm.fit(kpm.X, mask=kpm.mask, state=state, subjects=kpm.subject)
    return ffm.to_au_model()


_WARM = False


def warm_up_training() -> None:
    """Load the training kernels once (numba's cached machine code, imports) with a tiny fit.

    Loading compiled kernels holds the interpreter lock for ~0.1-0.2 s; done here, on the GUI
    thread before the window is shown (``dfecs-studio`` does it at start-up), that cost never
    shows as a frozen window in the middle of a training run.
    """
    global _WARM
    if _WARM:
        return
    from dfecs_app.core.ffm import FullFaceModel
    from dfecs_app.core.synthetic import make_kpm_dataset

    X, mask, _, _ = make_kpm_dataset(200, n_components=8, random_state=0)
    FullFaceModel(beta=0.3, random_state=0, n_jobs=1, search_mode="heuristic").fit(X, mask=mask)
    _WARM = True
