"""Train panel: the demo trains in the worker thread; Cancel midway; train again; AU grid."""

from __future__ import annotations

import numpy as np

from dfecs_app.core.progress import Progress
from dfecs_app.gui import dialogs
from dfecs_app.io.demo import demo_kpm as make_demo_kpm


def test_cancel_midway_then_train_again_and_see_the_grid(demo_window, qtbot) -> None:  # noqa: ANN001
    win = demo_window
    train = win.panels["train"]
    win.raise_panel("train")
    reports: list[Progress] = []
    train.progressed.connect(reports.append)

    # 1. start (on a bigger set, so the run is surely still going), wait for the first
    #    progress report, cancel: nothing learned, the app stays usable
    demo_kpm = win.document.kpm
    win.document.kpm = make_demo_kpm(n_samples=20000, random_state=3)
    with qtbot.waitSignal(train.progressed, timeout=30000):
        worker = train.start_training()
    assert worker is not None and train.is_running()
    assert not train.train_button.isEnabled() and train.cancel_button.isEnabled()
    with qtbot.waitSignal(train.cancelled, timeout=30000):
        train.cancel()
    qtbot.waitUntil(lambda: not train.is_running() and train.train_button.isEnabled(),
                    timeout=10000)
    assert win.document.model is None
    assert train.stage_label.text() == "Cancelled"
    assert "Cancelled after" in train.log.toPlainText()

    # 2. train again on the demo, to the end
    win.document.kpm = demo_kpm
    reports.clear()
    aus = win.panels["aus"]
    with qtbot.waitSignal(train.trained, timeout=120000):
        train.start_training()
    qtbot.waitUntil(lambda: not train.is_running(), timeout=10000)
    with qtbot.waitSignal(aus.gridFilled, timeout=10000):
        win.raise_panel("aus")
    model = win.document.model
    assert model is not None and model.kind == "dfecs"
    assert reports and any(p.info.get("ve") is not None for p in reports)
    assert train.progress.value() == 1000
    ve = model.meta.get("ve_train", model.meta.get("ve"))
    assert ve is not None and float(ve) >= 95.0 - 1e-6  # β = 0.05
    # the grid shows every AU in the model's order: by decreasing share of the training VE
    assert len(aus.cells) == model.n_components
    share = np.asarray(model.meta["au_stats"]["ve_share"], float)[aus.order]
    assert np.all(np.diff(share) <= 1e-12)
    assert "% of VE" in aus.cells[0][2].text and "VE share" in aus.cells[0][0].toolTip()
    # the SI Table 1-2 view: seven parts and the HFM, with the chosen settings and VE labels
    table = train.result_table
    assert table.rowCount() == 8
    hfm = model.meta["hyperparameters"]["hfm"]
    assert table.item(7, 0).text() == "HFM" and table.item(7, 2).text() == str(hfm["q"])
    assert table.item(7, 3).text() == f"{hfm['alpha_A']:g}"
    lips = model.meta["hyperparameters"]["parts"]["lips"]
    assert table.item(6, 1).text() == "lips" and table.item(6, 2).text() == str(lips["k"])
    label = train.result_label.text()
    assert "VE of U·A·B (FFM fit)" in label and "VE of NNLS encoding, pooled" in label
    assert "search: exact" in label
    assert not [d for d in dialogs.shown if d.kind == "error"]
    assert win.document.dirty
    # the AUs panel asked for projected images: let the morph worker finish before teardown
    qtbot.waitUntil(lambda: win.panels["projected"]._worker is None, timeout=120000)


def test_bad_explicit_hyperparameters_name_the_cell(demo_window) -> None:  # noqa: ANN001
    train = demo_window.panels["train"]
    train.mode_combo.setCurrentIndex(train.mode_combo.findData("explicit"))
    train.params_table.item(6, 0).setText("four")
    assert train.start_training() is None
    assert not dialogs.shown  # shown beside the table, not in a dialog
    assert "lips" in train.validation.label.text() and "'four'" in train.validation.label.text()


def test_strategy_choice_and_small_data_warning(demo_window) -> None:  # noqa: ANN001
    train = demo_window.panels["train"]
    train.strategy_combo.setCurrentIndex(train.strategy_combo.findData("literal"))
    assert train.current_params()["strategy"] == "literal"
    kpm = demo_window.document.kpm
    demo_window.document.kpm = kpm.select(slice(0, 50))
    train._refresh()
    assert not train.warning_label.isHidden()
    assert "only 50 training frames" in train.warning_label.text()
