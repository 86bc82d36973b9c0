"""The app starts and exits cleanly: ``dfecs-studio --demo --screenshot`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_screenshot_exits_cleanly(tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "window.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from dfecs_app.gui.app import main; sys.exit(main())",
         "--demo", "--screenshot", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Fatal" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    # the settings went where XDG_CONFIG_HOME says, not into the user's home
    assert any((tmp_path / "config").rglob("*.ini"))


def test_cli_help_is_fast_and_clean() -> None:
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; from dfecs_app.gui.app import main; sys.exit(main())",
                           "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--screenshot" in proc.stdout and "--rate" in proc.stdout


def _run_app(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from dfecs_app.gui.app import main; sys.exit(main())",
         *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_rate_opens_a_pack_in_rater_mode(tmp_path) -> None:  # noqa: ANN001
    """``dfecs-studio --rate PACK`` (what a volunteer runs) shows the pack's rating screen."""
    import numpy as np

    from dfecs_app.core.aumodel import AUModel
    from dfecs_app.io.demo import demo_neutral_face
    from dfecs_app.io.rating_pack import RatingPack, export_pack
    from dfecs_app.io.rating_session import RatingSession

    image, points = demo_neutral_face()
    rng = np.random.default_rng(0)
    model = AUModel(components=rng.normal(size=(3, 136)), kind="dfecs")
    session = RatingSession.create(tmp_path / "s.json", model, ["Ann", "Bob"], seed=1)
    pack = export_pack(session, "Bob", tmp_path / "pack-bob", model=model, neutral_points=points,
                       au_images={c: image[100 + 10 * c:400, 100:400] for c in range(3)})
    out = tmp_path / "rater.png"
    proc = _run_app("--rate", str(pack), "--screenshot", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert RatingPack(pack).session.vote_count("Bob") == 0  # opening alone votes nothing

    proc = _run_app("--rate", str(tmp_path / "pack-bob" / "images"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "not a rating pack" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = _run_app("--rate", str(pack), "--demo", tmp_path=tmp_path)
    assert proc.returncode == 2 and "--rate" in proc.stderr
