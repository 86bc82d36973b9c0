"""``dfecs ratings`` import/summary/close/merge through the real entry point."""

from __future__ import annotations

import json

import pytest

from dfecs_app.cli import main as cli_main
from dfecs_app.io.model_file import save_model

from .conftest import TABLE_1, TABLE_2, make_model, votes_csv


@pytest.fixture
def dfecs():

    def run(*argv: str) -> int:
        return cli_main.main(["ratings", *map(str, argv)])

    return run


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_summary_json_reproduces_table_1_and_2(tmp_path, dfecs, capsys) -> None:
    for table, raters, majority, bad in (
            (TABLE_1, [87.5, 87.5, 81.25], 87.5, ["Component 6", "Component 9"]),
            (TABLE_2, [56.25, 75.0, 56.25], 62.5, None)):
        csv = write(tmp_path / "v.csv", votes_csv(table))
        assert dfecs("summary", csv, "--json", "--n-boot", "200") == 0
        out = json.loads(capsys.readouterr().out)
        assert list(out["raters"].values()) == pytest.approx(raters)
        assert out["majority"] == pytest.approx(majority)
        if bad:
            assert out["non_interpretable"] == bad
        assert -1 <= out["fleiss_kappa"] <= 1 and -1 <= out["krippendorff_alpha"] <= 1


def test_import_then_summary_of_the_session(tmp_path, dfecs, capsys) -> None:
    model = make_model(q=16)
    save_model(tmp_path / "m.npz", model)
    csv = write(tmp_path / "v.csv", votes_csv(TABLE_1))
    out = tmp_path / "s.json"
    assert dfecs("import", csv, "--out", out, "--model", tmp_path / "m.npz") == 0
    data = json.loads(out.read_text())
    assert data["format"] == "dfecs-rating-session" and data["format_version"] == 1
    assert data["model"]["hash"] == model.content_hash() and data["closed"]
    capsys.readouterr()
    assert dfecs("summary", out) == 0
    text = capsys.readouterr().out
    assert "Majority vote: 87.5% interpretable (14 of 16" in text
    assert "Non-interpretable: Component 6, Component 9" in text
    assert "Fleiss' kappa:" in text and "Krippendorff's alpha (nominal):" in text
    assert dfecs("summary", out, "--format", "latex") == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    # a session for another model
    save_model(tmp_path / "other.npz", make_model(q=16, seed=5))
    assert dfecs("summary", out, "--model", tmp_path / "other.npz") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another model" in err and str(out) in err


@pytest.mark.parametrize("text, match", [
    ("", "the file is empty"),
    ("component,rater,vote\n", "no votes"),
    ("component,rater\n1,A\n", "missing column 'vote'"),
    ("component,rater,vote\n1,A,1\n2,A,0\n1,A,0\n", "v.csv:4: [component] duplicate vote"),
    ("component,rater,vote\n1,A,maybe\n", "v.csv:2: [vote]"),
    ("component,rater,vote,points\n1,A,0,17 99\n", "v.csv:2: [points]"),
])
def test_bad_votes_files(tmp_path, dfecs, capsys, text, match) -> None:
    csv = write(tmp_path / "v.csv", text)
    out = write(tmp_path / "s.json", "keep me")
    assert dfecs("import", csv, "--out", out, "--force") == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert out.read_text() == "keep me"


def test_unknown_component_or_rater_against_a_model(tmp_path, dfecs, capsys) -> None:
    save_model(tmp_path / "m.npz", make_model(q=4))
    csv = write(tmp_path / "v.csv", "component,rater,vote\nComponent 1,A,1\nComponent 7,A,1\n")
    assert dfecs("import", csv, "--out", tmp_path / "s.json", "--model", tmp_path / "m.npz") == 2
    assert "v.csv:3: [component] unknown component 'Component 7'" in capsys.readouterr().err
    csv = write(tmp_path / "v.csv", "component,rater,vote\n1,A,1\n1,Z,0\n")
    assert dfecs("import", csv, "--out", tmp_path / "s.json", "--raters", "A,B") == 2
    assert "v.csv:3: [rater] unknown rater 'Z'" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_existing_output_needs_force(tmp_path, dfecs, capsys) -> None:
    csv = write(tmp_path / "v.csv", votes_csv(TABLE_1))
    out = write(tmp_path / "s.json", "old")
    assert dfecs("import", csv, "--out", out) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "old"


def test_open_session_summary_refused_until_closed(tmp_path, dfecs, capsys) -> None:
    from dfecs_app.io.rating_session import RatingSession

    s = RatingSession.create(tmp_path / "s.json", make_model(), raters=["A", "B"])
    for c in range(4):
        s.set_vote("A", c, True)
        s.set_vote("B", c, c != 2)
    assert dfecs("summary", s.path) == 2
    assert "blinded and still open" in capsys.readouterr().err
    assert dfecs("close", s.path) == 0
    assert dfecs("summary", s.path, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["raters"] == {"A": 100.0, "B": 75.0}
    assert out["majority"] == 75.0  # the 1-1 tie on component 3 counts as non-interpretable
