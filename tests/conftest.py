"""Shared fixtures. Real data come from ../shared/data (beside the checkout, never copied).

Qt fixtures (used by tests/gui and tests/ratings; PySide6 is imported only when one is used):
``qsettings_in_tmp`` puts QSettings in a temporary folder for the whole session,
``clean_qsettings`` empties them before a test, and
``no_thread_left`` fails a test that leaves a worker or another non-daemon thread running.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DFECS_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Tests use the shared frontalization weights, never a download.
os.environ.setdefault("DFECS_FRONTALIZATION_DIR", str(SHARED_DATA / "frontalization"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real reference data folder (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"reference data not found at {SHARED_DATA} (CI puts ../shared beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def qsettings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """QSettings of the whole test session live in a temporary folder (returned)."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    return folder


@pytest.fixture
def clean_qsettings(qsettings_in_tmp: Path) -> None:
    """Start the test with no stored settings (in the temporary QSettings folder)."""
    from dfecs_app.gui import settings

    settings.ensure_identity()
    settings.reset()


@pytest.fixture
def no_thread_left(qapp):  # noqa: ANN001, ANN201 - pytest-qt's QApplication
    """Fail a test that leaves a worker, a busy QThreadPool thread or another new non-daemon
    Python thread running (a finishing worker gets a moment to end first)."""
    from PySide6.QtCore import QThreadPool

    from dfecs_app.gui import worker

    before = {t.ident for t in threading.enumerate()}
    yield qapp
    deadline = time.monotonic() + 3.0
    while worker.running_workers() and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    left = [w.name for w in worker.running_workers()]
    if left:
        worker.stop_all(10000)
    pool_busy = QThreadPool.globalInstance().activeThreadCount()
    extra = [t.name for t in threading.enumerate()
             if t.ident not in before and t.is_alive() and not t.daemon]
    assert not left, f"test left worker threads running: {left}"
    assert pool_busy == 0, f"test left {pool_busy} QThreadPool thread(s) busy"
    assert not extra, f"test left Python threads running: {extra}"


@pytest.fixture(scope="session")
def track(shared_data):
    """``(72, 68, 2)`` points of the real dlib track ``tracks/single_face_dlib68.csv`` (pixels)."""
    from dfecs_app.io.readers import read_landmarks

    return read_landmarks([shared_data / "tracks" / "single_face_dlib68.csv"]).points


@pytest.fixture(scope="session")
def weights(shared_data):
    """The frontalization weights of every layout, by layout ('68', '66', '49'), from ../shared."""
    from dfecs_app.io.frontalization_weights import load_frontalization_set

    return load_frontalization_set(("68", "66", "49"), directory=shared_data / "frontalization")


#: Hyperparameters the §2.3.3 search picks on the news_sample tracks (fixed: tests stay fast).
NEWS_PARAMS = {
    "parts": {"jaw": {"k": 3, "alpha": 1.0}, "right_brow": {"k": 3, "alpha": 2.0},
              "left_brow": {"k": 4, "alpha": 1.0}, "nose": {"k": 3, "alpha": 4.0},
              "right_eye": {"k": 4, "alpha": 1.5}, "left_eye": {"k": 4, "alpha": 1.5},
              "lips": {"k": 5, "alpha": 2.0}},
    "hfm": {"q": 10, "alpha_A": 5.0, "alpha_B": 5.0},
}


@pytest.fixture(scope="session")
def news_model(tmp_path_factory, shared_data):
    """``(kpm_path, model_path)``: `dfecs kpm` on the real news_sample tracks and `dfecs train`
    with :data:`NEWS_PARAMS`."""
    import json

    from dfecs_app.cli.main import main

    folder = tmp_path_factory.mktemp("news")
    kpm, model = folder / "news.npz", folder / "model.npz"
    assert main(["kpm", str(shared_data / "tracks" / "news_sample"), "--frontalization-dir",
                 str(shared_data / "frontalization"), "-o", str(kpm)]) == 0
    assert main(["train", str(kpm), "--params", json.dumps(NEWS_PARAMS), "-o", str(model)]) == 0
    return kpm, model


@pytest.fixture(scope="session")
def corpus_base(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good input files of the malformed-input corpus, made once from the shared real data
    (see ``tests/malformed/corpus.py``)."""
    from tests.malformed.corpus import build_base

    base = tmp_path_factory.mktemp("corpus-base")
    build_base(shared_data, base)
    return base
