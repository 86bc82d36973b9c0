"""Throughput of the landmark readers on large files, beside ``pandas.read_csv``.

Writes, in a temporary folder, the same synthetic tracks (the landmarks of
``bench_kpm.synthetic_set``) in four real layouts, then times ``read_landmarks`` on each and
``pandas.read_csv`` of the same file (the reference, same run):

- a generic CSV (``subject,sequence,frame,x_0..x_67,y_0..y_67``, coordinates at 17
  significant digits as ``repr`` writes them: the slowest numbers to parse);

- a ``dfecs track`` CSV (``frame,time_s,detected,face_*,x_0..x_67,y_0..y_67``, 68 points,
  whole pixels as dlib gives them);
- a headerless BP4D-style text file of 49 points per line (``x0..x48, y0..y48``; the reader
  works out the number order from the data);
- an OpenFace 2.x CSV in the old style (``", "`` separators), 68 points among its other columns.

Each time is the best of ``--repeat`` runs: on this VM the first touch of fresh memory is
slow, and it is the steady state (memory already mapped) that repeats in a session.

Run from the project root::

    .venv/bin/python benchmarks/bench_readers.py [--frames 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_kpm import synthetic_set  # noqa: E402

from dfecs_app.core.landmarks import LAYOUT_49  # noqa: E402
from dfecs_app.io.readers import read_landmarks  # noqa: E402
from dfecs_app.io.tracking import Track, write_track_csv  # noqa: E402


def write_bp4d_txt(path: Path, points: np.ndarray) -> None:
    """49 points per line, all x then all y, space separated, no header."""
    p49 = points[:, list(LAYOUT_49)]
    np.savetxt(path, np.concatenate([p49[..., 0], p49[..., 1]], axis=1), fmt="%.3f")


def write_generic_csv(path: Path, points: np.ndarray) -> None:
    """subject, sequence, frame, then x_0..x_67, y_0..y_67 with 17 significant digits."""
    n = len(points)
    rng = np.random.default_rng(0)
    xy = np.concatenate([points[..., 0], points[..., 1]], axis=1) + rng.normal(0, 0.3, (n, 136))
    cols = ["subject", "sequence", "frame"] + [f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]
    with open(path, "w") as fh:
        fh.write(",".join(cols) + "\n")
        for start in range(0, n, 10_000):
            block = xy[start:start + 10_000]
            fh.writelines(f"p{(start + i) // 1000 % 50:03d},s{(start + i) // 1000:05d},{start + i},"
                          + ",".join(map(repr, row.tolist())) + "\n" for i, row in enumerate(block))


def write_openface_csv(path: Path, points: np.ndarray) -> None:
    """Old-style OpenFace 2.x CSV: ", " separators, no face_id, pose and AU columns around x/y."""
    n = len(points)
    head = ["frame", "timestamp", "confidence", "success", "pose_Tx", "pose_Ty", "pose_Tz"]
    cols = head + [f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]
    cols += [f"AU{a:02d}_r" for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)]
    meta = np.column_stack([np.arange(1, n + 1), np.arange(n) / 25.0, np.full(n, 0.98),
                            np.ones(n), np.zeros((n, 3))])
    aus = np.zeros((n, 17))
    data = np.concatenate([meta, points[..., 0], points[..., 1], aus], axis=1)
    np.savetxt(path, data, fmt="%.3f", delimiter=", ", header=", ".join(cols), comments="")


def best_of(repeat: int, func) -> tuple[float, object]:
    """The shortest of ``repeat`` timed calls, and the last result."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    points = synthetic_set(args.frames, n_subjects=1, n_tasks=1).points
    n = len(points)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {
            "generic CSV, 68 points, 17 digits": tmp / "generic.csv",
            "dfecs track CSV, 68 points": tmp / "track.csv",
            "BP4D text, 49 points, no header": tmp / "F001_T1.txt",
            "OpenFace 2.x CSV (old style), 68 points": tmp / "openface.csv",
        }
        t0 = time.perf_counter()
        write_generic_csv(files["generic CSV, 68 points, 17 digits"], points)
        write_track_csv(files["dfecs track CSV, 68 points"], Track(
            name="bench", sources=["synthetic"], time_s=np.arange(n) / 30.0,
            detected=np.ones(n, bool), box=np.tile([100.0, 80.0, 500.0, 480.0], (n, 1)),
            points=np.round(points)))  # dlib's predictor gives whole pixels
        write_bp4d_txt(files["BP4D text, 49 points, no header"], points)
        write_openface_csv(files["OpenFace 2.x CSV (old style), 68 points"], points)
        print(f"wrote {n:,} frames in {len(files)} layouts in {time.perf_counter() - t0:.1f} s")
        print(f"{'file':42s} {'MB':>7s} {'seconds':>8s} {'frames/s':>10s} {'pandas s':>9s} {'ratio':>6s}")
        for label, path in files.items():
            dt, table = best_of(args.repeat, functools.partial(read_landmarks, [path]))
            assert len(table) == n, (label, len(table))
            del table
            txt = path.suffix == ".txt"
            ref, _ = best_of(args.repeat, functools.partial(
                pd.read_csv, path, sep=r"\s+" if txt else ",", header=None if txt else "infer"))
            print(f"{label:42s} {path.stat().st_size / 1e6:7.1f} {dt:8.2f} {n / dt:10,.0f} "
                  f"{ref:9.2f} {dt / ref:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
