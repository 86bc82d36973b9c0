"""Between the GUI's :class:`ProjectDocument` and :mod:`dfecs_app.io.project`'s ``Project``.

The project file format belongs to :mod:`dfecs_app.io.project`; this module only maps the
document's fields onto it and back:

* landmark data -> a ``landmarks`` dataset (paths, format, neutral rule and picked frames,
  frontalization, anchors) plus its computed KPMs as a ``kpm`` dataset named ``"<name> KPMs"`` (stored
  in the project's sidecar folder, so reopening does not recompute them), stored with the
  options they were really computed with (neutral rule, picks, corrections: the KPM meta's
  ``options``);
* the demo's synthetic KPMs -> a ``synthetic`` dataset (regenerated from its parameters);
* KPMs loaded from a file -> a ``kpm`` dataset referencing it;
* neutral face, the DFECS model (active), baselines (PCA, FACS), test sets, evaluation
  results, rating sessions, training settings and the view settings (arrow scale, morph
  intensity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dfecs_app.gui.document import ProjectDocument

KPM_SUFFIX = " KPMs"
DFECS_MODEL_NAME = "DFECS"


def to_project(doc: ProjectDocument) -> Any:
    """The document as an :class:`dfecs_app.io.project.Project` (arrays in memory)."""
    from dfecs_app.io.project import (
        Dataset,
        EvaluationRecord,
        ModelRef,
        NeutralFace,
        Project,
        SessionRef,
        TestSet,
        TrainSettings,
    )

    datasets = []
    source = doc.extra.get("kpm_source", {})
    if doc.data_paths:
        datasets.append(Dataset(name="data", kind="landmarks", paths=list(doc.data_paths),
                                format=doc.data_format, neutral=doc.neutral_rule,
                                neutral_overrides=dict(doc.neutral_overrides),
                                frontalization=bool(doc.frontalize), anchors=doc.anchors))
    if doc.kpm is not None:
        if source.get("kind") == "synthetic":
            datasets.append(Dataset(name="demo", kind="synthetic",
                                    params=dict(source.get("params", {})),
                                    frontalization=bool(doc.frontalize), anchors=doc.anchors))
        elif source.get("kind") == "kpm" and source.get("path"):
            datasets.append(Dataset(name="data" + KPM_SUFFIX, kind="kpm",
                                    paths=[Path(source["path"])]))
        else:
            datasets.append(Dataset(name="data" + KPM_SUFFIX, kind="kpm", kpm=doc.kpm,
                                    **_how_made(doc)))
    neutral = None
    if doc.neutral_image is not None or doc.neutral_landmarks is not None:
        neutral = NeutralFace(
            image_path=None if doc.neutral_image_path is None else Path(doc.neutral_image_path),
            points=doc.neutral_landmarks,
            image=doc.neutral_image if doc.neutral_image_path is None else None)
    models = []
    if doc.model is not None:
        models.append(ModelRef(name=DFECS_MODEL_NAME, role="dfecs", model=doc.model))
    for name, model in doc.baselines.items():
        models.append(ModelRef(name=name, role="baseline", model=model))
    tests = [TestSet(name=name, kpm=kpm) for name, kpm in doc.test_sets.items()]
    tp = doc.train_params
    training = TrainSettings(beta=float(tp.get("beta", 0.05)), mode=tp.get("mode", "search"),
                             seed=int(tp.get("seed", 0)),
                             hyperparameters=dict(tp.get("params") or {}))
    sessions = [SessionRef(name=key, path=Path(p)) for key, p in doc.sessions.items()]
    evaluations = [EvaluationRecord(model=m, data=d, result=r) for (m, d), r in doc.evaluation.items()]
    return Project(name=doc.name, datasets=datasets, neutral_face=neutral, models=models,
                   active_model=DFECS_MODEL_NAME if doc.model is not None else None,
                   sessions=sessions, test_sets=tests, training=training,
                   view=dict(doc.extra.get("view", {})), evaluations=evaluations)


def _how_made(doc: ProjectDocument) -> dict[str, Any]:
    """The corrections the in-memory KPMs were really computed with (their meta's options,
    written by :func:`~dfecs_app.core.kpm.compute_kpm`), else the document's current ones."""
    from dfecs_app.core.landmarks import ANCHOR_CHOICES
    from dfecs_app.io.project import NEUTRAL_RULES

    options = (getattr(doc.kpm, "meta", None) or {}).get("options") or {}
    neutral = options.get("neutral", doc.neutral_rule)
    if isinstance(neutral, bool) or not (isinstance(neutral, int) or neutral in NEUTRAL_RULES):
        neutral = doc.neutral_rule
    anchors = options.get("anchors", doc.anchors)
    overrides = {}
    for item in options.get("neutral_overrides", []):
        try:
            subject, sequence, frame = item
            overrides[(str(subject), str(sequence))] = int(frame)
        except (TypeError, ValueError):
            continue
    group_by = options.get("group_by", "sequence")
    return {"neutral": neutral, "neutral_overrides": overrides,
            "frontalization": bool(options.get("frontalize", doc.frontalize)),
            "anchors": anchors if anchors in ANCHOR_CHOICES else doc.anchors,
            "group_by": group_by if group_by in ("sequence", "subject") else "sequence"}


