"""GUI test fixtures: QSettings in a temporary folder, non-blocking dialogs, no leaked threads.

Every test runs with ``dialogs`` in test mode (modal dialogs are recorded, never shown) and
fails if it leaves a worker (or any other new non-daemon thread) running.
"""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThreadPool  # noqa: E402

from dfecs_app.gui import dialogs, worker  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _settings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """QSettings of the whole GUI test session live in a temporary folder."""
    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def _clean_settings(_settings_in_tmp: None) -> None:
    from dfecs_app.gui import settings

    settings.ensure_identity()
    settings.reset()


@pytest.fixture(autouse=True)
def _test_mode_dialogs() -> None:
    dialogs.set_test_mode(True)
    yield
    dialogs.set_test_mode(True)


@pytest.fixture(autouse=True)
def _no_thread_left(qapp) -> None:  # noqa: ANN001 - pytest-qt's QApplication
    """Fail a test that leaves a worker or another non-daemon thread running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    left = worker.running_workers()
    # give a finishing thread a moment to end (it must already have been told to)
    deadline = time.monotonic() + 2.0
    while left and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
        left = worker.running_workers()
    names = [w.name for w in left]
    if left:
        worker.stop_all(10000)
    pool_busy = QThreadPool.globalInstance().activeThreadCount()
    extra = [t.name for t in threading.enumerate()
             if t.ident not in before and t.is_alive() and not t.daemon]
    assert not names, f"test left worker threads running: {names}"
    assert pool_busy == 0, f"test left {pool_busy} QThreadPool thread(s) busy"
    assert not extra, f"test left Python threads running: {extra}"


@pytest.fixture
def window(qtbot):  # noqa: ANN001, ANN201
    """A real main window, closed and deleted at the end of the test."""
    from dfecs_app.gui.main_window import MainWindow

    win = MainWindow()
    win.show()
    qtbot.waitExposed(win)
    yield win
    deadline = time.monotonic() + 2.0
    while worker.running_workers() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    leaked = [w.name for w in worker.running_workers()]
    win.shutdown()
    win.document.set_dirty(False)
    win.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    assert not leaked, f"test left worker threads running: {leaked}"


@pytest.fixture
def demo_window(window):  # noqa: ANN001, ANN201
    """The main window with the demo project open."""
    assert window.open_demo(ask=False)
    return window
