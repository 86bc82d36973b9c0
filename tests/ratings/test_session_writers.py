"""Rating sessions never lose a vote: concurrent writers (two sessions, two processes,
``dfecs ratings merge`` while a window is open), failed saves, all-or-nothing merges and a
strictly typed ``closed`` flag."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dfecs_app.cli.main import main
from dfecs_app.errors import InputError
from dfecs_app.io.model_file import save_model
from dfecs_app.io.rating_pack import export_pack
from dfecs_app.io.rating_session import RatingSession, SessionSaveError

ROOT = Path(__file__).resolve().parents[2]


def disk_votes(path: Path) -> dict[tuple[str, int], bool]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(v["rater"], v["component"]): v["vote"] for v in data["votes"]}


def test_two_open_sessions_keep_each_others_votes(tmp_path, model) -> None:
    path = tmp_path / "s.json"
    RatingSession.create(path, model, ["Ann", "Bob"], seed=1)
    window_a = RatingSession.open(path)
    window_b = RatingSession.open(path)
    window_a.set_vote("Ann", 0, True)
    window_b.set_vote("Bob", 1, False)  # B never saw A's vote: merged, not overwritten
    window_a.set_vote("Ann", 2, False)  # A never saw B's vote
    window_b.clear_vote("Bob", 1)
    window_a.set_vote("Ann", 3, True)
    assert disk_votes(path) == {("Ann", 0): True, ("Ann", 2): False, ("Ann", 3): True}
    # the same component changed in both: the later writer's own change wins on its vote only
    window_b.set_vote("Ann", 0, False)
    window_a.set_vote("Ann", 1, True)
    assert disk_votes(path)[("Ann", 0)] is False and disk_votes(path)[("Ann", 1)] is True


def test_ratings_merge_while_the_session_is_open_in_the_app(tmp_path, model,
                                                            neutral_face) -> None:
    _, points = neutral_face
    mpath = tmp_path / "m.npz"
    save_model(mpath, model)
    path = tmp_path / "s.json"
    app_session = RatingSession.create(path, model, ["Ann", "Bob"], seed=3, model_path=mpath)
    folder = export_pack(app_session, "Bob", tmp_path / "pack-bob", model=model,
                         neutral_points=points)
    returned = RatingSession.open(folder / "ratings.json")
    for c in range(model.n_components):
        returned.set_vote("Bob", c, bool(c % 2))
    assert main(["ratings", "merge", str(path), str(folder)]) == 0
    app_session.set_vote("Ann", 0, True)  # the app had not seen the merge
    votes = disk_votes(path)
    assert sum(r == "Bob" for r, _ in votes) == model.n_components
    assert votes[("Ann", 0)] is True
    # closed elsewhere: the app's next vote is refused and nothing changes on disk
    assert main(["ratings", "close", str(path)]) == 0
    before = path.read_bytes()
    with pytest.raises(SessionSaveError, match="closed"):
        app_session.set_vote("Ann", 1, False)
    assert path.read_bytes() == before and app_session.vote("Ann", 1) is None


WRITER = textwrap.dedent("""
    import sys
    from dfecs_app.io.rating_session import RatingSession
    path, rater, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = RatingSession.open(path)
    for rep in range(3):
        for c in range(k):
            s.set_vote(rater, c, (c + rep) % 2 == 0)
    print("done")
""")


def test_two_processes_writing_one_session_lose_nothing(tmp_path) -> None:
    path = tmp_path / "s.json"
    k = 25
    RatingSession.create_from_names(path, [f"AU {i}" for i in range(k)], ["Ann", "Bob"], seed=5)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), r, str(k)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in ("Ann", "Bob")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-400:] for o in outs]
    votes = disk_votes(path)
    expected = {(r, c): (c + 2) % 2 == 0 for r in ("Ann", "Bob") for c in range(k)}
    assert votes == expected
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_autosave_is_not_recorded_anywhere(tmp_path, model, monkeypatch) -> None:
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model, ["Ann"], seed=2)
    s.set_vote("Ann", 0, True)
    before = path.read_bytes()
    real_replace = os.replace

    def disk_full(src, dst):  # noqa: ANN001
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(SessionSaveError, match="disk is full.*NOT recorded"):
        s.set_vote("Ann", 1, False)
    assert s.vote("Ann", 1) is None and s.vote_count("Ann") == 1
    with pytest.raises(SessionSaveError):
        s.undo("Ann")  # the undo of vote 0 cannot be saved either: still there
    assert s.vote("Ann", 0) is not None and s.can_undo("Ann") and not s.can_redo("Ann")
    with pytest.raises(SessionSaveError):
        s.close()
    assert not s.closed
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(os, "replace", real_replace)
    s.set_vote("Ann", 1, False)  # the disk has room again
    assert disk_votes(path) == {("Ann", 0): True, ("Ann", 1): False}
    assert s.undo("Ann") == 1 and disk_votes(path) == {("Ann", 0): True}


def test_merge_of_two_returned_files_the_second_bad_changes_nothing(tmp_path, model,
                                                                    neutral_face, capsys) -> None:
    _, points = neutral_face
    path = tmp_path / "s.json"
    session = RatingSession.create(path, model, ["Ann", "Bob"], seed=4)
    packs = [export_pack(session, r, tmp_path / f"pack-{r}", model=model, neutral_points=points)
             for r in ("Ann", "Bob")]
    for folder, rater in zip(packs, ("Ann", "Bob")):
        r = RatingSession.open(folder / "ratings.json")
        r.set_vote(rater, 0, True)
    bad = packs[1] / "ratings.json"
    data = json.loads(bad.read_text())
    data["votes"][0]["vote"] = "yes"
    bad.write_text(json.dumps(data))
    before = path.read_bytes()
    assert main(["ratings", "merge", str(path), str(packs[0]), str(packs[1])]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "votes[0].vote" in err and "Traceback" not in err
    assert path.read_bytes() == before
    # the same rater twice is refused too
    assert main(["ratings", "merge", str(path), str(packs[0]), str(packs[0])]) == 2
    assert path.read_bytes() == before


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None, []])
def test_closed_must_be_a_json_boolean(tmp_path, model, value) -> None:
    path = tmp_path / "s.json"
    s = RatingSession.create(path, model, ["Ann", "Bob"], seed=6)
    s.set_vote("Ann", 0, True)
    data = json.loads(path.read_text())
    data["closed"] = value
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"\[closed\]") as err:
        RatingSession.open(path)
    assert str(path) in str(err.value)
    assert main(["ratings", "summary", str(path)]) == 2  # never unblinded


def test_the_rating_screen_shows_a_failed_save(qtbot, tmp_path, model, neutral_face,
                                               monkeypatch, clean_qsettings) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtCore import Qt

    from dfecs_app.gui.rating import RatingPanel

    _, points = neutral_face
    path = tmp_path / "s.json"
    panel = RatingPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_model(model, None, points, path)
    assert panel.start_session(["Ann"], seed=1) is not None
    panel.rate_as("Ann")
    screen = panel.screen
    first = screen.current_component

    def disk_full(src, dst):  # noqa: ANN001
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    qtbot.keyClick(screen, Qt.Key.Key_Y)
    assert "NOT recorded" in screen.status.text()
    assert screen.current_component == first and screen.vote_label.text() == "your vote: —"
    assert not screen.undo_button.isEnabled()
    assert panel.session.vote("Ann", first) is None and disk_votes(path) == {}
    monkeypatch.undo()
    qtbot.keyClick(screen, Qt.Key.Key_Y)
    assert disk_votes(path) == {("Ann", first): True}
