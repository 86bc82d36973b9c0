"""``dfecs train`` end to end: synthetic and real KPM files, explicit params, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfecs_app.cli.main import main
from dfecs_app.core.baselines import pca_aus
from dfecs_app.core.encoding import encode
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.metrics import variance_explained
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.io.kpm_file import load_kpm, save_kpm
from dfecs_app.io.model_file import load_model


def _write_kpm(path, X, mask):
    n = X.shape[0]
    save_kpm(path, KPMSet(X=X, mask=mask, subject=np.array(["s"] * n),
                          sequence=np.array(["q"] * n), frame=np.arange(n), meta={}))
    return path


@pytest.fixture(scope="module")
def kpm_file(tmp_path_factory):
    X, mask, _, _ = make_kpm_dataset(800, random_state=0, noise=0.5)
    return _write_kpm(tmp_path_factory.mktemp("kpm") / "syn.npz", X, mask)


def test_train_synthetic_end_to_end(kpm_file, tmp_path, capsys):
    out = tmp_path / "model.npz"
    assert main(["train", str(kpm_file), "--seed", "0", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "lips" in text and "HFM" in text
    assert "VE of U·A·B (FFM fit)" in text and "VE of NNLS encoding, pooled" in text
    model = load_model(out)
    assert model.kind == "dfecs" and model.names[0] == "AU 1"
    hp = model.meta["hyperparameters"]
    assert hp["hfm"]["reached"] and model.meta["ve_train"] >= 95.0
    assert all(hp["parts"][p]["ve"] >= 97.5 for p in hp["parts"])
    with np.load(out, allow_pickle=False) as npz:
        assert {"components", "meta", "arr_A", "arr_U_lips"} <= set(npz.files)
    # the same seed gives the same model
    out2 = tmp_path / "model2.npz"
    assert main(["train", str(kpm_file), "--seed", "0", "--out", str(out2)]) == 0
    np.testing.assert_array_equal(load_model(out2).components, model.components)


def test_train_explicit_params(kpm_file, tmp_path, capsys):
    params = {"parts": {"lips": {"k": 5, "alpha": 1.5}, "nose": {"k": 2, "alpha": 2}},
              "hfm": {"q": 10, "alpha_A": 0.1, "alpha_B": 0.1}}
    pfile = tmp_path / "p.json"
    pfile.write_text(json.dumps(params))
    out = tmp_path / "m.npz"
    for spec in (json.dumps(params), str(pfile)):
        assert main(["train", str(kpm_file), "--params", spec, "--out", str(out)]) == 0
        hp = load_model(out).meta["hyperparameters"]
        assert (hp["parts"]["lips"]["k"], hp["parts"]["lips"]["alpha"]) == (5, 1.5)
        assert (hp["parts"]["nose"]["k"], hp["parts"]["nose"]["alpha"]) == (2, 2.0)
        assert (hp["hfm"]["q"], hp["hfm"]["alpha_A"], hp["hfm"]["alpha_B"]) == (10, 0.1, 0.1)


def _fails(argv, capsys, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_train_bad_input(kpm_file, tmp_path, capsys):
    out = str(tmp_path / "m.npz")
    X, mask, _, _ = make_kpm_dataset(50, random_state=0)
    nan = X.copy()
    nan[4, 2] = np.nan
    np.savez(tmp_path / "nan.npz", X=nan, mask=mask)
    _fails(["train", str(tmp_path / "nan.npz"), "--out", out], capsys, "nan.npz", "[X]", "NaN")
    np.savez(tmp_path / "nox.npz", mask=mask)
    _fails(["train", str(tmp_path / "nox.npz"), "--out", out], capsys, "nox.npz", "[X]")
    _write_kpm(tmp_path / "zero.npz", np.zeros_like(X), mask)
    _fails(["train", str(tmp_path / "zero.npz"), "--out", out], capsys, "zero.npz", "zero")
    for beta in ("0", "1", "-0.1", "1.5"):
        _fails(["train", str(kpm_file), "--beta", beta, "--out", out], capsys, "[beta]")
    _fails(["train", str(kpm_file), "--params", '{"parts": {"lips": {"k": 0, "alpha": 1}}}',
            "--out", out], capsys, "[parts.lips.k]")
    _fails(["train", str(kpm_file), "--params", '{"parts": {"lip": {"k": 2, "alpha": 1}}}',
            "--out", out], capsys, "[parts.lip]")
    _fails(["train", str(kpm_file), "--params", '{"hfm": {"q": 4, "alpha_A": -1, "alpha_B": 1}}',
            "--out", out], capsys, "[hfm.alpha_A]")
    _fails(["train", str(kpm_file), "--params", '{"hfm": {"q": 4}', "--out", out], capsys,
           "[params]", "invalid JSON")
    _fails(["train", str(kpm_file), "--params", "nope.json", "--out", out], capsys, "[params]")
    assert not (tmp_path / "m.npz").exists()


def test_train_on_real_tracks_and_held_out_subject(shared_data, tmp_path, capsys):
    kpm = tmp_path / "news.npz"
    assert main(["kpm", str(shared_data / "tracks" / "news_sample"), "--out", str(kpm)]) == 0
    data = load_kpm(kpm)
    held = data.subject == data.subject[-1]
    _write_kpm(tmp_path / "train.npz", data.X[~held], data.mask[~held])
    out = tmp_path / "news_model.npz"
    assert main(["train", str(tmp_path / "train.npz"), "--seed", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    model = load_model(out)
    assert model.meta["ve_train"] >= 95.0
    Y = data.X[held]
    ve_test = variance_explained(Y, encode(Y, model.components, 0.0) @ model.components)
    # measured 95.1 % (PCA AUs at 95 % VE(train): 95.3 %) on the held-out clip
    pca = pca_aus(data.X[~held], ve=95.0)
    ve_pca = variance_explained(Y, encode(Y, pca.components, 0.0) @ pca.components)
    assert ve_test > 90.0 and ve_test > ve_pca - 3.0


def test_train_json_table_strategy_and_small_data_warning(tmp_path, capsys):
    X, mask, _, _ = make_kpm_dataset(150, random_state=4, noise=0.5)
    kpm = _write_kpm(tmp_path / "small.npz", X, mask)
    out = tmp_path / "m.npz"
    assert main(["train", str(kpm), "--strategy", "heuristic", "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["strategy"] == "heuristic"
    table = summary["table"]
    assert [r["model"] for r in table] == ["PFM"] * 7 + ["HFM"]
    model = load_model(out)
    hfm = model.meta["hyperparameters"]["hfm"]
    assert (table[-1]["k"], table[-1]["alpha"], table[-1]["alpha_B"]) == (
        hfm["q"], hfm["alpha_A"], hfm["alpha_B"])
    assert summary["ve"]["ffm_reconstruction"] == pytest.approx(model.meta["ve_train"])
    stats = summary["au_stats"]
    assert len(stats["ve_share"]) == model.n_components
    assert 100 * sum(stats["ve_share"]) == pytest.approx(summary["ve"]["nnls_pooled"], abs=1e-6)
    assert np.all(np.diff(stats["ve_share"]) <= 0)
    # 150 frames of one subject: both small-data warnings, in the JSON and on stderr
    assert len(summary["warnings"]) == 2 and "warning: only 150 training frames" in captured.err
    # the model encodes with NNLS by default: its codes reproduce the pooled NNLS VE
    codes = encode(X, model.components, 0.0, mask)
    assert variance_explained(X, codes @ model.components, mask) == pytest.approx(
        summary["ve"]["nnls_pooled"])
