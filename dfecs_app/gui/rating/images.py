"""Projected AU images for the rating screen, rendered once off the GUI thread and cached.

:class:`AUImageRenderer` runs :func:`dfecs_app.io.rating_export.render_au_image` for every AU
in one :class:`dfecs_app.gui.worker.Worker` (a generator yielding ``(component, image)``) and
keeps the results in a cache keyed by the model hash, the neutral face and the scales, so a
session reopened on the same model shows its images at once.

Signals
-------
imageReady(int, object)
    ``(component, ndarray (h, w, 3) uint8)`` on the GUI thread.
imageFailed(int, str)
    ``(component, reason)``: this AU's image cannot be made (shown in its place; not retried
    until the inputs change). Every AU left when the whole rendering stops gets one too.
failed(str)
    One line per rendering that had failures (a non-modal notification).
"""

from __future__ import annotations

import hashlib

import numpy as np
from PySide6.QtCore import QObject, Signal

from dfecs_app.core.progress import Progress
from dfecs_app.errors import DfecsError
from dfecs_app.gui.worker import Worker, start_worker
from dfecs_app.io.rating_export import render_au_image

_CACHE: dict[tuple[str, int], np.ndarray] = {}
_CACHE_MAX = 256


def _key(model_hash: str, image: np.ndarray, points: np.ndarray, scales: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(model_hash.encode())
    for a in (image, points, scales):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _render_all(image: np.ndarray, points: np.ndarray, components: np.ndarray,
                scales: np.ndarray, todo: list[int], state=None):
    for c in todo:
        try:
            yield c, render_au_image(image, points, components[c], float(scales[c]))
        except DfecsError as err:
            yield c, str(err)


class AUImageRenderer(QObject):
    """Render (or fetch from the cache) the projected AU images of one model."""

    imageReady = Signal(int, object)
    imageFailed = Signal(int, str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: Worker | None = None
        self._key = ""
        self._todo: set[int] = set()
        self._notified = False

    def start(self, model_hash: str, image: np.ndarray, points: np.ndarray,
              components: np.ndarray, scales: np.ndarray) -> None:
        """Emit cached images at once and render the others in the background."""
        self.stop()
        self._notified = False
        self._key = _key(model_hash, image, points, scales)
        todo = []
        for c in range(components.shape[0]):
            hit = _CACHE.get((self._key, c))
            if hit is not None:
                self.imageReady.emit(c, hit)
            else:
                todo.append(c)
        self._todo = set(todo)
        if todo:
            self._worker = start_worker(_render_all, image, points, components, scales, todo,
                                        name="projected AU images", on_yielded=self._on_yielded,
                                        on_errored=self._on_errored)

    def _fail(self, c: int, reason: str) -> None:
        self._todo.discard(c)
        if not self._notified:
            self._notified = True
            self.failed.emit(f"AU {c + 1}: {reason}")
        self.imageFailed.emit(c, reason)

    def _on_errored(self, err: BaseException) -> None:
        for c in sorted(self._todo):
            self._fail(c, str(err))

    def _on_yielded(self, value: object) -> None:
        if isinstance(value, Progress) or not isinstance(value, tuple):
            return
        c, img = value
        if isinstance(img, str):
            self._fail(int(c), img)
            return
        self._todo.discard(int(c))
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[(self._key, int(c))] = img
        self.imageReady.emit(int(c), img)

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.isRunning()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the current rendering is done (tests, export)."""
        return self._worker is None or self._worker.wait(timeout_ms)

    def stop(self) -> None:
        """Cancel the rendering and wait for its thread to end."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(10000)
            self._worker = None
