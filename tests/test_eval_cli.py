"""``dfecs baseline``, ``dfecs evaluate`` and ``dfecs compare`` end to end, real files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfecs_app.cli import main as cli_main
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.evaluation import evaluate_model
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.io.kpm_file import load_kpm, save_kpm
from dfecs_app.io.model_file import load_model, save_model


@pytest.fixture
def dfecs(monkeypatch, capsys):
    """Run ``dfecs ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args):
        code = cli_main.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _kpm(path, n, seed, missing=None):
    X, mask, comps, _ = make_kpm_dataset(n, n_components=12, missing=missing, random_state=seed)
    save_kpm(path, KPMSet(X=X, mask=mask, subject=np.full(n, "s1"), sequence=np.full(n, "q1"),
                          frame=np.arange(n)))
    return comps


@pytest.fixture
def files(tmp_path):
    comps = _kpm(tmp_path / "train.npz", 600, 0)
    _kpm(tmp_path / "test1.npz", 300, 1)
    _kpm(tmp_path / "test2.npz", 300, 2, missing="bp4d")
    save_model(tmp_path / "true.npz", AUModel(components=comps, kind="dfecs"))
    return tmp_path


def test_evaluate_json_schema(dfecs, files) -> None:
    code, out, err = dfecs("evaluate", files / "true.npz", files / "test2.npz", "--json")
    assert code == 0
    obj = json.loads(out)  # exactly one JSON object on stdout
    assert set(obj) == {"ve", "ve_vs_k", "ve_vs_l1", "n_samples"}
    assert obj["n_samples"] == 300
    assert isinstance(obj["ve"], float) and 0 < obj["ve"] <= 100
    ks = [k for k, _ in obj["ve_vs_k"]]
    assert ks == list(range(13)) and all(isinstance(k, int) for k in ks)
    ve_k = [v for _, v in obj["ve_vs_k"]]
    assert ve_k[0] == 0 and all(b >= a - 1e-9 for a, b in zip(ve_k, ve_k[1:]))
    l1 = [t for t, _ in obj["ve_vs_l1"]]
    assert l1[0] == 0 and l1[-1] == pytest.approx(1000) and len(l1) == 62
    # the same numbers as the library call on the same file
    kpm = load_kpm(files / "test2.npz")
    ref = evaluate_model(load_model(files / "true.npz"), kpm.X, kpm.mask)
    assert obj["ve"] == pytest.approx(ref.ve, rel=1e-12)
    assert ve_k == pytest.approx(ref.ve_vs_k[:, 1].tolist(), rel=1e-12)


