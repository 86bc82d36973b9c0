"""Projected AU images for the rating screen, rendered once off the GUI thread and cached.

:class:`AUImageRenderer` runs :func:`dfecs_app.io.rating_export.render_au_image` for every AU
in one :class:`dfecs_app.gui.worker.Worker` (a generator yielding ``(component, image)``) and
keeps the results in a cache keyed by the model hash, the neutral face and the scales, so a
session reopened on the same model shows its images at once.

Signals
-------
imageReady(int, object)
    ``(component, ndarray (h, w, 3) uint8)`` on the GUI thread.
failed(str)
    Rendering stopped with an error (the message).
"""

from __future__ import annotations

import hashlib

import numpy as np
from PySide6.QtCore import QObject, Signal

from dfecs_app.core.progress import Progress
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
        yield c, render_au_image(image, points, components[c], float(scales[c]))


class AUImageRenderer(QObject):
    """Render (or fetch from the cache) the projected AU images of one model."""

    imageReady = Signal(int, object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: Worker | None = None
        self._key = ""

    def start(self, model_hash: str, image: np.ndarray, points: np.ndarray,
              components: np.ndarray, scales: np.ndarray) -> None:
        """Emit cached images at once and render the others in the background."""
        self.stop()
        self._key = _key(model_hash, image, points, scales)
        todo = []
        for c in range(components.shape[0]):
            hit = _CACHE.get((self._key, c))
            if hit is not None:
                self.imageReady.emit(c, hit)
            else:
                todo.append(c)
        if todo:
            self._worker = start_worker(_render_all, image, points, components, scales, todo,
                                        name="projected AU images", on_yielded=self._on_yielded,
                                        on_errored=lambda e: self.failed.emit(str(e)))

    def _on_yielded(self, value: object) -> None:
        if isinstance(value, Progress) or not isinstance(value, tuple):
            return
        c, img = value
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
