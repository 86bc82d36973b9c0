"""GUI test fixtures: QSettings in a temporary folder, non-blocking dialogs, no leaked threads.

Every test runs with ``dialogs`` in test mode (modal dialogs are recorded, never shown) and
fails if it leaves a worker (or any other new non-daemon thread) running.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402

from dfecs_app.gui import dialogs, worker  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_settings(clean_qsettings) -> None:  # noqa: ANN001
    """Every GUI test starts with no stored settings, in a temporary QSettings folder."""


@pytest.fixture(autouse=True)
def _test_mode_dialogs() -> None:
    dialogs.set_test_mode(True)
    yield
    dialogs.set_test_mode(True)


@pytest.fixture(autouse=True)
def _no_thread_left(no_thread_left) -> None:  # noqa: ANN001
    """Every GUI test fails if it leaves a worker or another non-daemon thread running."""


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
