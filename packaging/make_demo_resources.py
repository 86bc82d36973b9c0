"""Regenerate the built-in demo resources in ``dfecs_app/resources/demo/`` (run once, commit the output).

The demo neutral face is scikit-image's astronaut photograph (Eileen Collins, NASA; public
domain), saved as PNG, with its 68 landmarks detected once by dlib's 68-point shape predictor
(dlib-bin + face-recognition-models, CC0) and written as a 300-W ``.pts`` file (1-based pixel
coordinates, as that format says). A preview PNG with the landmarks drawn is written to
``--preview`` (not into the repository) so a person can check them.

Usage::

    .venv/bin/python packaging/make_demo_resources.py [--out dfecs_app/resources/demo] [--preview /tmp/p.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


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
                        help="also write the image with numbered landmarks here")
    args = parser.parse_args(argv)

    import cv2
    from skimage import data

    image = data.astronaut()  # (512, 512, 3) uint8 RGB
    points = detect_landmarks(image)
    args.out.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out / "astronaut.png"), image[:, :, ::-1]):
        raise SystemExit("could not write astronaut.png")
    write_pts(args.out / "astronaut.pts", points)
    if args.preview is not None:
        write_preview(args.preview, image, points)
    print(f"wrote {args.out / 'astronaut.png'} and {args.out / 'astronaut.pts'}")
    print(f"face box (x0, y0, x1, y1): {points.min(0).round(1)} {points.max(0).round(1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
