"""Evaluate panel: DFECS beside PCA and FACS AUs, VE curves on log axes, VE table, CSV."""

from __future__ import annotations

import csv

import numpy as np

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.evaluation import evaluate_model
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.io.demo import demo_kpm
from dfecs_app.io.kpm_file import save_kpm


def test_evaluate_against_pca_and_facs(demo_window, qtbot, tmp_path, shared_data) -> None:  # noqa: ANN001
    win = demo_window
    panel = win.panels["evaluate"]
    _, _, comps, _ = make_kpm_dataset(10, n_components=16, random_state=0)
    win.document.set_model(AUModel(components=comps, kind="dfecs"))
    test_path = tmp_path / "test.npz"
    save_kpm(test_path, demo_kpm(n_samples=300, random_state=7))
    assert panel.add_test_set(test_path)
    assert panel.load_facs(shared_data / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz")
    assert win.document.baselines["FACS"].n_components == 20

    with qtbot.waitSignal(panel.evaluated, timeout=60000) as blocker:
        panel.evaluate()
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10000)
    assert blocker.args == [6]  # 3 models x (train, test)
    res = panel.results[("DFECS", "test")]
    ref = evaluate_model(win.document.model, win.document.test_sets["test"].X,
                         win.document.test_sets["test"].mask)
    np.testing.assert_allclose(res.ve_vs_k, ref.ve_vs_k)
    assert res.ve > 80  # the true components explain their own data
    pca = win.document.baselines["PCA"]
    assert pca.kind == "pca" and panel.results[("PCA", "train")].ve >= 95.0 - 1e-6
    # log x axes, one curve per model
    assert panel.k_plot.getPlotItem().ctrl.logXCheck.isChecked()
    assert len(panel.k_plot.getPlotItem().listDataItems()) == 3
    header, rows = panel.table_rows()
    assert header[:3] == ["model", "AUs", "VE(train) %"] and len(rows) == 3

    outs = panel.export_all(tmp_path / "eval")
    for p in outs:
        assert p.exists() and p.stat().st_size > 100, p
    with open(tmp_path / "eval" / "ve_table.csv", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0][0] == "model" and {r[0] for r in table[1:]} == {"DFECS", "PCA", "FACS"}
    with open(tmp_path / "eval" / "ve_curves.csv", encoding="utf-8") as fh:
        curves = list(csv.DictReader(fh))
    assert {c["curve"] for c in curves} == {"k", "l1"}
    assert sorted(p.name for p in outs) == ["ve_curves.csv", "ve_curves.png", "ve_curves.svg",
                                            "ve_table.csv"]
    svg = (tmp_path / "eval" / "ve_curves.svg").read_text(encoding="utf-8")
    assert "<svg" in svg[:1000] and svg.count('id="axes_') == 4  # train + test, 2 curves each
    assert "DFECS (" in svg and "test (test)" in svg


def test_empty_state_then_curves_after_evaluate(demo_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    """Before an evaluation: the combo lists the KPM sets, the plots span VE 0-100 %, k 1..q
    and L1 1..1000 with a hint; after Evaluate the combo lists every set and curves show."""
    win = demo_window
    panel = win.panels["evaluate"]
    combo = [panel.curve_set.itemText(i) for i in range(panel.curve_set.count())]
    assert combo == ["train"]
    assert panel.hint_text() == "Train a model, then press Evaluate"
    _, _, comps, _ = make_kpm_dataset(10, n_components=12, random_state=0)
    win.document.set_model(AUModel(components=comps, kind="dfecs"))
    test_path = tmp_path / "heldout.npz"
    save_kpm(test_path, demo_kpm(n_samples=200, random_state=3))
    assert panel.add_test_set(test_path)
    combo = [panel.curve_set.itemText(i) for i in range(panel.curve_set.count())]
    assert combo == ["train", "heldout"]
    assert panel.hint_text() == "Add test KPM sets and press Evaluate"
    (kx0, kx1), (ky0, ky1) = panel.k_plot.getPlotItem().getViewBox().viewRange()
    (lx0, lx1), _ = panel.l1_plot.getPlotItem().getViewBox().viewRange()
    assert -5 <= ky0 <= 0 and 100 <= ky1 <= 105  # VE in percent, not 0..1
    assert -0.1 < kx0 <= 0 and abs(kx1 - np.log10(12)) < 0.05  # k = 1..q on the log axis
    assert -0.1 < lx0 <= 0 and abs(lx1 - 3) < 0.1  # L1 = 1..1000
    assert panel.k_plot.getPlotItem().listDataItems() == []

    with qtbot.waitSignal(panel.evaluated, timeout=60000):
        panel.evaluate()
    qtbot.waitUntil(lambda: panel._worker is None, timeout=10000)
    combo = [panel.curve_set.itemText(i) for i in range(panel.curve_set.count())]
    assert combo == ["train", "heldout"] and panel.hint_text() == ""
    names = [item.name() for item in panel.k_plot.getPlotItem().listDataItems()]
    assert names == ["DFECS (12 AUs)", f"PCA ({win.document.baselines['PCA'].n_components} AUs)"]
    legend = panel.k_plot.getPlotItem().legend
    assert len(legend.items) == 2
    panel.curve_set.setCurrentIndex(1)
    xs, ys = panel.l1_plot.getPlotItem().listDataItems()[0].getData()
    res = panel.results[("DFECS", "heldout")]
    assert len(xs) > 2 and np.all(ys <= 100 + 1e-9)
    assert np.isclose(ys.max(), res.ve_vs_l1[:, 1].max())
