"""Session files: autosave, resume, blinding, model binding, bad files, packs, exports."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dfecs_app.errors import DfecsError, FormatVersionError, InputError
from dfecs_app.io.model_file import save_model
from dfecs_app.io.rating_export import export_grid_figure, to_latex, to_markdown
from dfecs_app.io.rating_pack import RatingPack, export_pack, import_returned_ratings
from dfecs_app.io.rating_session import ModelChangedWarning, RatingSession
from dfecs_app.io.votes_csv import read_votes_csv

from .conftest import TABLE_1, make_model, votes_csv


def on_disk(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_change_is_on_disk_and_resumes(tmp_path, model) -> None:
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model, seed=5)
    assert s.raters == ["Rater 1", "Rater 2", "Rater 3"]
    order = s.order("Rater 2")
    s.set_vote("Rater 2", order[0], True)
    assert on_disk(path)["votes"] == [{"rater": "Rater 2", "component": order[0], "vote": True,
                                       "points": [], "artifact": "", "basis": "",
                                       "time": on_disk(path)["votes"][0]["time"]}]
    s.toggle_point("Rater 2", order[1], 21)
    s.set_artifact("Rater 2", order[1], artifact="brow out", basis="UF1")
    # an abrupt stop: nothing else is written; a fresh open sees both votes
    again = RatingSession.open(path, model=model)
    v = again.vote("Rater 2", order[1])
    assert (v.interpretable, v.points, v.artifact, v.basis) == (False, (21,), "brow out", "UF1")
    assert again.resume_position("Rater 2") == 2
    assert again.resume_position("Rater 1") == 0
    assert again.order("Rater 2") == order
    # undo is saved too
    assert s.undo("Rater 2") == order[1]
    assert on_disk(path)["votes"][1]["basis"] == ""
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_blinding_until_closed(tmp_path, model) -> None:
    s = RatingSession.create(tmp_path / "s.json", model, seed=1)
    s.set_vote("Rater 1", 0, False)
    assert s.rater_votes("Rater 2") == {}
    with pytest.raises(DfecsError, match="blinded"):
        s.summary()
    s.close()
    assert s.summary().matrix[0, 0] == 0
    with pytest.raises(DfecsError, match="closed"):
        s.set_vote("Rater 2", 0, True)
    assert RatingSession.open(s.path).closed


def test_another_model_is_refused_and_a_changed_model_warns(tmp_path, model) -> None:
    mpath = tmp_path / "m.npz"
    save_model(mpath, model)
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model, model_path=mpath)
    other = make_model(seed=9)
    before = path.read_bytes()
    with pytest.raises(InputError) as err:
        RatingSession.open(path, model=other)
    msg = str(err.value)
    assert model.content_hash()[:16] in msg and other.content_hash()[:16] in msg
    assert path.read_bytes() == before
    # the model file itself changed (retrained, same size): warning, session still opens
    save_model(mpath, other)
    with pytest.warns(ModelChangedWarning, match="changed"):
        reopened = RatingSession.open(path)
    assert reopened.model_warning and s.session_id == reopened.session_id


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(format_version=3), "version"),
    (lambda d: d.update(format_version=2), r"\[models\] missing"),
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d["votes"].append(dict(d["votes"][0])), "duplicate"),
    (lambda d: d["votes"][0].update(rater="Nobody"), "unknown rater"),
    (lambda d: d["votes"][0].update(component=99), "out of range"),
    (lambda d: d["votes"][0].update(points=[70]), "keypoint"),
    (lambda d: d["raters"][0].update(order=[0, 0, 1, 2]), "permutation"),
])
def test_bad_session_files(tmp_path, model, edit, match) -> None:
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model)
    s.set_vote("Rater 1", 0, True)
    data = on_disk(path)
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=match) as err:
        RatingSession.open(path)
    assert str(path) in str(err.value)
    if match == "version":
        assert isinstance(err.value, FormatVersionError)


def test_empty_and_broken_session_files(tmp_path) -> None:
    p = tmp_path / "e.json"
    p.write_text("")
    with pytest.raises(InputError, match="empty"):
        RatingSession.open(p)
    p.write_text("{\n  oops")
    with pytest.raises(InputError, match=r"e\.json:2"):
        RatingSession.open(p)


def test_create_refuses_to_overwrite(tmp_path, model) -> None:
    path = tmp_path / "s.json"
    path.write_text("precious")
    with pytest.raises(InputError, match="exists"):
        RatingSession.create(path, model)
    assert path.read_text() == "precious"


def test_pca_models_are_rated_with_their_names(tmp_path) -> None:
    pca = make_model(q=6, kind="pca")
    s = RatingSession.create(tmp_path / "p.json", pca, raters=["A", "B"])
    assert s.components[0] == "Component 1 (+ve)" and s.components[3] == "Component 1 (−ve)"


def test_votes_csv_matches_paper_names_with_ascii_minus(tmp_path) -> None:
    pca = make_model(q=16, kind="pca")
    from .conftest import TABLE_2

    p = tmp_path / "t2.csv"
    p.write_text(votes_csv(TABLE_2), encoding="utf-8")
    names, raters, votes = read_votes_csv(p, components=list(pca.names))
    assert names == pca.names and len(votes) == 48


def test_pack_round_trip_and_refusals(tmp_path, model, neutral_face) -> None:
    image, points = neutral_face
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model, raters=["Ann", "Bob"], seed=2)
    folder = export_pack(s, "Bob", tmp_path / "pack", model=model, neutral_points=points,
                         neutral_image=image)
    pack = RatingPack(folder)
    assert pack.rater == "Bob" and pack.session.order("Bob") == s.order("Bob")
    assert all(p.is_file() for p in pack.au_images.values()) and len(pack.au_images) == 4
    assert len(pack.arrow_images) == 4
    for c in pack.session.order("Bob"):
        pack.session.set_vote("Bob", c, c != 1)
    before = path.read_bytes()
    assert import_returned_ratings(s, folder) == 4
    assert s.vote_count("Bob") == 4 and s.vote("Bob", 1).interpretable is False
    merged = path.read_bytes()
    with pytest.raises(InputError, match="already voted"):
        import_returned_ratings(s, folder)
    assert path.read_bytes() == merged != before
    # a pack of another model, and an unknown rater, are refused; nothing written
    other_model = make_model(seed=3)
    s2 = RatingSession.create(tmp_path / "s2.json", other_model, raters=["Ann", "Bob"])
    pack2 = export_pack(s2, "Ann", tmp_path / "pack2", model=other_model, neutral_points=points)
    with pytest.raises(InputError, match="another model") as err:
        import_returned_ratings(s, pack2)
    assert s.model_hash[:16] in str(err.value) and s2.model_hash[:16] in str(err.value)
    data = on_disk(folder / "ratings.json")
    data["pack"]["rater"] = data["raters"][0]["name"] = "Zed"
    data["votes"] = [dict(v, rater="Zed") for v in data["votes"]]
    (folder / "ratings.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="unknown rater 'Zed'"):
        import_returned_ratings(s, folder)
    assert path.read_bytes() == merged
    with pytest.raises(InputError, match="already has|exists"):
        export_pack(s, "Bob", tmp_path / "pack3", model=model, neutral_points=points)


def test_exports(tmp_path, neutral_face) -> None:
    _, points = neutral_face
    csv = tmp_path / "t1.csv"
    csv.write_text(votes_csv(TABLE_1), encoding="utf-8")
    names, raters, votes = read_votes_csv(csv)
    from dfecs_app.core.ratings import summarize, vote_matrix

    s = summarize(vote_matrix(votes, 16, raters), names, raters, votes=votes)
    md = to_markdown(s)
    assert "| Component 6 | × | ✓ | × | × |" in md
    assert "| **Percentage** | **87.5%** | **87.5%** | **81.25%** | **87.5%** |" in md
    tex = to_latex(s)
    assert r"Component 9 & $\times$ & $\times$ & $\times$ & $\times$ \\" in tex
    assert r"\textbf{81.25\%}" in tex
    model = make_model(q=16)
    s.votes[0] = type(s.votes[0])(0, raters[0], False, points=(19, 24))
    for suffix in (".png", ".pdf"):
        out = export_grid_figure(s, model, points, tmp_path / f"grid{suffix}")
        head = out.read_bytes()[:5]
        assert head == (b"\x89PNG\r" if suffix == ".png" else b"%PDF-")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError):
            export_grid_figure(s, model, np.zeros((68, 2)) + np.arange(68)[:, None],
                               tmp_path / "x.gif")
