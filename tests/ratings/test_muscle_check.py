"""The automatic muscle-direction pre-check on synthetic AUs with known plausible and
implausible keypoint moves, the cone table's validation, and its agreement statistics."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from dfecs_app.core.landmarks import N_POINTS, point_sides
from dfecs_app.core.muscle_check import check_au, cone_table_from_dict, precheck
from dfecs_app.errors import InputError
from dfecs_app.io.muscle_cones import default_cones_path, load_cone_table
from dfecs_app.stats.agreement import precheck_agreement

UP, DOWN = np.array([0.0, -1.0]), np.array([0.0, 1.0])


def au(moves: dict[int, tuple[float, float]]) -> np.ndarray:
    """An AU from image displacements {keypoint: (dx, dy)} (y down)."""
    v = np.zeros(2 * N_POINTS)
    for i, (dx, dy) in moves.items():
        v[i], v[N_POINTS + i] = dx, dy
    return v


def lateral(i: int, amount: float = 1.0) -> tuple[float, float]:
    """A movement of keypoint ``i`` away from the midline in the image."""
    return (point_sides()[i] * amount, 0.0)


@pytest.fixture(scope="module")
def table():
    return load_cone_table()


def test_sides_match_a_real_face(shared_data) -> None:
    from dfecs_app.io.readers import read_landmarks

    pts = read_landmarks(shared_data / "faces" / "single_face_frame0.pts").points[0]
    mid = pts[[27, 28, 29, 30, 33, 51, 57, 62, 66], 0].mean()
    side = point_sides()
    assert np.all(pts[side < 0, 0] < mid) and np.all(pts[side > 0, 0] > mid)


def test_plausible_aus_are_not_flagged(table) -> None:
    brows_up = au({i: (0.0, -1.0) for i in range(17, 27)})
    smile = au({48: (-1.0, -1.0), 54: (1.0, -1.0), 60: (-0.8, -0.7), 64: (0.8, -0.7),
                49: (-0.2, -0.4), 53: (0.2, -0.4)})
    brow_lower = au({19: (0.4, 0.6), 20: (0.6, 0.6), 21: (0.7, 0.5), 22: (-0.7, 0.5),
                     23: (-0.6, 0.6), 24: (-0.4, 0.6)})
    jaw_drop = au({**{i: (0.0, 1.0) for i in range(4, 13)},
                   **{i: (0.0, 0.9) for i in (55, 56, 57, 58, 59, 65, 66, 67)}})
    blink = au({37: (0.0, 1.0), 38: (0.0, 1.0), 43: (0.0, 1.0), 44: (0.0, 1.0),
                40: (0.0, -0.3), 41: (0.0, -0.3), 46: (0.0, -0.3), 47: (0.0, -0.3)})
    for a in (brows_up, smile, brow_lower, jaw_drop, blink):
        chk = check_au(a, table)
        assert chk.flagged == [] and chk.plausible and chk.score == pytest.approx(1.0)


def test_implausible_moves_are_flagged_exactly(table) -> None:
    # SI Table 3's artifact: eyebrow keypoints pulled horizontally outwards
    outwards = au({i: lateral(i) for i in range(17, 27)})
    chk = check_au(outwards, table)
    assert chk.flagged == list(range(17, 27)) and chk.score == 0.0
    # a smile whose nose bridge slides sideways and whose chin moves up-and-out diagonally
    mixed = au({48: (-1.0, -1.0), 54: (1.0, -1.0), 28: (0.6, 0.0), 8: (0.5, -0.5),
                30: (0.0, -0.6), 31: (0.0, -0.6)})
    chk = check_au(mixed, table)
    assert chk.flagged == [8, 28] and not chk.plausible
    mag = {48: np.sqrt(2), 54: np.sqrt(2), 28: 0.6, 8: np.sqrt(0.5), 30: 0.6, 31: 0.6}
    expect = (sum(mag.values()) - mag[28] - mag[8]) / sum(mag.values())
    assert chk.score == pytest.approx(expect)
    # lower lids pulled down, upper lip pushed sideways-in-and-up: each flagged alone
    assert check_au(au({40: (0.0, 1.0), 46: (0.0, 1.0)}), table).flagged == [40, 46]
    assert check_au(au({50: (0.7, -0.7)}), table).flagged == [50]  # medial-up
    # small movements below the threshold are not judged
    tiny = au({**{i: (0.0, -1.0) for i in range(17, 27)}, 28: (0.2, 0.0)})
    assert check_au(tiny, table).flagged == []
    assert check_au(tiny, table, min_fraction=0.1).flagged == [28]
    checks = precheck(np.vstack([outwards, mixed, tiny]), table)
    assert [c.plausible for c in checks] == [False, False, True]
    # the verdict is the score against min_score: one small flagged move in a big smile
    smile_slip = au({48: (-1.0, -1.0), 54: (1.0, -1.0), 60: (-0.8, -0.7), 64: (0.8, -0.7),
                     28: (0.4, 0.0)})
    chk = check_au(smile_slip, table)
    assert chk.flagged == [28] and 0.8 < chk.score < 1.0 and chk.plausible
    assert not check_au(smile_slip, table, min_score=1.0).plausible
    assert np.isnan(check_au(np.zeros(136), table).score)


def test_cone_table_is_validated(tmp_path) -> None:
    data = json.loads(default_cones_path().read_text(encoding="utf-8"))
    for key in ("gray", "facs"):
        assert key in data["sources"]
    for edit, fld in (
            (lambda d: d["groups"][0]["cones"][0].update(half_width=200), "half_width"),
            (lambda d: d["groups"][0]["cones"][0].update(code="XX9"), "code"),
            (lambda d: d["groups"][0]["cones"][0].update(sources=["nowhere"]), "sources"),
            (lambda d: d["groups"][0].update(keypoints=[70]), "keypoints"),
            (lambda d: d.update(groups=[g for g in d["groups"] if g["name"] != "jaw"]),
             "groups")):
        bad = copy.deepcopy(data)
        edit(bad)
        p = tmp_path / "c.json"
        p.write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(InputError, match=fld) as err:
            load_cone_table(p)
        assert str(p) in str(err.value)
    assert cone_table_from_dict(data).cones[48]


def test_precheck_agreement_kappa_and_confusion() -> None:
    plausible = np.array([1, 1, 0, 0, 1, 0, 1, np.nan])
    majority = np.array([1, 0, 0, 0, 1, 1, 1, 1])
    a = precheck_agreement(plausible, majority)
    assert a.n == 7 and a.table.tolist() == [[3, 1], [1, 2]]
    assert a.kappa == pytest.approx(cohen_kappa_score(plausible[:7], majority[:7]))
    assert a.accuracy == pytest.approx(5 / 7)
    assert np.isnan(precheck_agreement(np.ones(4), np.ones(4)).kappa)


def test_reference_schematic_draws_directions_the_cones_allow(table) -> None:
    """The rating screen's schematic and the pre-check's cones say the same: every arrow the
    schematic draws for a code lies in a cone of that code."""
    pytest.importorskip("PySide6")
    from dfecs_app.gui.rating.reference import SCHEMATIC_ARROWS

    cones = [c for cs in table.cones for c in cs]
    for code, (x0, y0), (x1, y1) in SCHEMATIC_ARROWS:
        side = 0.0 if x0 == 0.5 else (-1.0 if x0 < 0.5 else 1.0)
        angle = float(np.degrees(np.arctan2(-(y1 - y0), (x1 - x0) * (side or 1.0))) % 360.0)
        assert any(c.code == code and c.contains(angle) for c in cones), (code, angle)
