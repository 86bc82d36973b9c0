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
    assert proc.returncode == 0 and "--screenshot" in proc.stdout
