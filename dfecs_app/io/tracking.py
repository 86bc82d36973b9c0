"""Track 68 facial landmarks in the user's own videos and images with dlib.

Face detection uses dlib's HOG frontal face detector, landmarks dlib's 68-point shape
predictor shipped in the CC0 ``face-recognition-models`` package; frames are decoded with
OpenCV. Both are optional dependencies: ``pip install dfecs-studio[track]``.

Detection settings
------------------
Each frame is converted to grey the way dlib itself converts colour pixels, the integer mean
``(R + G + B) // 3`` (so RGB and BGR input give the same result), and the detector runs on it
with no upsampling (``upsample=0``); the predictor runs on the same grey image. With these
settings the output reproduces the reference track made with dlib-bin 20.0.1 and
face-recognition-models 0.3.0 (``tracks/single_face_dlib68.csv`` of the test data) exactly.
Raise ``upsample`` to find faces smaller than about 80 x 80 pixels (slower). When a frame holds
several faces the detection with the highest score is used.

Output
------
One row per frame (:data:`TRACK_COLUMNS`): ``frame`` (0-based), ``time_s`` (frame / fps,
4 decimals; empty for still images), ``detected`` (1/0), the face box
``face_left, face_top, face_right, face_bottom`` (pixels) and ``x_0..x_67, y_0..y_67`` (0-based
pixel coordinates). Frames without a face have ``detected`` = 0 and empty box and coordinates.
:func:`dfecs_app.io.readers.read_landmarks` reads the file (format ``dfecs_track``).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.errors import InputError, MissingResourceError
from dfecs_app.io.atomic import atomic_open

#: Columns of a track CSV.
TRACK_COLUMNS: tuple[str, ...] = (
    ("frame", "time_s", "detected", "face_left", "face_top", "face_right", "face_bottom")
    + tuple(f"x_{i}" for i in range(N_POINTS))
    + tuple(f"y_{i}" for i in range(N_POINTS))
)
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg",
                                   ".mpeg", ".wmv", ".flv")
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif",
                                   ".tiff", ".webp")
INSTALL_HINT = "pip install dfecs-studio[track]"


@functools.lru_cache(maxsize=1)
def _models():
    """(detector, predictor), loaded once; MissingResourceError when unavailable."""
    try:
        import dlib
    except ImportError:
        raise MissingResourceError(
            f"face tracking needs dlib, which is not installed: {INSTALL_HINT}") from None
    try:
        import face_recognition_models
    except ImportError:
        raise MissingResourceError(
            "face tracking needs the 68-point model of face-recognition-models, which is not "
            f"installed: {INSTALL_HINT}") from None
    model = Path(face_recognition_models.pose_predictor_model_location())
    if not model.is_file():
        raise MissingResourceError(f"the 68-point model {model} is missing: {INSTALL_HINT}")
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model))


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - a core dependency
        raise MissingResourceError("reading videos needs opencv-python-headless: "
                                   f"{INSTALL_HINT}") from None
    return cv2


def to_gray(image: np.ndarray) -> np.ndarray:
    """dlib's grey: ``(R + G + B) // 3`` as uint8, shape (h, w); channel order is irrelevant.

    Parameters
    ----------
    image : ndarray, shape (h, w), (h, w, 3) or (h, w, 4)
        uint8, or float in [0, 1] (scaled by 255). A 4th (alpha) channel is ignored.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        scale = 255.0 if np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1.0 else 1.0
        image = np.clip(np.rint(image * scale), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an image of shape (h, w), (h, w, 3) or (h, w, 4), got {image.shape}")
    return (image[..., :3].sum(axis=2, dtype=np.uint16) // 3).astype(np.uint8)


class FaceTracker:
    """dlib face detector + 68-point predictor on single images.

    Parameters
    ----------
    upsample : int
        Times the detector upsamples the image (0 reproduces the reference tracks).
    """

    def __init__(self, *, upsample: int = 0) -> None:
        self.upsample = int(upsample)
        self._detector, self._predictor = _models()

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Landmarks of the best-scoring face.

        Returns
        -------
        (box, points) or None
            box : int ndarray (4,) ``left, top, right, bottom``; points : float ndarray (68, 2).
            None when no face is found.
        """
        gray = to_gray(image)
        dets, scores, _ = self._detector.run(gray, self.upsample, 0.0)
        if len(dets) == 0:
            return None
        d = dets[int(np.argmax(scores))]
        shape = self._predictor(gray, d)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        return np.array([d.left(), d.top(), d.right(), d.bottom()], dtype=np.int64), points


def detect_landmarks(image: np.ndarray, *, upsample: int = 0) -> np.ndarray | None:
    """68 landmarks (0-based pixels, shape (68, 2)) of the best face in ``image``, or None.

    ``image`` is (h, w) or (h, w, 3|4) uint8 (RGB or BGR alike). For the GUI's neutral-face
    detection. Raises MissingResourceError when dlib or its model is not installed.
    """
    found = FaceTracker(upsample=upsample)(image)
    return None if found is None else found[1]


@dataclass
class Track:
    """Landmarks tracked in one video or image sequence.

    Attributes
    ----------
    name : str
        Sequence name (video stem, image folder name).
    sources : list of str
        The video, or the images in frame order.
    time_s : ndarray, shape (n,)
        Seconds from the start (NaN for still images).
    detected : ndarray of bool, shape (n,)
    box : ndarray of float, shape (n, 4)
        left, top, right, bottom (NaN when no face).
    points : ndarray, shape (n, 68, 2)
        NaN when no face.
    """

    name: str
    sources: list[str]
    time_s: np.ndarray
    detected: np.ndarray
    box: np.ndarray
    points: np.ndarray
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.detected)


def _collect(name: str, sources: list[str], rows: list, times: list[float]) -> Track:
    n = len(rows)
    box = np.full((n, 4), np.nan)
    points = np.full((n, N_POINTS, 2), np.nan)
    detected = np.zeros(n, dtype=bool)
    for i, found in enumerate(rows):
        if found is not None:
            detected[i] = True
            box[i], points[i] = found
    track = Track(name, sources, np.asarray(times, dtype=np.float64), detected, box, points)
    if not detected.all():
        track.notes.append(f"{name}: no face in {int((~detected).sum())} of {n} frames")
    return track


def track_video(path: str | os.PathLike, state: TaskState | None = None, *,
                upsample: int = 0) -> Track:
    """Track every frame of a video file (progress: ``report("track", fraction, ...)``)."""
    path = Path(path)
    state = ensure_state(state)
    tracker = FaceTracker(upsample=upsample)
    cv2 = _cv2()
    if not path.is_file():
        raise InputError("no such video file", path)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError("cannot open as a video", path)
        fps = cap.get(cv2.CAP_PROP_FPS) or math.nan
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rows: list = []
        times: list[float] = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            k = len(rows)
            rows.append(tracker(frame))
            times.append(k / fps if fps > 0 else math.nan)
            state.report("track", min(1.0, (k + 1) / total) if total else None,
                         f"{path.name}: frame {k + 1}" + (f"/{total}" if total else ""))
    finally:
        cap.release()
    if not rows:
        raise InputError("no frames could be decoded", path)
    return _collect(path.stem, [str(path)], rows, times)


def track_images(paths: Sequence[str | os.PathLike], state: TaskState | None = None, *,
                 upsample: int = 0, name: str | None = None) -> Track:
    """Track a sequence of still images, one frame each, in the given order."""
    state = ensure_state(state)
    tracker = FaceTracker(upsample=upsample)
    cv2 = _cv2()
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no images to track")
    rows = []
    for k, p in enumerate(paths):
        image = cv2.imread(str(p), cv2.IMREAD_COLOR) if p.is_file() else None
        if image is None:
            raise InputError("cannot read as an image", p)
        rows.append(tracker(image))
        state.report("track", (k + 1) / len(paths), p.name)
    name = name or (paths[0].parent.resolve().name if len(paths) > 1 else paths[0].stem)
    return _collect(name, [str(p) for p in paths], rows, [math.nan] * len(paths))


def _num(v: float) -> str:
    return "" if not np.isfinite(v) else repr(float(v))


def write_track_csv(path: str | os.PathLike, track: Track) -> None:
    """Write a track as CSV (:data:`TRACK_COLUMNS`), atomically."""
    lines = [",".join(TRACK_COLUMNS)]
    for k in range(len(track)):
        t = track.time_s[k]
        head = [str(k), "" if not np.isfinite(t) else repr(round(float(t), 4)),
                "1" if track.detected[k] else "0"]
        if track.detected[k]:
            box = [str(int(v)) for v in track.box[k]]
            coords = [_num(v) for v in track.points[k, :, 0]] + [_num(v) for v in track.points[k, :, 1]]
        else:
            box = [""] * 4
            coords = [""] * (2 * N_POINTS)
        lines.append(",".join(head + box + coords))
    with atomic_open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
