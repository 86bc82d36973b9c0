"""The one worker module: run a function or a generator in a QThread.

After superqt's ``_qthreading``: a :class:`Worker` runs ``func(*args, state=TaskState, **kwargs)``
(or iterates a generator function) in its own thread and reports through signals that are
delivered on the GUI thread (queued, since the ``Worker`` object itself lives there):

``started()``          the work began
``yielded(object)``    a :class:`~dfecs_app.core.progress.Progress` report, or a value the
                       generator yielded
``returned(object)``   the return value (not emitted when cancelled or failed)
``errored(object)``    the exception (anything but :class:`~dfecs_app.errors.Cancelled`)
``aborted()``          the work stopped because :meth:`Worker.cancel` was called
``finished()``         always last, whatever happened (QThread's own signal)

A failure is marked as one of background work (:func:`failed_in_background`), so that
:func:`dfecs_app.gui.dialogs.exception` shows it in the window's notification bar, in place,
instead of a modal dialog.

Cancellation goes through the :class:`~dfecs_app.core.progress.TaskState` the function receives:
``Worker.cancel()`` calls ``state.cancel()``, and the computation raises ``Cancelled`` at its
next ``state.report`` (generators are also checked between two yields). Progress reports are
throttled by ``TaskState(min_interval=...)`` so that a fast loop cannot flood the event queue.

Every started worker is kept in a registry until it has finished, so no thread object is
garbage-collected while running; :func:`stop_all` cancels them and waits a bounded time
(the main window calls it on close, the test suite checks :func:`running_workers` is empty).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from dfecs_app.core.progress import TaskState
from dfecs_app.errors import Cancelled

log = logging.getLogger(__name__)

#: Workers started and not yet finished (keeps them alive; lets close() wait for them).
_RUNNING: set[Worker] = set()

#: Default throttle of progress reports, seconds.
DEFAULT_MIN_INTERVAL = 0.05


class Worker(QThread):
    """Run ``func`` in a thread of its own; see the module docstring for the signals.

    Parameters
    ----------
    func : callable
        A plain function or a generator function. When ``pass_state`` is true it is called
        with ``state=`` a :class:`TaskState` whose reports are emitted as ``yielded``.
    *args, **kwargs
        Passed to ``func``.
    name : str
        What the work is, for logs and error dialogs ("training", "morphing AU 3").
    pass_state : bool
        Whether ``func`` takes a ``state`` keyword argument.
    min_interval : float
        Throttle of progress reports in seconds.

    Signals
    -------
    yielded(object), returned(object), errored(object), aborted(), plus QThread's
    started() and finished().
    """

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    aborted = Signal()

    def __init__(
        self,
        func: Callable[..., Any],
        *args: Any,
        name: str = "work",
        pass_state: bool = True,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.setObjectName(f"Worker[{name}]")
        self.name = name
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._pass_state = pass_state
        self.state = TaskState(self._emit_progress, min_interval=min_interval)
        self.result: Any = None
        self.error: BaseException | None = None
        self.error_traceback: str = ""
        self.was_cancelled = False
        self.finished.connect(self._on_finished)

    # -- control (GUI thread) -------------------------------------------------------------
    def start(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102 - QThread.start
        _RUNNING.add(self)
        super().start(*args, **kwargs)

    def cancel(self) -> None:
        """Ask the work to stop at its next progress check (returns at once)."""
        self.state.cancel()

    @property
    def cancelled(self) -> bool:
        return self.state.cancelled

    # -- work (worker thread) -------------------------------------------------------------
    def _emit_progress(self, progress: Any) -> None:
        self.yielded.emit(progress)

    def run(self) -> None:  # noqa: D102 - QThread.run, called in the new thread
        kwargs = dict(self._kwargs)
        if self._pass_state:
            kwargs["state"] = self.state
        try:
            if inspect.isgeneratorfunction(self._func):
                gen = self._func(*self._args, **kwargs)
                try:
                    while True:
                        self.state.check()
                        value = next(gen)
                        self.yielded.emit(value)
                except StopIteration as stop:
                    result = stop.value
                finally:
                    gen.close()
            else:
                result = self._func(*self._args, **kwargs)
            self.state.check()
        except Cancelled:
            self.was_cancelled = True
            self.aborted.emit()
        except Exception as err:  # every failure comes back as a signal, never a dead thread
            with contextlib.suppress(AttributeError, TypeError):
                err._dfecs_worker = self.name  # noqa: SLF001 - see failed_in_background
            self.error = err
            self.error_traceback = traceback.format_exc()
            log.debug("%s failed:\n%s", self.name, self.error_traceback)
            self.errored.emit(err)
        else:
            self.result = result
            self.returned.emit(result)

    def _on_finished(self) -> None:
        _RUNNING.discard(self)


def start_worker(
    func: Callable[..., Any],
    *args: Any,
    name: str = "work",
    pass_state: bool = True,
    min_interval: float = DEFAULT_MIN_INTERVAL,
    on_yielded: Callable[[Any], Any] | None = None,
    on_returned: Callable[[Any], Any] | None = None,
    on_errored: Callable[[BaseException], Any] | None = None,
    on_aborted: Callable[[], Any] | None = None,
    on_finished: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> Worker:
    """Create a :class:`Worker`, connect the given slots, start it and return it."""
    worker = Worker(func, *args, name=name, pass_state=pass_state, min_interval=min_interval,
                    **kwargs)
    for signal, slot in ((worker.yielded, on_yielded), (worker.returned, on_returned),
                         (worker.errored, on_errored), (worker.aborted, on_aborted),
                         (worker.finished, on_finished)):
        if slot is not None:
            signal.connect(slot)
    worker.start()
    return worker


def failed_in_background(err: BaseException) -> str | None:
    """The name of the worker ``err`` was raised in ("training", ...), or None when it was not
    raised by background work (the main window shows those in its notification bar)."""
    return getattr(err, "_dfecs_worker", None)


def running_workers() -> list[Worker]:
    """Workers started and not finished yet."""
    return [w for w in _RUNNING if not w.isFinished()]


def stop_all(timeout_ms: int = 5000) -> bool:
    """Cancel every running worker and wait for them, at most ``timeout_ms`` in total.

    Returns
    -------
    bool
        True when every worker has stopped.
    """
    workers = running_workers()
    for w in workers:
        w.cancel()
    deadline = time.monotonic() + timeout_ms / 1000.0
    ok = True
    for w in workers:
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        if not w.wait(remaining):
            log.warning("%s did not stop within %d ms", w.name, timeout_ms)
            ok = False
    return ok
