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

Videos: detect once, then propagate
-----------------------------------
By default (``detect="track"``) a video's face is detected once and the predictor's box is
then placed on each frame from the previous frame's landmarks (about 2.5 ms instead of the
detector's 22 ms on a 640x360 frame); the detector runs again on a schedule, when the tracked
shape degrades, and whenever the face is lost (:class:`TrackingRule` states the rule).
``detect="every-frame"`` runs the detector on every frame and reproduces the reference track
byte for byte.

Output
------
One row per frame (:data:`TRACK_COLUMNS`): ``frame`` (0-based), ``time_s`` (frame / fps,
4 decimals; empty for still images), ``detected`` (1/0: a face has landmarks), the face box
``face_left, face_top, face_right, face_bottom`` (pixels) and ``x_0..x_67, y_0..y_67`` (0-based
pixel coordinates). Frames without a face have ``detected`` = 0 and empty box and coordinates.
Tracked videos end with a ``propagated`` column: 1 where the box came from the previous
frame's landmarks, 0 where the detector found the face (and on frames without a face); the
per-frame-detection mode writes exactly the columns above.
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
    if image.ndim == 3 and image.shape[2] == 3:
        return gray_into(image, np.empty(image.shape[:2], np.uint8))
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
    notes : list of str
    propagated : ndarray of bool, shape (n,), or None
        True where the predictor box came from the previous frame's landmarks (the tracker),
        False where the detector found the face; None when every frame was detected.
    """

    name: str
    sources: list[str]
    time_s: np.ndarray
    detected: np.ndarray
    box: np.ndarray
    points: np.ndarray
    notes: list[str] = field(default_factory=list)
    propagated: np.ndarray | None = None

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


#: ``detect=`` choices: the tracker (detect, then propagate), or the detector on every frame.
DETECT_MODES: tuple[str, ...] = ("track", "every-frame")


@dataclass(frozen=True)
class TrackingRule:
    """When the tracker runs the face detector again instead of propagating the box.

    A frame is *propagated* when the predictor's box is placed from the previous frame's
    landmarks: the box the detector gave at the last detection, expressed relative to the
    landmarks' centroid and RMS radius, is put on the previous frame's landmarks. The full-frame
    detector runs instead (and the frame counts as *detected*) when

    * there is no previous face (first frame, or the face was lost);
    * ``redetect_every`` frames have passed since the last detection (periodic check);
    * the propagated shape degrades: its own box (placed on the new landmarks) moved by more
      than ``max_drift`` of the box size from the box it was predicted in (fast motion: the
      start box was off), its RMS radius changed by more than ``max_scale_change``
      (landmark spread), or its similarity-aligned RMS distance to the last detected shape
      exceeds ``max_shape_change`` of the radius (a different or distorted shape), or the
      face's appearance changed: the normalized cross-correlation of a 24x24 grey thumbnail of
      the square around the landmarks with the one taken at the last detection falls below
      ``min_appearance`` (the face left, was covered, or the scene cut).

    A detection that finds no face loses the face: that frame has no landmarks and the next
    frames are detected until a face is found again. Frames with a face under per-frame
    detection therefore always get landmarks.

    Attributes
    ----------
    redetect_every : int
        Frames between periodic detections (1 = detect every frame).
    max_drift, max_scale_change, max_shape_change, min_appearance : float
        The degradation thresholds above (fractions; a correlation for the last).
    """

    redetect_every: int = 30
    max_drift: float = 0.10
    max_scale_change: float = 0.08
    max_shape_change: float = 0.12
    min_appearance: float = 0.8

    def __post_init__(self) -> None:
        if int(self.redetect_every) < 1:
            raise InputError("must be 1 or more", field="redetect_every")


@functools.lru_cache(maxsize=1)
def _gray_kernel():
    """numba kernel writing dlib's grey of a BGR/RGB uint8 frame into a preallocated array."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def kernel(frame, out):  # pragma: no cover - numba
        h, w = out.shape
        for i in range(h):
            for j in range(w):
                out[i, j] = (np.uint16(frame[i, j, 0]) + np.uint16(frame[i, j, 1])
                             + np.uint16(frame[i, j, 2])) // 3
        return out

    return kernel


