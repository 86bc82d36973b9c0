"""Progress reports and cancellation for long computations, Qt-free.

Long work in ``core`` is a plain function taking an optional ``TaskState`` (after Orange3's
``TaskState``): it calls ``state.report(...)`` between steps, which raises
:class:`~dfecs_app.errors.Cancelled` once cancellation was requested. The CLI passes a state
whose callback drives a tqdm bar; the GUI's worker passes one whose callback emits a signal and
whose ``cancel()`` is wired to the Cancel button. Tests call the function directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dfecs_app.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report.

    Attributes
    ----------
    stage : str
        Short stage name, e.g. ``"pfm"``, ``"hfm"``, ``"kpm"``, ``"encode"``.
    fraction : float or None
        Overall completion in [0, 1] when known.
    message : str
        One human-readable line, e.g. ``"lips: k=4, alpha=2.5, VE 96.1 %"``.
    info : dict
        Structured details (part, k, alpha, alpha_A, alpha_B, q, ve, ...).
    """

    stage: str
    fraction: float | None = None
    message: str = ""
    info: dict[str, Any] = field(default_factory=dict)


class TaskState:
    """Carries progress out of, and cancellation into, a running computation.

    Parameters
    ----------
    callback : callable, optional
        Called with each :class:`Progress` (from the computing thread).
    min_interval : float
        Reports closer together than this many seconds are dropped, except those with
        ``force=True`` (throttling keeps a GUI event queue short).
    """

    def __init__(
        self,
        callback: Callable[[Progress], None] | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self._callback = callback
        self._cancel = threading.Event()
        self._min_interval = min_interval
        self._last = 0.0
        self.started = time.perf_counter()

    def cancel(self) -> None:
        """Ask the computation to stop at its next check."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def report(
        self,
        stage: str,
        fraction: float | None = None,
        message: str = "",
        force: bool = False,
        **info: Any,
    ) -> None:
        """Check for cancellation, then send one report (throttled unless ``force``)."""
        self.check()
        if self._callback is None:
            return
        now = time.perf_counter()
        if not force and self._min_interval and now - self._last < self._min_interval:
            return
        self._last = now
        self._callback(Progress(stage, fraction, message, dict(info)))


def ensure_state(state: TaskState | None) -> TaskState:
    """The given state, or a silent one."""
    return state if state is not None else TaskState()