def save_from(doc: ProjectDocument, path: str | Path) -> Path:
    """Save the document to ``path`` (JSON + sidecar NPZ files); marks it saved."""
    from dfecs_app.io.project import save_project

    path = Path(path)
    doc.name = path.name.split(".")[0]
    written = save_project(path, to_project(doc))
    if doc.neutral_image_path is None and written.neutral_face is not None:
        doc.neutral_image_path = (None if written.neutral_face.image_path is None
                                  else str(written.neutral_face.image_path))
    doc.set_path(path)
    doc.set_dirty(False)
    return path


def from_project(doc: ProjectDocument, project: Any) -> None:
    """Fill the document from a loaded ``Project`` (reads the files it references)."""
    from dfecs_app.io.kpm_file import load_kpm

    doc._reset_fields()
    for d in project.datasets:
        if d.kind == "landmarks":
            from dfecs_app.io.readers import read_landmarks

            doc.data_paths = [str(p) for p in d.paths]
            doc.data_format = d.format
            doc.neutral_rule = d.neutral if isinstance(d.neutral, str) else "first"
            doc.neutral_overrides = dict(d.neutral_overrides)
            doc.frontalize = bool(d.frontalization)
            doc.anchors = d.anchors
            if d.paths:
                doc.table = read_landmarks([str(p) for p in d.paths], format=d.format)
        elif d.kind == "kpm":
            doc.kpm = d.kpm if d.kpm is not None else load_kpm(d.paths[0])
            if not d.name.endswith(KPM_SUFFIX) or len(project.datasets) == 1:
                doc.extra["kpm_source"] = {"kind": "kpm", "path": str(d.paths[0])}
        elif d.kind == "synthetic":
            from dfecs_app.io.demo import demo_kpm

            doc.kpm = d.kpm if d.kpm is not None else demo_kpm(**d.params)
            doc.frontalize = bool(d.frontalization)
            doc.anchors = d.anchors
            doc.extra["kpm_source"] = {"kind": "synthetic", "params": dict(d.params)}
    nf = project.neutral_face
    if nf is not None:
        if nf.image is not None:
            doc.neutral_image = nf.image
        elif nf.image_path is not None:
            from dfecs_app.io.images import read_image

            doc.neutral_image = read_image(nf.image_path)
            doc.neutral_image_path = str(nf.image_path)
        if nf.points is not None:
            doc.neutral_landmarks = np.asarray(nf.points, float)
        elif nf.landmarks_path is not None:
            from dfecs_app.io.readers import read_landmarks

            doc.neutral_landmarks = read_landmarks([str(nf.landmarks_path)]).points[0]
    for ref in project.models:
        model = ref.load()
        if ref.role == "dfecs" and (ref.name == project.active_model or doc.model is None):
            doc.model = model
        elif ref.role == "baseline":
            doc.baselines[ref.name] = model
    doc.sessions = {s.name: str(s.path) for s in project.sessions}
    for t in project.test_sets:
        if t.dataset is not None:
            continue
        doc.test_sets[t.name] = t.load()
    tr = project.training
    doc.train_params = {"beta": float(tr.beta), "mode": tr.mode, "seed": int(tr.seed)}
    if tr.hyperparameters:
        doc.train_params["params"] = dict(tr.hyperparameters)
    doc.extra["view"] = dict(project.view)
    doc.evaluation = {(e.model, e.data): e.result for e in project.evaluations}


def load_into(doc: ProjectDocument, path: str | Path) -> None:
    """Open a project file into the document (all or nothing: on error it is unchanged)."""
    from dfecs_app.io.project import load_project

    project = load_project(path)
    staged = ProjectDocument()
    from_project(staged, project)  # raises before touching ``doc`` if anything is unreadable
    _adopt(doc, staged)
    doc.set_path(Path(path))
    doc.set_name(project.name or doc.name)
    doc.set_dirty(False)


def load_demo_into(doc: ProjectDocument) -> None:
    """Replace the document by the built-in demo project (unsaved, not modified)."""
    from dfecs_app.io.demo import demo_project

    staged = ProjectDocument()
    from_project(staged, demo_project())
    _adopt(doc, staged)
    doc.set_path(None)
    doc.set_name("Demo")
    doc.set_dirty(False)


def _adopt(doc: ProjectDocument, staged: ProjectDocument) -> None:
    for key in ("data_paths", "data_format", "table", "neutral_rule", "neutral_overrides",
                "frontalize", "anchors", "kpm", "neutral_image", "neutral_image_path", "neutral_landmarks",
                "model", "train_params", "test_sets", "baselines", "sessions", "evaluation",
                "evaluation_stale", "extra"):
        setattr(doc, key, getattr(staged, key))
    staged.deleteLater()
    doc.replaced.emit()
    for sig in (doc.dataChanged, doc.kpmChanged, doc.neutralChanged, doc.modelChanged,
                doc.evaluationChanged):
        sig.emit()