def gray_into(frame: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dlib's grey ``(R + G + B) // 3`` of a (h, w, 3) uint8 frame written into ``out`` (h, w).

    Equal to :func:`to_gray` (one pass, no temporaries; ~10x faster on a 640x360 frame).
    """
    return _gray_kernel()(frame, out)


def _center_radius(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid (2,) and RMS radius of (68, 2) landmarks."""
    c = points.mean(axis=0)
    return c, float(np.sqrt(((points - c) ** 2).sum(axis=1).mean()))


def _thumbnail(gray: np.ndarray, points: np.ndarray, size: int = 24) -> np.ndarray:
    """Zero-mean, unit-norm (size*size,) float32 thumbnail of the square around ``points``."""
    cv2 = _cv2()
    c, r = _center_radius(points)
    h, w = gray.shape
    half = 1.6 * r
    left, top = max(int(c[0] - half), 0), max(int(c[1] - half), 0)
    right, bottom = min(int(c[0] + half) + 1, w), min(int(c[1] + half) + 1, h)
    if right - left < 2 or bottom - top < 2:
        return np.zeros(size * size, np.float32)
    patch = cv2.resize(gray[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)
    v = patch.astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def _shape_change(points: np.ndarray, ref: np.ndarray) -> float:
    """Similarity-aligned RMS distance of ``points`` to ``ref`` (both (68, 2)), over ref's radius."""
    a = points - points.mean(axis=0)
    b = ref - ref.mean(axis=0)
    za = a[:, 0] + 1j * a[:, 1]
    zb = b[:, 0] + 1j * b[:, 1]
    denom = float((za.conj() * za).real.sum())
    if denom <= 0:
        return math.inf
    t = (za.conj() @ zb) / denom  # least-squares rotation + scale a -> b
    rb = math.sqrt(float((zb.conj() * zb).real.mean()))
    return math.sqrt(float((np.abs(za * t - zb) ** 2).mean())) / max(rb, 1e-9)


class VideoTracker:
    """Detect once, then propagate the predictor box from frame to frame (:class:`TrackingRule`).

    Call it on consecutive grey frames of one video. ``detect="every-frame"`` runs the
    detector on each frame (the reference behaviour).

    Parameters
    ----------
    upsample : int
        Detector upsampling (0 reproduces the reference tracks).
    detect : {'track', 'every-frame'}
    rule : TrackingRule, optional
    """

    def __init__(self, *, upsample: int = 0, detect: str = "track",
                 rule: TrackingRule | None = None) -> None:
        if detect not in DETECT_MODES:
            raise InputError(f"must be one of {', '.join(DETECT_MODES)}, got {detect!r}",
                             field="detect")
        import dlib

        self._rectangle = dlib.rectangle
        self._detector, self._predictor = _models()
        self.upsample = int(upsample)
        self.every_frame = detect == "every-frame"
        self.rule = rule or TrackingRule()
        self._prev: np.ndarray | None = None  # landmarks of the previous frame
        self._ref: np.ndarray | None = None  # landmarks at the last detection
        self._rel = np.zeros(4)  # last detector box relative to (centroid, radius)
        self._look: np.ndarray | None = None  # thumbnail at the last detection
        self._since = 0

    def _predict(self, gray: np.ndarray, rect) -> np.ndarray:
        shape = self._predictor(gray, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def _detect(self, gray: np.ndarray):
        dets, scores, _ = self._detector.run(gray, self.upsample, 0.0)
        self._since = 0
        if len(dets) == 0:
            self._prev = self._ref = None
            return None
        d = dets[int(np.argmax(scores))]
        points = self._predict(gray, d)
        box = np.array([d.left(), d.top(), d.right(), d.bottom()], dtype=np.int64)
        c, r = _center_radius(points)
        self._rel = (box - np.r_[c, c]) / max(r, 1e-9)
        self._prev = self._ref = points
        if not self.every_frame:
            self._look = _thumbnail(gray, points)
        return box, points

    def _box_on(self, points: np.ndarray) -> np.ndarray:
        c, r = _center_radius(points)
        return np.rint(np.r_[c, c] + self._rel * r).astype(np.int64)

    def __call__(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool] | None:
        """(box (4,) int, points (68, 2), propagated) for the next frame, or None (no face)."""
        rule = self.rule
        self._since += 1
        if self.every_frame or self._prev is None or self._since >= rule.redetect_every:
            found = self._detect(gray)
            return None if found is None else (*found, False)
        box = self._box_on(self._prev)
        points = self._predict(gray, self._rectangle(*(int(v) for v in box)))
        new_box = self._box_on(points)
        size = float(box[2] - box[0])
        drift = float(np.abs(new_box - box).max()) / max(size, 1.0)
        scale = abs(float(new_box[2] - new_box[0]) / max(size, 1.0) - 1.0)
        if (drift > rule.max_drift or scale > rule.max_scale_change
                or _shape_change(points, self._ref) > rule.max_shape_change
                or float(_thumbnail(gray, points) @ self._look) < rule.min_appearance):
            found = self._detect(gray)
            return None if found is None else (*found, False)
        self._prev = points
        return box, points, True


def open_video(path: str | os.PathLike):
    """An opened ``cv2.VideoCapture`` of ``path``; InputError when it is not a readable video."""
    cv2 = _cv2()
    path = Path(path)
    if not path.is_file():
        raise InputError("no such video file", path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise InputError("cannot open as a video", path)
    return cap


def track_video(path: str | os.PathLike, state: TaskState | None = None, *,
                upsample: int = 0, detect: str = "track",
                rule: TrackingRule | None = None) -> Track:
    """Track every frame of a video file (progress: ``report("track", fraction, ...)``).

    ``detect="track"`` (default) detects once and propagates (:class:`TrackingRule`);
    ``"every-frame"`` runs the detector on every frame. Frames are decoded into one reused
    buffer and converted to grey once (:func:`gray_into`).
    """
    path = Path(path)
    state = ensure_state(state)
    tracker = VideoTracker(upsample=upsample, detect=detect, rule=rule)
    cv2 = _cv2()
    cap = open_video(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or math.nan
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rows: list = []
        times: list[float] = []
        frame = gray = None
        while True:
            ok, frame = cap.read(frame)
            if not ok:
                break
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise InputError(f"unsupported frame layout {frame.shape} {frame.dtype}", path)
            if gray is None or gray.shape != frame.shape[:2]:
                gray = np.empty(frame.shape[:2], np.uint8)
            k = len(rows)
            rows.append(tracker(gray_into(frame, gray)))
            times.append(k / fps if fps > 0 else math.nan)
            state.report("track", min(1.0, (k + 1) / total) if total else None,
                         f"{path.name}: frame {k + 1}" + (f"/{total}" if total else ""))
    finally:
        cap.release()
    if not rows:
        raise InputError("no frames could be decoded", path)
    track = _collect(path.stem, [str(path)], [None if r is None else r[:2] for r in rows], times)
    track.propagated = np.array([r is not None and r[2] for r in rows], dtype=bool)
    if detect == "every-frame":
        track.propagated = None
    return track


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


def track_to_csv(kind: str, what: str | list[str], out: str, *, name: str | None = None,
                 upsample: int = 0, detect: str = "track") -> dict:
    """Track one sequence and write its CSV (a batch task: picklable, top level).

    Parameters
    ----------
    kind : {'video', 'images'}
    what : path of the video, or the image paths in frame order
    out : output CSV path (written atomically)

    Returns
    -------
    dict
        ``frames``, ``faces`` (frames with landmarks), ``propagated``.
    """
    if kind == "video":
        track = track_video(what, upsample=upsample, detect=detect)
    else:
        track = track_images(what, upsample=upsample, name=name)
    write_track_csv(out, track)
    return {"frames": len(track), "faces": int(track.detected.sum()),
            "propagated": 0 if track.propagated is None else int(track.propagated.sum())}


def _num(v: float) -> str:
    return "" if not np.isfinite(v) else repr(float(v))


def write_track_csv(path: str | os.PathLike, track: Track) -> None:
    """Write a track as CSV (:data:`TRACK_COLUMNS`, then ``propagated`` when the track has
    it), atomically."""
    columns = TRACK_COLUMNS + (("propagated",) if track.propagated is not None else ())
    lines = [",".join(columns)]
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
        tail = [] if track.propagated is None else ["1" if track.propagated[k] else "0"]
        lines.append(",".join(head + box + coords + tail))
    with atomic_open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Videos added to a project (the GUI's Data panel)
# ---------------------------------------------------------------------------------------------
#: Folder beside a video receiving its track CSV when the GUI tracks it.
TRACKS_DIRNAME = "dfecs-tracks"


def project_track_path(video: str | os.PathLike) -> Path:
    """Where the GUI keeps the track of ``video``: ``<video folder>/dfecs-tracks/<stem>.csv``,
    or, when that folder cannot be written, the user cache (``~/.cache/dfecs-studio/tracks``)."""
    import hashlib

    video = Path(video).resolve()
    beside = video.parent / TRACKS_DIRNAME
    try:
        beside.mkdir(exist_ok=True)
        if os.access(beside, os.W_OK):
            return beside / f"{video.stem}.csv"
    except OSError:
        pass
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dfecs-studio" / "tracks"
    key = hashlib.sha1(str(video).encode("utf-8")).hexdigest()[:10]
    return cache / key / f"{video.stem}.csv"


def _track_task(video: Path, out: Path, upsample: int, detect: str):
    from dfecs_app.io.batch import BatchTask

    return BatchTask(str(video), (str(video),), str(out), track_to_csv,
                     args=("video", str(video), str(out)),
                     kwargs={"name": None, "upsample": upsample, "detect": detect},
                     options={"kind": "video", "upsample": upsample, "detect": detect,
                              "name": None})


def track_videos(videos: Sequence[str | os.PathLike], state: TaskState | None = None, *,
                 upsample: int = 0, detect: str = "track") -> list[Path]:
    """Track videos into their :func:`project_track_path` CSVs, one after another.

    A CSV that is complete for the same video and options (:mod:`dfecs_app.io.batch`
    manifest) is reused. Progress: ``report("track", overall fraction, ...)``; cancellable.

    Returns
    -------
    list of Path
        The CSVs, in the order of ``videos``.
    """
    from dfecs_app.io.batch import is_complete, write_manifest

    state = ensure_state(state)
    out: list[Path] = []
    n = len(videos)
    for k, video in enumerate(videos):
        video = Path(video)
        target = project_track_path(video)
        task = _track_task(video, target, upsample, detect)
        if not is_complete(task)[0]:
            def forward(p, k=k):
                state.report("track", (k + (p.fraction or 0.0)) / n, p.message)

            track = track_video(video, TaskState(forward), upsample=upsample, detect=detect)
            write_track_csv(target, track)
            write_manifest(task, {"frames": len(track), "faces": int(track.detected.sum())})
        state.report("track", (k + 1) / n, f"{video.name}: tracked", force=True)
        out.append(target)
    return out


def video_of_track(csv: str | os.PathLike) -> Path | None:
    """The video a track CSV was made from (its batch manifest records it), if still there."""
    from dfecs_app.io.batch import manifest_path

    try:
        import json

        recorded = json.loads(manifest_path(csv).read_text(encoding="utf-8"))
        video = Path(recorded["inputs"][0]["path"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return video if video.suffix.lower() in VIDEO_SUFFIXES and video.is_file() else None


class VideoFrames:
    """Random access to the frames of one video for display (keeps the file open).

    ``frame(i)`` returns frame ``i`` as RGB uint8 (h, w, 3), or None past the end; reading
    the next frame is a plain decode, any other one a seek.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._cap = open_video(self.path)
        self._next = 0

    def frame(self, index: int) -> np.ndarray | None:
        cv2 = _cv2()
        index = int(index)
        if index != self._next:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = self._cap.read()
        if not ok:
            self._next = -1
            return None
        self._next = index + 1
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()
