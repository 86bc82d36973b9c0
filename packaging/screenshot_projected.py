"""Screenshot of the Projected AU images panel on the real closed-mouth face
(``../shared/data/faces/single_face_frame0.png`` + ``.pts``) with a model trained on the real
news_sample tracks (the tests' fixed hyperparameters), at the default intensity (1 = the AU's
95th-percentile activation in the training KPMs). A development tool: it needs ``../shared``.

Run under Xvfb from the repository root::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python packaging/screenshot_projected.py \
        resources/screenshot-projected.png [--au N] [--intensity X]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--au", type=int, default=None, help="AU (1-based) for the large view")
    parser.add_argument("--intensity", type=float, default=None)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import NEWS_PARAMS
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from dfecs_app.cli.main import main as cli
    from dfecs_app.gui.main_window import MainWindow
    from dfecs_app.gui.screenshot import save_grab
    from dfecs_app.io.kpm_file import load_kpm
    from dfecs_app.io.model_file import load_model

    with tempfile.TemporaryDirectory() as tmp:
        kpm, model = Path(tmp) / "news.npz", Path(tmp) / "model.npz"
        cli(["kpm", str(SHARED / "tracks" / "news_sample"), "--frontalization-dir",
             str(SHARED / "frontalization"), "-o", str(kpm)])
        cli(["train", str(kpm), "--params", json.dumps(NEWS_PARAMS), "-o", str(model)])
        kpm_set, au_model = load_kpm(kpm), load_model(model)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    win = MainWindow(keep_layout=False)
    win.resize(1600, 1000)
    win.show()
    win.panels["neutral"].load_image(SHARED / "faces" / "single_face_frame0.png")
    win.panels["neutral"].load_landmarks(SHARED / "faces" / "single_face_frame0.pts")
    win.document.set_kpm(kpm_set)
    win.document.set_model(au_model)
    proj = win.panels["projected"]
    if args.intensity is not None:
        proj.set_intensity(args.intensity)
    loop = QEventLoop()
    proj.allReady.connect(lambda *_: QTimer.singleShot(800, loop.quit))
    QTimer.singleShot(120000, loop.quit)
    win.raise_panel("projected")
    loop.exec()
    if args.au is not None:
        proj.select(args.au - 1)
        QTimer.singleShot(800, loop.quit)
        loop.exec()
    ok = save_grab(win, args.out)
    print(f"{args.out}: {'written' if ok else 'FAILED'}; {proj.status.text()}")
    win.shutdown()
    win.document.set_dirty(False)
    win.close()
    app.processEvents()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
