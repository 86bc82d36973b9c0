"""Project files: versioned JSON + NPZ sidecar, relative paths, clear errors."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.kpm import KPMSet
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.project import (
    Dataset,
    ModelRef,
    NeutralFace,
    Project,
    SessionRef,
    TestSet,
    TrainSettings,
    load_project,
    save_project,
    sidecar_dir,
)


def _kpm(n: int = 12, seed: int = 0) -> KPMSet:
    rng = np.random.default_rng(seed)
    return KPMSet(X=rng.normal(size=(n, 136)), mask=np.ones((n, 68), bool),
                  subject=np.array(["s1"] * n), sequence=np.array(["q1"] * n),
                  frame=np.arange(n), meta={"sources": ["test"]})


def _study(root: Path) -> Project:
    """A project with every kind of entry, its data in ``root/data``."""
    data = root / "data"
    (data / "tracks").mkdir(parents=True)
    (data / "tracks" / "a.csv").write_text("frame\n0\n")
    (data / "face.png").write_bytes(b"png")
    (data / "face.pts").write_text("version: 1\n")
    (data / "test.npz").write_bytes(b"npz")
    (root / "sessions").mkdir()
    (root / "sessions" / "r1.json").write_text("{}")
    rng = np.random.default_rng(3)
    points = rng.uniform(10, 100, (68, 2))
    mask = np.ones(68, bool)
    mask[60] = False
    return Project(
        name="Study",
        datasets=[
            Dataset(name="tracks", kind="landmarks", paths=[data / "tracks"], format="dlib68",
                    neutral="auto", neutral_overrides={("s1", "q1"): 12, ("s2", "q0"): 0},
                    frontalization=False, group_by="subject"),
            Dataset(name="kpms", kind="kpm", kpm=_kpm()),
            Dataset(name="demo", kind="synthetic", params={"n_samples": 50, "random_state": 1}),
        ],
        neutral_face=NeutralFace(image_path=data / "face.png", landmarks_path=data / "face.pts",
                                 points=points, mask=mask),
        models=[ModelRef(name="DFECS β=0.05", model=AUModel(rng.normal(size=(4, 136)), "dfecs")),
                ModelRef(name="PCA", role="baseline",
                         model=AUModel(rng.normal(size=(6, 136)), "pca"))],
        active_model="DFECS β=0.05",
        sessions=[SessionRef(name="round 1", path=root / "sessions" / "r1.json")],
        test_sets=[TestSet(name="file", path=data / "test.npz"), TestSet(name="memory", kpm=_kpm(5, 1)),
                   TestSet(name="as dataset", dataset="tracks")],
        training=TrainSettings(beta=0.1, mode="explicit", seed=7,
                               hyperparameters={"parts": {"lips": {"k": 4, "alpha": 2.5}},
                                                "hfm": {"q": 16, "alpha_A": 5.0, "alpha_B": 0.5}}),
        view={"arrow_scale": 2.0, "morph_intensity": 1.5},
    )


def test_round_trip_and_move_the_folder(tmp_path):
    root = tmp_path / "a"
    project = _study(root)
    path = root / "study.dfecs.json"
    saved = save_project(path, project)
    assert saved.path == path
    assert project.models[0].path is None  # the input is not modified
    loaded = load_project(path)
    assert loaded == saved
    # in-memory objects went to the sidecar folder, loadable
    side = sidecar_dir(path)
    assert side == root / "study.dfecs"
    assert loaded.models[0].path.parent == side / "models"
    np.testing.assert_array_equal(loaded.models[0].load().components, project.models[0].model.components)
    assert loaded.models[1].load().kind == "pca"
    np.testing.assert_array_equal(loaded.test_sets[1].load().X, project.test_sets[1].kpm.X)
    assert loaded.datasets[1].paths[0].parent == side / "kpm"
    np.testing.assert_array_equal(load_kpm(loaded.datasets[1].paths[0]).X, project.datasets[1].kpm.X)
    np.testing.assert_array_equal(loaded.neutral_face.points, project.neutral_face.points)
    np.testing.assert_array_equal(loaded.neutral_face.mask, project.neutral_face.mask)
    assert loaded.datasets[0].neutral_overrides == {("s1", "q1"): 12, ("s2", "q0"): 0}
    assert loaded.training.hyperparameters["hfm"]["q"] == 16
    assert loaded.training.hyperparameters["parts"] == {"lips": {"k": 4, "alpha": 2.5}}
    # every path in the JSON is relative to the project folder
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == "dfecs-project" and raw["format_version"] == 1
    assert raw["datasets"][0]["paths"] == ["data/tracks"]
    assert raw["neutral_face"]["image"] == "data/face.png"
    assert raw["models"][0]["path"].startswith("study.dfecs/models/")
    # move the whole folder: the project reopens with every file found
    moved_root = tmp_path / "elsewhere" / "b"
    shutil.move(root, moved_root)
    again = load_project(moved_root / "study.dfecs.json")
    assert again.missing_files() == []
    assert again.neutral_face.image_path == moved_root / "data" / "face.png"
    assert again.datasets[0].paths == [moved_root / "data" / "tracks"]
    np.testing.assert_array_equal(again.neutral_face.points, project.neutral_face.points)
    np.testing.assert_array_equal(again.models[0].load().components, project.models[0].model.components)
    # saving the reopened project again is stable
    resaved = save_project(moved_root / "study.dfecs.json", again)
    assert load_project(moved_root / "study.dfecs.json") == resaved == again


def test_paths_outside_the_folder_are_relative_and_missing_files_are_listed(tmp_path):
    data = tmp_path / "shared" / "tracks.csv"
    data.parent.mkdir()
    data.write_text("x")
    project = Project(datasets=[Dataset(paths=[data, tmp_path / "gone.csv"])])
    path = tmp_path / "projects" / "p.dfecs.json"
    save_project(path, project)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["datasets"][0]["paths"] == ["../shared/tracks.csv", "../gone.csv"]
    assert load_project(path).missing_files() == [tmp_path / "gone.csv"]


def test_a_path_without_relative_form_is_stored_absolute(tmp_path, monkeypatch):
    import dfecs_app.io.project as project_module

    def no_relpath(path, start=None):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")  # what Windows says

    target = tmp_path / "other" / "x.csv"
    monkeypatch.setattr(project_module.os.path, "relpath", no_relpath)
    save_project(tmp_path / "p.dfecs.json", Project(datasets=[Dataset(paths=[target])]))
    monkeypatch.undo()
    raw = json.loads((tmp_path / "p.dfecs.json").read_text(encoding="utf-8"))
    assert raw["datasets"][0]["paths"] == [target.as_posix()]
    assert load_project(tmp_path / "p.dfecs.json").datasets[0].paths == [target]


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj, encoding="utf-8")
    return path


def _minimal(**extra) -> dict:
    return {"format": "dfecs-project", "format_version": 1, **extra}


def test_other_format_version_is_refused(tmp_path):
    p = _write(tmp_path / "p.dfecs.json", {"format": "dfecs-project", "format_version": 2})
    with pytest.raises(FormatVersionError, match="version 2") as err:
        load_project(p)
    assert err.value.field == "format_version" and err.value.path == str(p)


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ({"hello": 1}, "format", "not a DFECS project"),
        (_minimal(datasets=[{"kind": "video"}]), "datasets[0].kind", "must be one of"),
        (_minimal(datasets=[{"neutral": "middle"}]), "datasets[0].neutral", "'first', 'auto'"),
        (_minimal(datasets=[{"paths": ["a.csv", 3]}]), "datasets[0].paths[1]", "non-empty path"),
        (_minimal(datasets=[{"neutral_overrides": [{"subject": "s", "sequence": "q"}]}]),
         "datasets[0].neutral_overrides[0].frame", "missing"),
        (_minimal(models=[{"path": "m.npz"}]), "models[0].name", "missing"),
        (_minimal(models=[{"name": "m", "path": "m.npz"}], active_model="n"), "active_model", "no model"),
        (_minimal(training={"beta": 2}), "training.beta", "[0, 1)"),
        (_minimal(training={"seed": True}), "training.seed", "int"),
        (_minimal(test_sets=[{"name": "t"}]), "test_sets[0]", "'path' or a 'dataset'"),
        (_minimal(neutral_face=[1, 2]), "neutral_face", "dict"),
    ],
)
def test_malformed_fields_are_named(tmp_path, content, field, message):
    p = _write(tmp_path / "p.dfecs.json", content)
    with pytest.raises(InputError) as err:
        load_project(p)
    assert err.value.field == field
    assert message in err.value.message
    assert str(p) in str(err.value)


def test_invalid_json_names_the_line(tmp_path):
    p = _write(tmp_path / "p.dfecs.json", '{\n  "format": "dfecs-project",\n  "format_version": 1,,\n}')
    with pytest.raises(InputError, match="not valid JSON") as err:
        load_project(p)
    assert err.value.line == 3
    with pytest.raises(InputError, match="no such project"):
        load_project(tmp_path / "missing.dfecs.json")


def test_missing_sidecar_landmarks_are_reported(tmp_path):
    project = Project(neutral_face=NeutralFace(points=np.arange(136.0).reshape(68, 2)))
    path = tmp_path / "p.dfecs.json"
    save_project(path, project)
    shutil.rmtree(sidecar_dir(path))
    with pytest.raises(InputError, match="neutral landmarks file is missing"):
        load_project(path)


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "p.dfecs.json"
    save_project(path, Project(name="first"))
    before = path.read_bytes()
    with pytest.raises(InputError, match="neither a file nor data"):
        save_project(path, Project(name="second", models=[ModelRef(name="empty")]))
    assert path.read_bytes() == before
    assert load_project(path).name == "first"


def test_entries_validate_their_values():
    with pytest.raises(ValueError, match="kind"):
        Dataset(kind="video")
    with pytest.raises(ValueError, match="neutral"):
        Dataset(neutral=True)
    with pytest.raises(ValueError, match="mode"):
        TrainSettings(mode="grid")
    with pytest.raises(ValueError, match="role"):
        ModelRef(name="m", role="other")
    with pytest.raises(ValueError, match="68, 2"):
        NeutralFace(points=np.zeros((5, 2)))
    a = NeutralFace(points=np.ones((68, 2)))
    b = NeutralFace(points=np.ones((68, 2)))
    assert a == b
    b.points[3, 0] = 2.0
    assert a != b


def test_resaving_without_a_model_removes_its_sidecar_file(tmp_path):
    path = tmp_path / "p.dfecs.json"
    rng = np.random.default_rng(0)
    saved = save_project(path, Project(models=[
        ModelRef(name="a", model=AUModel(rng.normal(size=(2, 136)), "dfecs")),
        ModelRef(name="b", model=AUModel(rng.normal(size=(3, 136)), "dfecs"))]))
    a, b = (m.path for m in saved.models)
    assert a.is_file() and b.is_file()
    resaved = save_project(path, replace(saved, models=saved.models[1:]))
    assert not a.exists() and b.is_file()
    assert load_project(path) == resaved


def test_a_new_model_never_overwrites_a_referenced_file(tmp_path):
    path = tmp_path / "p.dfecs.json"
    rng = np.random.default_rng(1)
    first = AUModel(rng.normal(size=(2, 136)), "dfecs")
    saved = save_project(path, Project(models=[ModelRef(name="m", model=first)]))
    newer = AUModel(rng.normal(size=(5, 136)), "dfecs")
    # a new in-memory model of the same name placed first, the saved one (by file) second
    both = save_project(path, Project(models=[ModelRef(name="m", model=newer),
                                              ModelRef(name="old", path=saved.models[0].path)]))
    assert both.models[0].path != both.models[1].path
    loaded = load_project(path)
    assert loaded.models[0].load().n_components == 5
    np.testing.assert_array_equal(loaded.models[1].load().components, first.components)


def _one_model_project(seed: int = 0, n: int = 2) -> Project:
    rng = np.random.default_rng(seed)
    return Project(models=[ModelRef(name="m", model=AUModel(rng.normal(size=(n, 136)), "dfecs"))],
                   neutral_face=NeutralFace(points=rng.uniform(0, 9, (68, 2))))


def test_a_save_never_deletes_or_overwrites_files_the_user_put_in_the_sidecar(tmp_path):
    path = tmp_path / "p.dfecs.json"
    side = sidecar_dir(path)
    for sub, name in (("models", "00-m.npz"), ("models", "mine.npz"), ("kpm", "mine.npz"),
                      ("neutral", "mine.png"), ("neutral", "landmarks.npz")):
        (side / sub).mkdir(parents=True, exist_ok=True)
        (side / sub / name).write_bytes(b"user data " + name.encode())
    user = sorted(p for p in side.rglob("*") if p.is_file())
    saved = save_project(path, _one_model_project())
    # the new model and landmarks took other names than the user's files
    assert saved.models[0].path not in user
    assert all(p.read_bytes() == b"user data " + p.name.encode() for p in user)
    # removing the model and the neutral face: only the app's own files go
    app_files = [saved.models[0].path, side / "neutral" / "landmarks-1.npz"]
    assert all(p.is_file() for p in app_files)
    save_project(path, Project())
    assert not any(p.exists() for p in app_files)
    assert all(p.read_bytes() == b"user data " + p.name.encode() for p in user)


def test_a_file_the_user_replaced_after_a_save_is_not_deleted(tmp_path):
    path = tmp_path / "p.dfecs.json"
    saved = save_project(path, _one_model_project())
    mine = saved.models[0].path
    mine.write_bytes(b"the user's own model, same name")
    save_project(path, Project())
    assert mine.read_bytes() == b"the user's own model, same name"


@pytest.mark.parametrize("link", ["sidecar", "models"])
def test_a_save_never_deletes_through_a_symlinked_sidecar_folder(tmp_path, link):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "models").mkdir(parents=True)
    victim = elsewhere / "models" / "00-m.npz"
    victim.write_bytes(b"precious")
    other = elsewhere / "models" / "other.npz"
    other.write_bytes(b"precious too")
    path = tmp_path / "p" / "p.dfecs.json"
    side = sidecar_dir(path)
    side.parent.mkdir()
    if link == "sidecar":
        side.symlink_to(elsewhere, target_is_directory=True)
    else:
        side.mkdir()
        (side / "models").symlink_to(elsewhere / "models", target_is_directory=True)
    saved = save_project(path, _one_model_project())
    assert victim.read_bytes() == b"precious" and other.read_bytes() == b"precious too"
    # even the files the app itself wrote there are left alone behind the link
    save_project(path, Project())
    assert victim.read_bytes() == b"precious" and other.read_bytes() == b"precious too"
    assert saved.models[0].path.is_file()
    assert (side / "models").is_symlink() or side.is_symlink()


def test_evaluation_results_round_trip(tmp_path):
    from dfecs_app.core.evaluation import evaluate_model
    from dfecs_app.core.synthetic import make_kpm_dataset
    from dfecs_app.io.project import EvaluationRecord

    X, mask, comps, _ = make_kpm_dataset(60, n_components=4, random_state=2)
    model = AUModel(components=comps, kind="dfecs")
    results = [EvaluationRecord("DFECS", "train", evaluate_model(model, X, mask)),
               EvaluationRecord("DFECS", "test", evaluate_model(model, X[:20], mask[:20], alpha=0.5))]
    path = tmp_path / "p.dfecs.json"
    saved = save_project(path, Project(models=[ModelRef(name="DFECS", model=model)], evaluations=results))
    loaded = load_project(path)
    assert loaded == saved and loaded.evaluations == results
    got = loaded.evaluations[1].result
    np.testing.assert_array_equal(got.curves.ve_l1_pooled, results[1].result.curves.ve_l1_pooled)
    assert got.alpha == 0.5 and got.curves.ve_alpha_mean == results[1].result.curves.ve_alpha_mean
    # without results the evaluation file goes (it was the app's own)
    eval_file = sidecar_dir(path) / "evaluation" / "results.npz"
    assert eval_file.is_file()
    save_project(path, replace(loaded, evaluations=[]))
    assert not eval_file.exists() and load_project(path).evaluations == []
