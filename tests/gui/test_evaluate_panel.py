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
