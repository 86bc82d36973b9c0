"""``dfecs-studio --rate PACK --self-test``: one ✓ through the rating screen, read back from disk."""

from __future__ import annotations

import os
import subprocess
import sys

from dfecs_app.io.rating_pack import RatingPack, export_pack
from dfecs_app.io.rating_session import RatingSession


def _studio(*args, env=None) -> subprocess.CompletedProcess:  # noqa: ANN001, ANN002
    return subprocess.run([sys.executable, "-m", "dfecs_app.gui.app", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_self_test_records_one_vote_through_the_rating_screen(tmp_path, model, neutral_face):
    _, points = neutral_face
    session = RatingSession.create(tmp_path / "s.json", model, raters=["Ann", "Bob"], seed=4)
    folder = export_pack(session, "Ann", tmp_path / "pack", model=model, neutral_points=points)
    first = session.order("Ann")[0]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = _studio("--rate", folder / "pack.json", "--self-test", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"✓ for {session.components[first]} by Ann saved to" in proc.stdout
    saved = RatingPack(folder).session
    assert saved.vote_count("Ann") == 1 and saved.vote("Ann", first).interpretable is True


def test_self_test_needs_a_pack():
    proc = _studio("--self-test")
    assert proc.returncode == 2 and "--self-test checks rater mode" in proc.stderr
