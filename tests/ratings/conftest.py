"""Fixtures of the rating tests: the paper's Tables 1-2, a small model, a neutral face, and
for Qt tests QSettings in a temporary folder plus a check that no worker thread is left."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfecs_app.core.aumodel import AUModel

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "dfecs_app" / "resources" / "demo"

# Table 1 (§4.0.2) transcribed: component, volunteer 1, 2, 3, majority vote.
TABLE_1 = """\
Component 1	✓	✓	✓	✓
Component 2	✓	✓	✓	✓
Component 3	✓	✓	✓	✓
Component 4	✓	✓	✓	✓
Component 5	✓	×	✓	✓
Component 6	×	✓	×	×
Component 7	✓	✓	✓	✓
Component 8	✓	✓	✓	✓
Component 9	×	×	×	×
Component 10	✓	✓	✓	✓
Component 11	✓	✓	✓	✓
Component 12	✓	✓	×	✓
Component 13	✓	✓	✓	✓
Component 14	✓	✓	✓	✓
Component 15	✓	✓	✓	✓
Component 16	✓	✓	✓	✓
"""
# Table 2 (§4.1.2) transcribed, in the paper's order (+ve 1-8, then -ve 1-8).
TABLE_2 = """\
Component 1 (+ve)	✓	✓	✓	✓
Component 2 (+ve)	✓	✓	✓	✓
Component 3 (+ve)	×	✓	✓	✓
Component 4 (+ve)	✓	✓	✓	✓
Component 5 (+ve)	✓	✓	✓	✓
Component 6 (+ve)	×	✓	×	×
Component 7 (+ve)	×	×	×	×
Component 8 (+ve)	×	×	×	×
Component 1 (-ve)	✓	✓	✓	✓
Component 2 (-ve)	×	×	×	×
Component 3 (-ve)	✓	✓	✓	✓
Component 4 (-ve)	✓	✓	✓	✓
Component 5 (-ve)	×	✓	×	×
Component 6 (-ve)	×	✓	×	×
Component 7 (-ve)	✓	×	✓	✓
Component 8 (-ve)	✓	✓	×	✓
"""
VOLUNTEERS = ["Volunteer 1", "Volunteer 2", "Volunteer 3"]


def parse_table(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, (k, 3) votes and (k,) majority of a transcribed table (1 ✓, 0 ×)."""
    names, rows = [], []
    for line in text.strip().splitlines():
        cells = line.split("\t")
        names.append(cells[0])
        rows.append([1.0 if c == "✓" else 0.0 for c in cells[1:]])
    arr = np.array(rows)
    return names, arr[:, :3], arr[:, 3]


def votes_csv(text: str) -> str:
    names, votes, _ = parse_table(text)
    lines = ["component,rater,vote"]
    for i, name in enumerate(names):
        for j, r in enumerate(VOLUNTEERS):
            lines.append(f"{name},{r},{'✓' if votes[i, j] else '×'}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def table1() -> tuple[list[str], np.ndarray, np.ndarray]:
    return parse_table(TABLE_1)


@pytest.fixture
def table2() -> tuple[list[str], np.ndarray, np.ndarray]:
    return parse_table(TABLE_2)


def make_model(q: int = 4, seed: int = 0, kind: str = "dfecs") -> AUModel:
    """A small AU model: sparse random movements of a few keypoints each."""
    rng = np.random.default_rng(seed)
    comps = np.zeros((q, 136))
    for i in range(q):
        pts = rng.choice(68, size=6, replace=False)
        comps[i, pts] = rng.normal(size=6)
        comps[i, pts + 68] = rng.normal(size=6)
    return AUModel(components=comps, kind=kind)


@pytest.fixture
def model() -> AUModel:
    return make_model()


def _read_pts(path: Path) -> np.ndarray:
    with open(path, encoding="utf-8") as fh:
        body = fh.read().split("{")[1].split("}")[0]
    return np.array(body.split(), dtype=float).reshape(68, 2) - 1.0  # .pts is 1-based


@pytest.fixture(scope="session")
def neutral_face(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(image (H, W, 3) uint8, points (68, 2)): the demo face, else the shared real face."""
    from dfecs_app.io.images import read_image

    if (DEMO / "astronaut.png").is_file() and (DEMO / "astronaut.pts").is_file():
        return read_image(DEMO / "astronaut.png"), _read_pts(DEMO / "astronaut.pts")
    pts = _read_pts(shared_data / "faces" / "single_face_frame0.pts")
    pts[67, 1] += 1.0  # the closed mouth puts inner-lip points 61 and 67 on one pixel
    return read_image(shared_data / "faces" / "single_face_frame0.png"), pts


@pytest.fixture
def qt_env(clean_qsettings, no_thread_left):  # noqa: ANN001, ANN201
    """The QApplication, with empty QSettings in a temporary folder; fails the test if it
    leaves a worker thread running."""
    return no_thread_left
