"""PCA AUs rated as the paper's Table 2, and blinded comparisons of several models in one
session: session file, packs, per-model statistics and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfecs_app.cli import main as cli_main
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.rated_models import RatedModels, blind_labels
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.io.kpm_file import save_kpm
from dfecs_app.io.model_file import load_model, save_model
from dfecs_app.io.rating_pack import RatingPack, export_pack, import_returned_ratings
from dfecs_app.io.rating_session import RatingSession
from dfecs_app.stats.proportions import compare_proportions

from .conftest import TABLE_2, VOLUNTEERS, make_model, parse_table, votes_csv


def run(*argv) -> int:
    return cli_main.main([str(a) for a in argv])


@pytest.fixture
def kpm_file(tmp_path):
    X, mask, _, _ = make_kpm_dataset(400, n_components=12, random_state=3)
    n = X.shape[0]
    path = tmp_path / "train.npz"
    save_kpm(path, KPMSet(X=X, mask=mask, subject=np.full(n, "s1"), sequence=np.full(n, "q1"),
                          frame=np.arange(n)))
    return path


def test_table_2_votes_bind_to_a_pca_model_of_8_components(tmp_path, kpm_file, capsys) -> None:
    assert run("baseline", "pca", kpm_file, "--n-components", "8", "--out",
               tmp_path / "pca.npz") == 0
    assert "8 principal components -> 16 AUs" in capsys.readouterr().out
    pca = load_model(tmp_path / "pca.npz")
    names, _, _ = parse_table(TABLE_2)
    assert pca.names == names  # the paper's names, in the paper's order
    csv = tmp_path / "t2.csv"
    csv.write_text(votes_csv(TABLE_2), encoding="utf-8")
    assert run("ratings", "import", csv, "--out", tmp_path / "s.json", "--model",
               tmp_path / "pca.npz") == 0
    capsys.readouterr()
    assert run("ratings", "summary", tmp_path / "s.json", "--json", "--n-boot", "100") == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["raters"].values()) == pytest.approx([56.25, 75.0, 56.25])
    assert out["majority"] == pytest.approx(62.5)


def test_compare_proportions_fisher_and_bootstrap() -> None:
    a = np.array([1.0] * 14 + [0.0] * 2)   # Table 1: 87.5 %
    b = np.array([1.0] * 10 + [0.0] * 6)   # Table 2: 62.5 %
    d = compare_proportions(a, b, "DFECS", "PCA", n_boot=4000, seed=1)
    assert d.difference == pytest.approx(-25.0)
    assert d.ci_low < -25.0 < d.ci_high and d.ci_high <= 12.5 and d.ci_low >= -62.5
    # Fisher's exact test on [[14, 2], [10, 6]] (scipy; hypergeometric by hand below)
    from math import comb
    p_obs = comb(16, 14) * comb(16, 10) / comb(32, 24)
    p = sum(comb(16, x) * comb(16, 24 - x) / comb(32, 24) for x in range(8, 17)
            if comb(16, x) * comb(16, 24 - x) / comb(32, 24) <= p_obs * (1 + 1e-7))
    assert d.p_value == pytest.approx(p, rel=1e-9)
    assert d.p_value > 0.05  # 16 AUs per model cannot separate 87.5 % from 62.5 %
    same = compare_proportions(a, a, n_boot=200)
    assert same.difference == 0.0 and same.p_value == pytest.approx(1.0)
    assert compare_proportions(a, b, n_boot=500, seed=7).ci_low == \
        compare_proportions(a, b, n_boot=500, seed=7).ci_low


def test_comparison_session_file_pack_and_cli(tmp_path, capsys, neutral_face) -> None:
    _, points = neutral_face
    a, b = make_model(q=3, seed=1), make_model(q=4, seed=2, kind="pca")
    save_model(tmp_path / "a.npz", a)
    save_model(tmp_path / "b.npz", b)
    path = tmp_path / "cmp.json"
    assert run("ratings", "new", path, "--model", tmp_path / "a.npz", tmp_path / "b.npz",
               "--label", "DFECS", "--label", "PCA", "--raters", "Ann,Bob,Cat",
               "--seed", "5") == 0
    data = json.loads(path.read_text())
    assert data["format_version"] == 2 and data["model"]["kind"] == "comparison"
    assert [(m["label"], m["start"], m["stop"]) for m in data["models"]] == [
        ("DFECS", 0, 3), ("PCA", 3, 7)]
    s = RatingSession.open(path)
    assert s.is_comparison and s.display_names() == blind_labels(7, 5)
    assert sorted(s.display_names()) == sorted(f"AU {i}" for i in range(1, 8))
    # orders shuffle both models' AUs together, one order per rater
    assert {tuple(s.order(r)) for r in s.raters} != {tuple(range(7))}
    # a pack never names a model or the model's AU names
    rated = RatedModels(["DFECS", "PCA"], [a, b])
    folder = export_pack(s, "Bob", tmp_path / "pack", model=rated, neutral_points=points)
    text = (folder / "pack.json").read_text() + (folder / "ratings.json").read_text()
    assert "DFECS" not in text and "PCA" not in text and "(+ve)" not in text
    pts_file = tmp_path / "face.pts"
    pts_file.write_text("version: 1\nn_points: 68\n{\n" + "\n".join(
        f"{x + 1} {y + 1}" for x, y in points) + "\n}\n")
    assert run("ratings", "pack", path, "--rater", "Cat", "--model", tmp_path / "a.npz",
               tmp_path / "b.npz", "--neutral", pts_file, "--out", tmp_path / "pack-cat") == 0
    assert RatingPack(tmp_path / "pack-cat").names == s.display_names()
    capsys.readouterr()
    assert run("ratings", "pack", path, "--rater", "Cat", "--model", tmp_path / "a.npz",
               "--neutral", pts_file, "--out", tmp_path / "pack-x") == 2  # one of two models
    err = capsys.readouterr().err.strip()
    assert "compares 2 models (DFECS, PCA)" in err and len(err.splitlines()) == 1
    pack = RatingPack(folder)
    for c in range(7):
        pack.session.set_vote("Bob", c, c < 3)
    assert import_returned_ratings(s, folder) == 7
    plan = {"Ann": [1, 1, 0, 1, 0, 0, 1], "Cat": [1, 1, 1, 1, 0, 1, 0]}
    for r, votes in plan.items():
        for c, v in enumerate(votes):
            s.set_vote(r, c, bool(v))
    s.close()
    capsys.readouterr()
    assert run("ratings", "summary", path, "--n-boot", "300") == 0
    text = capsys.readouterr().out
    # majority: DFECS AUs 0-2 all ✓ (100 %); PCA AUs 3-6: ✓ × × × → 25 %
    assert "DFECS: 100% interpretable (3 of 3 AUs)" in text
    assert "PCA: 25% interpretable (1 of 4 AUs)" in text
    assert "PCA − DFECS: -75.00 percentage points" in text and "Fisher's exact test p =" in text
    assert run("ratings", "summary", path, "--json", "--n-boot", "300") == 0
    obj = json.loads(capsys.readouterr().out)["comparison"]
    assert [m["majority"] for m in obj["models"]] == pytest.approx([100.0, 25.0])
    assert obj["differences"][0]["difference"] == pytest.approx(-75.0)
    # the pre-check of the same AUs, with its agreement now that the session is closed
    assert run("ratings", "precheck", tmp_path / "a.npz", tmp_path / "b.npz", "--session", path,
               "--json", "--out", tmp_path / "pre.csv") == 0
    pre = json.loads(capsys.readouterr().out)
    assert pre["n_aus"] == 7 and [a["component"] for a in pre["aus"]] == s.components
    assert pre["agreement"]["n"] == 7
    assert sum(map(sum, pre["agreement"]["confusion"]["table"])) == 7
    assert len((tmp_path / "pre.csv").read_text().splitlines()) == 8
    assert run("ratings", "precheck", tmp_path / "a.npz") == 0
    assert "Pre-check:" in capsys.readouterr().out
    # the session refuses a single model of the set
    with pytest.raises(Exception, match="another model"):
        RatingSession.open(path, model=a)


def test_comparison_session_bad_models_field(tmp_path) -> None:
    a, b = make_model(q=2, seed=1), make_model(q=2, seed=2)
    s = RatingSession.create(tmp_path / "c.json", RatedModels(["A", "B"], [a, b]),
                             raters=VOLUNTEERS)
    data = json.loads(s.path.read_text())
    data["models"][1]["start"] = 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    from dfecs_app.errors import InputError
    with pytest.raises(InputError, match=r"models\[1\]\.start"):
        RatingSession.open(bad)
