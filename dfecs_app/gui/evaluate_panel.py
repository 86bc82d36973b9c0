"""Evaluate panel: the DFECS model beside PCA AUs and FACS AUs, on the training KPMs and on
test KPM sets (paper Fig. 5, 7, SI Fig. 2).

VE-vs-k and VE-vs-L1 curves (log x axis) come from
:func:`dfecs_app.core.evaluation.evaluate_model`, the PCA baseline from
:mod:`dfecs_app.core.baselines` — the functions ``dfecs evaluate`` / ``dfecs compare`` call.
A table gives VE(train) and VE(test) per model. Before an evaluation the plots show their
empty state: VE 0–100 %, k from 1 to the model's number of AUs, L1 from 1 to 1000, and a hint
saying what to do. Curves and table export as CSV, the curves
figure as PNG/SVG through :func:`dfecs_app.render.curves.plot_curves` (as ``dfecs compare``).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.progress import Progress
from dfecs_app.core.ve_labels import VE_FFM, VE_MEAN, VE_MEAN_HELP, VE_NNLS, VE_NNLS_HELP
from dfecs_app.gui import dialogs, settings
from dfecs_app.gui.document import ProjectDocument
from dfecs_app.gui.export import save_csv
from dfecs_app.gui.worker import Worker, start_worker

TRAIN_SET = "train"
COLORS = {"DFECS": (214, 39, 40), "PCA": (31, 119, 180), "FACS": (44, 160, 44)}
STYLES = [Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
          Qt.PenStyle.DashDotLine]
#: x range of the empty VE-vs-L1 plot (the L1 norms of the encodings the curves usually span).
EMPTY_L1_RANGE = (1.0, 1000.0)
HINT = "Add test KPM sets and press Evaluate"


def evaluate_all(models: dict[str, AUModel], sets: dict[str, Any],
                 state: Any = None) -> dict[tuple[str, str], Any]:
    """:func:`evaluate_model` of every model on every KPM set (``KPMSet``: X, mask).

    Returns ``{(model name, set name): EvaluationResult}``.
    """
    from dfecs_app.core.evaluation import evaluate_model

    out = {}
    pairs = [(m, s) for m in models for s in sets]
    for i, (mname, sname) in enumerate(pairs):
        if state is not None:
            state.report("evaluate", i / max(len(pairs), 1), f"{mname} on {sname}", force=True,
                         model=mname, set=sname)
        kpm = sets[sname]
        out[(mname, sname)] = evaluate_model(models[mname], kpm.X, kpm.mask)
    if state is not None:
        state.report("evaluate", 1.0, f"{len(pairs)} evaluations", force=True)
    return out


class EvaluatePanel(QWidget):
    """Test sets, baselines, VE curves and VE table.

    Signals
    -------
    evaluated(int)
        Evaluation finished (number of model × set results).
    message(str)
    """

    evaluated = Signal(int)
    message = Signal(str)
    testSetAdded = Signal(str)  # noqa: N815 - Qt signal naming

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._worker: Worker | None = None
        self._prep_worker: Worker | None = None
        self._build()
        document.evaluationChanged.connect(self._refresh_sets)
        document.replaced.connect(self._on_replaced)
        document.modelChanged.connect(self._on_model_changed)
        document.kpmChanged.connect(self._on_model_changed)
        self._refresh_sets()

    @property
    def results(self) -> dict[tuple[str, str], Any]:
        """The evaluation results, kept by the document (saved with the project)."""
        return self.document.evaluation

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.sets_list = QListWidget()
        self.add_set_button = QPushButton("Add test &set…")
        self.add_set_button.setToolTip("A KPM file, or landmark files or a video prepared with "
                                       "the model's recipe")
        self.add_set_button.clicked.connect(self.add_test_set_dialog)
        self.remove_set_button = QPushButton("Remove")
        self.remove_set_button.clicked.connect(self.remove_selected_set)
        sets_box = QGroupBox("KPM sets")
        sl = QVBoxLayout(sets_box)
        sl.addWidget(self.sets_list)
        row = QHBoxLayout()
        row.addWidget(self.add_set_button)
        row.addWidget(self.remove_set_button)
        sl.addLayout(row)

        self.pca_check = QCheckBox("PCA AUs [U, −U] at VE(train) ≥")
        self.pca_check.setChecked(True)
        self.pca_ve = QDoubleSpinBox()
        self.pca_ve.setRange(50.0, 99.99)
        self.pca_ve.setValue(95.0)
        self.pca_ve.setSuffix(" %")
        self.facs_check = QCheckBox("FACS AUs")
        self.facs_check.setEnabled(False)
        self.facs_button = QPushButton("Load FACS &AUs…")
        self.facs_button.setToolTip("A CSV/NPZ of named 136-vectors (keypoint FACS AUs)")
        self.facs_button.clicked.connect(self.load_facs_dialog)
        base_box = QGroupBox("Baselines")
        bl = QVBoxLayout(base_box)
        r1 = QHBoxLayout()
        r1.addWidget(self.pca_check)
        r1.addWidget(self.pca_ve)
        r1.addStretch(1)
        r2 = QHBoxLayout()
        r2.addWidget(self.facs_check)
        r2.addWidget(self.facs_button)
        r2.addStretch(1)
        bl.addLayout(r1)
        bl.addLayout(r2)

        self.evaluate_button = QPushButton("&Evaluate")
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.addWidget(sets_box, 1)
        ll.addWidget(base_box)
        ll.addWidget(self.evaluate_button)
        ll.addWidget(self.progress)
        ll.addWidget(self.status)

        self.curve_set = QComboBox()
        self.curve_set.currentIndexChanged.connect(self._plot)
        self.k_plot = pg.PlotWidget(title="VE vs number of active AUs k")
        self.l1_plot = pg.PlotWidget(title="VE vs L1 norm of the encoding")
        for plot, xlabel in ((self.k_plot, "k (active AUs)"), (self.l1_plot, "L1 norm")):
            plot.setBackground("w")
            pi = plot.getPlotItem()
            pi.setLogMode(x=True, y=False)
            pi.showGrid(x=True, y=True, alpha=0.3)
            pi.setLabel("bottom", xlabel)
            pi.setLabel("left", f"{VE_MEAN} (%)")
            pi.addLegend(offset=(-10, -10))
        self.hints = [pg.TextItem("", color=(110, 110, 110), anchor=(0.5, 0.5))
                      for _ in range(2)]
        self.export_button = QPushButton("E&xport…")
        self.export_button.setToolTip("Curves and table as CSV, the curves figure as PNG/SVG")
        self.export_button.clicked.connect(self.export_dialog)
        crow = QHBoxLayout()
        crow.addWidget(QLabel("Curves on:"))
        crow.addWidget(self.curve_set, 1)
        crow.addWidget(self.export_button)
        plots = QHBoxLayout()
        plots.addWidget(self.k_plot)
        plots.addWidget(self.l1_plot)
        self.table = QTableWidget(0, 0)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addLayout(crow)
        rl.addLayout(plots, 3)
        note = QLabel(f"Curves: {VE_MEAN} — {VE_MEAN_HELP}. Table: {VE_NNLS} — {VE_NNLS_HELP}, "
                      "100·(1 − ‖Y − Ŷ‖²/‖Y‖²) of §3.4. (The Train panel's "
                      f"{VE_FFM} is the FFM's own fit.)")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        rl.addWidget(note)
        rl.addWidget(self.table, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    # -- sets and baselines ----------------------------------------------------------------
    def _refresh_sets(self) -> None:
        self.sets_list.clear()
        kpm = self.document.kpm
        if kpm is not None:
            self.sets_list.addItem(f"{TRAIN_SET} ({kpm.X.shape[0]} KPMs, training data)")
        for name, t in self.document.test_sets.items():
            self.sets_list.addItem(f"{name} ({t.X.shape[0]} KPMs)")
        facs = self.document.baselines.get("FACS")
        self.facs_check.setEnabled(facs is not None)
        self.facs_check.setChecked(facs is not None)
        if facs is not None:
            self.facs_check.setText(f"FACS AUs ({facs.n_components})")
        self._fill_curve_sets()

    def _fill_curve_sets(self) -> None:
        """The "Curves on:" choices: the evaluated sets, then the project's other KPM sets."""
        names = list(dict.fromkeys([*(s for _, s in self.results), *self.kpm_sets()]))
        current = self.curve_set.currentText()
        self.curve_set.blockSignals(True)
        self.curve_set.clear()
        self.curve_set.addItems(names)
        self.curve_set.setCurrentIndex(max(self.curve_set.findText(current), 0))
        self.curve_set.blockSignals(False)
        self._plot()

    def _on_replaced(self) -> None:
        self._refresh_sets()
        self._plot()
        self._fill_table()

    def _on_model_changed(self) -> None:
        # the document drops results and the PCA baseline when the model or the data change
        if self.document.evaluation_stale:
            self.status.setText("The model or the data changed: evaluate again.")
        self._fill_table()
        self._refresh_sets()

    def add_test_set_dialog(self) -> None:
        paths = dialogs.open_files(self, "Add test sets", settings.get("projects/last_dir"),
                                   "KPM files, landmark files or videos (*.npz *.npy *.csv *.tsv "
                                   "*.txt *.pts *.mat *.mp4 *.avi *.mov *.mkv *.m4v *.webm);;"
                                   "All files (*)")
        for p in paths:
            self.add_test_set(p)

    def add_test_set(self, path: str | Path, name: str | None = None) -> bool:
        """Add a test set: a KPM file (as written by ``dfecs kpm``) at once, or a landmark file
        or video prepared with the model's recipe in the worker (:meth:`add_test_input`)."""
        from dfecs_app.io.coding import input_kind
        from dfecs_app.io.kpm_file import load_kpm

        if input_kind(path) != "kpm":
            return self.add_test_input(path, name) is not None

        try:
            kpm = load_kpm(path)
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Loading the test set", err, traceback.format_exc())
            return False
        name = name or Path(path).name.split(".")[0]
        self.document.add_test_set(name, kpm)
        self.message.emit(f"Test set {name}: {kpm.X.shape[0]} KPMs")
        return True

    def add_test_input(self, path: str | Path, name: str | None = None) -> Worker | None:
        """Track (video) or read (landmark file) ``path`` and prepare its KPMs with the
        recipe of the model (or of the project's training KPMs), in the worker; the set is
        added when done (``testSetAdded``)."""
        from dfecs_app.io.coding import model_recipe, prepare_input

        if self._prep_worker is not None:
            dialogs.info(self, "Add test set", "A test set is being prepared; wait for it.")
            return None
        fallback = self.document.training_recipe()
        try:
            model = self.document.model
            if model is None and fallback is None:
                raise ValueError("train a model (or compute KPMs) first: test data are "
                                 "prepared with the model's recipe")
            recipe = fallback if model is None else model_recipe(model, "the project's model",
                                                                 fallback=fallback)
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Preparing the test set", err, traceback.format_exc())
            return None
        name = name or Path(path).name.split(".")[0]

        def done(prepared: Any) -> None:
            self.document.add_test_set(name, prepared.kpm)
            extra = ("; prepared unlike the model's recipe: " + "; ".join(prepared.mismatch)
                     if prepared.mismatch else "")
            self.status.setText(f"Test set {name}: {len(prepared.kpm)} KPMs{extra}")
            self.message.emit(f"Test set {name}: {len(prepared.kpm)} KPMs from {path}")
            self.testSetAdded.emit(name)

        def failed(err: BaseException) -> None:
            w = self._prep_worker
            self.status.setText(f"Failed: {err}")
            dialogs.exception(self, "Preparing the test set", err,
                              w.error_traceback if w is not None else "")

        def finished() -> None:
            self._prep_worker = None

        self.status.setText(f"Preparing {Path(path).name} with the model's recipe…")
        self._prep_worker = start_worker(prepare_input, recipe, path, name="preparing test set",
                                         on_yielded=self._on_progress, on_returned=done,
                                         on_errored=failed, on_finished=finished)
        return self._prep_worker

    def remove_selected_set(self) -> None:
        row = self.sets_list.currentRow()
        offset = 1 if self.document.kpm is not None else 0
        names = list(self.document.test_sets)
        if 0 <= row - offset < len(names):
            del self.document.test_sets[names[row - offset]]
            self.document.set_dirty()
            self.document.evaluationChanged.emit()

    def load_facs_dialog(self) -> None:
        path = dialogs.open_file(self, "Load keypoint FACS AUs", settings.get("projects/last_dir"),
                                 "FACS AUs (*.csv *.npz);;All files (*)")
        if path:
            self.load_facs(path)

    def load_facs(self, path: str | Path) -> bool:
        """Keypoint FACS AUs from a FACS model file, an NPZ of named vectors or of an AU
        landmark model, or a CSV of named 136-vectors — read as ``dfecs baseline facs`` does."""
        try:
            model = read_facs_aus(Path(path))
        except Exception as err:  # noqa: BLE001
            dialogs.exception(self, "Loading FACS AUs", err, traceback.format_exc())
            return False
        self.document.set_baseline("FACS", model)
        self.message.emit(f"FACS AUs: {model.n_components} from {path}")
        return True

    # -- evaluation ------------------------------------------------------------------------
    def models(self) -> dict[str, AUModel]:
        out: dict[str, AUModel] = {}
        if self.document.model is not None:
            out["DFECS"] = self.document.model
        if self.pca_check.isChecked() and "PCA" in self.document.baselines:
            out["PCA"] = self.document.baselines["PCA"]
        if self.facs_check.isChecked() and "FACS" in self.document.baselines:
            out["FACS"] = self.document.baselines["FACS"]
        return out

    def kpm_sets(self) -> dict[str, Any]:
        sets: dict[str, Any] = {}
        if self.document.kpm is not None:
            sets[TRAIN_SET] = self.document.kpm
        sets.update(self.document.test_sets)
        return sets

    def evaluate(self) -> Worker | None:
        """Fit the PCA baseline if needed, then evaluate every model on every set (worker)."""
        if self._worker is not None:
            return None
        if self.document.kpm is None or self.document.model is None:
            dialogs.info(self, "Evaluate", "Train a model first (it is evaluated on its "
                         "training KPMs and on the test sets).")
            return None
        need_pca = self.pca_check.isChecked() and "PCA" not in self.document.baselines
        kpm = self.document.kpm
        models = self.models()
        sets = self.kpm_sets()
        pca_ve = self.pca_ve.value()

        def work(state: Any) -> tuple[Any, dict]:
            pca = None
            if need_pca:
                from dfecs_app.core.baselines import pca_aus

                state.report("pca", 0.0, f"PCA AUs at VE ≥ {pca_ve:g} %", force=True)
                pca = pca_aus(kpm.X, mask=kpm.mask, ve=pca_ve)
                models["PCA"] = pca
            return pca, evaluate_all(models, sets, state)

        self.evaluate_button.setEnabled(False)
        self.progress.setValue(0)
        self._worker = start_worker(work, name="evaluating", on_yielded=self._on_progress,
                                    on_returned=self._on_done, on_errored=self._on_error,
                                    on_finished=self._on_finished)
        return self._worker

    def _on_progress(self, p: Progress) -> None:
        if p.fraction is not None:
            self.progress.setValue(int(100 * p.fraction))
        if p.message:
            self.status.setText(p.message)

    def _on_done(self, result: tuple[Any, dict]) -> None:
        pca, results = result
        self.document.set_evaluation(results, pca=pca)
        self.progress.setValue(100)
        self.status.setText(f"{len(results)} evaluations")
        self._fill_curve_sets()
        self._fill_table()
        self.evaluated.emit(len(results))

    def _on_error(self, err: BaseException) -> None:
        w = self._worker
        self.status.setText(f"Failed: {err}")
        dialogs.exception(self, "Evaluation", err, w.error_traceback if w is not None else "")

    def _on_finished(self) -> None:
        self._worker = None
        self.evaluate_button.setEnabled(True)

    # -- display ---------------------------------------------------------------------------
    def _plot(self, *_: Any) -> None:
        sname = self.curve_set.currentText()
        for plot in (self.k_plot, self.l1_plot):
            pi = plot.getPlotItem()
            pi.clear()
            if pi.legend is not None:
                pi.legend.clear()
        if not any(s == sname for _, s in self.results):
            self._show_empty(sname)
            return
        for plot in (self.k_plot, self.l1_plot):
            plot.getPlotItem().enableAutoRange()
        order = list(dict.fromkeys(m for m, _ in self.results))  # same style on every set
        for (mname, s), res in self.results.items():
            if s != sname:
                continue
            i = order.index(mname)
            color = COLORS.get(mname, pg.intColor(i))
            model = self._model_for(mname)
            label = f"{mname} ({model.n_components} AUs)" if model is not None else mname
            pen = pg.mkPen(color=color, width=2, style=STYLES[i % len(STYLES)])
            k, ve = res.ve_vs_k[:, 0], res.ve_vs_k[:, 1]
            keep = k >= 1
            self.k_plot.plot(k[keep], ve[keep], pen=pen, symbol="o", symbolSize=5,
                             symbolBrush=color, name=label)
            t, ve = res.ve_vs_l1[:, 0], res.ve_vs_l1[:, 1]
            keep = t > 0
            self.l1_plot.plot(t[keep], ve[keep], pen=pen, name=label)

    def _show_empty(self, sname: str) -> None:
        """Empty plots: VE 0–100 %, k in 1..q, L1 in 1..1000 (log x), and what to do."""
        import math

        model = self.document.model
        q = max(model.n_components if model is not None else 10, 2)
        if model is None:
            hint = "Train a model, then press Evaluate"
        elif self.results:
            hint = f"Press Evaluate to compute the curves on {sname}"
        else:
            hint = HINT
        ranges = ((self.k_plot, (0.0, math.log10(q))),
                  (self.l1_plot, tuple(math.log10(v) for v in EMPTY_L1_RANGE)))
        for (plot, (x0, x1)), text in zip(ranges, self.hints):
            pi = plot.getPlotItem()
            pi.setRange(xRange=(x0, x1), yRange=(0.0, 100.0), padding=0.02)
            text.setText(hint)
            text.setPos((x0 + x1) / 2, 50.0)
            pi.addItem(text, ignoreBounds=True)

    def hint_text(self) -> str:
        """The hint the empty plots show ("" once curves are drawn)."""
        hint = self.hints[0]
        return hint.toPlainText() if hint.scene() is not None else ""

    def _model_for(self, name: str) -> AUModel | None:
        return self.models().get(name) or self.document.baselines.get(name)

    def table_rows(self) -> tuple[list[str], list[list]]:
        """Header and rows of the VE table: model, AUs, VE per set (pooled, §3.4)."""
        sets = list(dict.fromkeys(s for _, s in self.results))
        header = ["model", "AUs"] + [f"VE({'train' if s == TRAIN_SET else 'test: ' + s}) %"
                                     for s in sets]  # pooled over samples, as in §3.4
        rows = []
        for mname in dict.fromkeys(m for m, _ in self.results):
            model = self._model_for(mname)
            row: list = [mname, model.n_components if model is not None else ""]
            for s in sets:
                res = self.results.get((mname, s))
                row.append(float(res.ve) if res is not None else float("nan"))
            rows.append(row)
        return header, rows

    def _fill_table(self) -> None:
        header, rows = self.table_rows()
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(header)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                text = f"{v:.2f}" if isinstance(v, float) else str(v)
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        folder = dialogs.open_dir(self, "Export curves, table and plots to…",
                                  settings.get("projects/last_dir"))
        if folder:
            self.export_all(folder)

    def export_all(self, folder: str | Path) -> list[Path]:
        """``ve_curves.csv``, ``ve_table.csv`` and the curves figure ``ve_curves.png/.svg``."""
        if not self.results:
            dialogs.info(self, "Export", "Evaluate first.")
            return []
        folder = Path(folder)
        out = [self.export_curves_csv(folder / "ve_curves.csv"),
               self.export_table_csv(folder / "ve_table.csv")]
        out += [self.export_curves_figure(folder / f"ve_curves{suffix}") for suffix in (".png", ".svg")]
        self.message.emit(f"Exported the evaluation to {folder}")
        return out

    def curve_panels(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        """One (title, [(model label, EvaluationResult), ...]) per KPM set, in result order."""
        panels: dict[str, list[tuple[str, Any]]] = {}
        for (mname, sname), res in self.results.items():
            model = self._model_for(mname)
            label = f"{mname} ({model.n_components} AUs)" if model is not None else mname
            panels.setdefault(sname, []).append((label, res))
        return [(f"{s} (training data)" if s == TRAIN_SET else f"{s} (test)", lines)
                for s, lines in panels.items()]

    def export_curves_figure(self, path: str | Path) -> Path:
        """Every curve, one column per KPM set — the figure of ``dfecs compare --plot`` —
        as PNG, SVG or PDF (by the suffix)."""
        from dfecs_app.render.curves import plot_curves

        return plot_curves(path, self.curve_panels(), "mean")

    def export_curves_csv(self, path: str | Path) -> Path:
        """Both curves of every result, in the CSV format of ``dfecs evaluate --curves``."""
        from dfecs_app.io.atomic import write_text_atomic
        from dfecs_app.io.evaluation_file import curves_csv

        write_text_atomic(path, curves_csv([(m, s, r) for (m, s), r in self.results.items()]))
        return Path(path)

    def export_table_csv(self, path: str | Path) -> Path:
        header, rows = self.table_rows()
        return save_csv(path, header, rows)


def read_facs_aus(path: Path) -> AUModel:
    """FACS AUs from any file ``dfecs baseline facs`` reads (or a saved FACS model file)."""
    from dfecs_app.errors import InputError
    from dfecs_app.io.au_vectors import read_au_file
    from dfecs_app.io.model_file import load_model

    if path.suffix.lower() == ".npz":
        try:
            return load_model(path)
        except InputError:  # not a model file: named vectors or an AU landmark model
            pass
    return read_au_file(path)


__all__ = ["EvaluatePanel", "evaluate_all", "read_facs_aus"]