def test_evaluate_text_curves_and_plot(dfecs, files) -> None:
    code, out, _ = dfecs("evaluate", files / "true.npz", files / "test1.npz", "--average",
                         "pooled", "--curves", files / "c.csv", "--plot", files / "c.png",
                         "--alpha", "5")
    assert code == 0
    assert "VE (encoding at alpha=5, pooled)" in out and "VE vs L1 norm" in out
    lines = (files / "c.csv").read_text().splitlines()
    assert lines[0] == "model,data,curve,x,ve_mean,ve_pooled" and len(lines) == 1 + 13 + 62
    assert (files / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_baselines_and_compare(dfecs, files, shared_data) -> None:
    code, out, _ = dfecs("baseline", "pca", files / "train.npz", "--ve", "95",
                         "--out", files / "pca.npz")
    assert code == 0 and "PCA AUs" in out
    pca = load_model(files / "pca.npz")
    assert pca.kind == "pca" and pca.meta["ve_train"] >= 95 and not pca.meta["centered"]
    tables = shared_data / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz"
    code, out, _ = dfecs("baseline", "facs", tables, "--out", files / "facs.npz")
    assert code == 0
    facs = load_model(files / "facs.npz")
    assert facs.kind == "facs" and facs.n_components == 20 and facs.names[8].startswith("AU12")
    code, out, _ = dfecs("compare", files / "true.npz", files / "pca.npz", files / "facs.npz",
                         "--train", files / "train.npz", "--test", files / "test1.npz",
                         files / "test2.npz", "--json", "--plot", files / "cmp.svg",
                         "--csv", files / "cmp.csv")
    assert code == 0
    obj = json.loads(out)
    assert [m["kind"] for m in obj["models"]] == ["dfecs", "pca", "facs"]
    true, pca_e, facs_e = obj["models"]
    assert pca_e["train"]["ve"] == pytest.approx(pca.meta["ve_train"], abs=1e-8)
    assert len(true["test"]) == 2 and len(true["mean_test_ve_vs_k"]) == 13
    # the generating components explain the test sets better than 20 generic FACS AUs
    for t_true, t_facs in zip(true["test"], facs_e["test"]):
        assert t_true["ve"] > t_facs["ve"]
    # the figure's format follows the suffix: an SVG with one column of 2 axes per data set
    svg = (files / "cmp.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg[:1000]
    assert svg.count('id="axes_') == 6 and "test1 (test)" in svg
    rows = 3 * (3 * 62 + 13 + (pca.n_components + 1) + 21)  # 3 data sets, 3 models
    assert len((files / "cmp.csv").read_text().splitlines()) == 1 + rows
    code, out, _ = dfecs("compare", files / "true.npz", files / "pca.npz", "--train",
                         files / "train.npz", "--test", files / "test1.npz")
    assert code == 0 and "VE(train) train" in out and "VE(test) test1" in out


def test_baseline_facs_csv_formats(dfecs, tmp_path) -> None:
    rng = np.random.default_rng(3)
    V = rng.standard_normal((3, 136))
    names = ["AU1", "AU2", "AU12"]
    (tmp_path / "plain.csv").write_text(
        "\n".join(n + "," + ",".join(f"{v:.17g}" for v in row) for n, row in zip(names, V)) + "\n")
    head = ["name"] + [f"y_{i}" for i in range(68)] + [f"x_{i}" for i in range(68)]
    body = [",".join([n] + [f"{v:.17g}" for v in np.r_[row[68:], row[:68]]])
            for n, row in zip(names, V)]
    (tmp_path / "header.csv").write_text(",".join(head) + "\n" + "\n".join(body) + "\n")
    for name in ("plain", "header"):
        code, _, err = dfecs("baseline", "facs", tmp_path / f"{name}.csv",
                             "--out", tmp_path / f"{name}.npz")
        assert code == 0, err
        m = load_model(tmp_path / f"{name}.npz")
        assert m.names == names and m.kind == "facs"
        np.testing.assert_allclose(m.components, V, rtol=1e-15)
    lines = (tmp_path / "plain.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",", ",oops,", 1)
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    code, _, err = dfecs("baseline", "facs", tmp_path / "bad.csv", "--out", tmp_path / "x.npz")
    assert code == 2 and "bad.csv:2:" in err and not (tmp_path / "x.npz").exists()


def test_baseline_facs_from_landmark_files(dfecs, tmp_path, shared_data) -> None:
    from dfecs_app.io.readers import read_landmarks

    table = read_landmarks(shared_data / "tracks" / "single_face_dlib68.csv")
    mouth = np.linalg.norm(table.points[:, 54] - table.points[:, 48], axis=1)
    apex = table.points[int(np.argmax(mouth))]
    pts = "version: 1\nn_points: 68\n{\n" + "\n".join(f"{x + 1:.4f} {y + 1:.4f}" for x, y in apex) + "\n}\n"
    (tmp_path / "smile.pts").write_text(pts)
    code, out, err = dfecs("baseline", "facs", "--from-landmarks",
                           shared_data / "faces" / "single_face_frame0.pts", tmp_path / "smile.pts",
                           "--out", tmp_path / "f.npz")
    assert code == 0, err
    m = load_model(tmp_path / "f.npz")
    assert m.names == ["smile"] and m.meta["frontalized"] is True
    assert m.components[0, 48] < 0 < m.components[0, 54]  # the mouth widens


def _single_error_line(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_inputs(dfecs, files, tmp_path) -> None:
    X = load_kpm(files / "test1.npz").X
    Xn = X.copy()
    Xn[5, 3] = np.nan
    np.savez(tmp_path / "nan.npz", X=Xn)
    code, _, err = dfecs("evaluate", files / "true.npz", tmp_path / "nan.npz")
    assert code == 2 and "nan.npz" in err and "NaN" in err
    _single_error_line(err)

    np.savez(tmp_path / "nox.npz", Y=X)
    code, _, err = dfecs("evaluate", files / "true.npz", tmp_path / "nox.npz")
    assert code == 2 and "nox.npz" in err and "'X'" in err
    _single_error_line(err)

    np.savez(tmp_path / "zero.npz", X=np.zeros((20, 136)))
    for args in (("evaluate", files / "true.npz", tmp_path / "zero.npz"),
                 ("baseline", "pca", tmp_path / "zero.npz", "--out", tmp_path / "p.npz"),
                 ("compare", files / "true.npz", "--test", tmp_path / "zero.npz")):
        code, _, err = dfecs(*args)
        assert code == 2 and "zero.npz" in err and "all samples are zero" in err
        _single_error_line(err)
    assert not (tmp_path / "p.npz").exists()

    with np.load(files / "true.npz", allow_pickle=False) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = 99
    arrays["meta"] = np.asarray(json.dumps(meta))
    np.savez(tmp_path / "v99.npz", **arrays)
    code, _, err = dfecs("evaluate", tmp_path / "v99.npz", files / "test1.npz")
    assert code == 2 and "v99.npz" in err and "format version" in err
    _single_error_line(err)

    code, _, err = dfecs("compare", files / "true.npz")
    assert code == 2 and "--train" in err
    code, _, err = dfecs("baseline", "facs", "--out", tmp_path / "f.npz")
    assert code == 2 and "either" in err


@pytest.mark.parametrize("command", ["evaluate", "compare"])
def test_a_failed_run_never_replaces_an_existing_output(dfecs, files, command) -> None:
    """A bad --plot (or an unusable output) is refused before anything is computed or written."""
    old_csv = files / "old.csv"
    old_csv.write_bytes(b"model,data,curve,x,ve_mean,ve_pooled\nmine,1,2,3,4,5\n")
    old_png = files / "old.png"
    old_png.write_bytes(b"\x89PNG my figure")
    before = (old_csv.read_bytes(), old_png.read_bytes())
    csv_opt = "--curves" if command == "evaluate" else "--csv"
    head = (["evaluate", files / "true.npz", files / "test1.npz"] if command == "evaluate"
            else ["compare", files / "true.npz", "--test", files / "test1.npz"])
    for bad in (["--plot", files / "c.gif"], ["--plot", files], ["--plot", old_csv],
                ["--plot", files / "old.csv" / "x.png"], ["--l1-points", "1", "--plot", old_png]):
        code, out, err = dfecs(*head, csv_opt, old_csv, *bad)
        assert code == 2, (bad, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert (old_csv.read_bytes(), old_png.read_bytes()) == before, bad
    assert "--plot" in dfecs(*head, csv_opt, old_csv, "--plot", files / "c.gif")[2]
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []
    # a good run replaces both, together
    code, _, err = dfecs(*head, csv_opt, old_csv, "--plot", old_png)
    assert code == 0, err
    assert old_csv.read_bytes() != before[0] and old_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
