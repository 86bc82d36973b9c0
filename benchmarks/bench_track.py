"""Throughput of ``dfecs track``: per-frame detection vs the tracker, and --jobs 1 vs 2.

Videos: ``../shared/data/videos/single_face.mp4`` (640x360, 72 frames) and a longer one made
from it in a temporary folder: forward, backward, forward, 20 blank frames (the face is lost),
the video shifted 60 px backward, then forward again (380 frames, mp4v).

Prints, for each video, frames/s of

- *per-frame detection as before this change* (the reference: a fresh BGR frame per read and
  numpy's grey conversion, detector + predictor on every frame, the loop ``dfecs track`` ran);
- *per-frame detection* now (``--detect every-frame``: reused buffer, one-pass grey);
- *the tracker* (``--detect track``, the default),

the speed-ups, and the landmark difference of the tracker against per-frame detection over
frames where both have a face (median and 99th percentile of |dx|, |dy| in pixels), frames
lost (face found by per-frame detection, not by the tracker) and added. Then the batch:
``dfecs track`` on 4 copies of the long video with ``--jobs 1`` and ``--jobs 2`` (each a
fresh process: start-up and model loading included). The machine's load average is printed:
on a shared machine the scaling figure only means something when the cores are idle.
Target: tracker >= 4x the reference, median <= 1 px, no lost frames.

Run from the project root::

    .venv/bin/python benchmarks/bench_track.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dfecs_app.io.tracking import _models, track_video  # noqa: E402

VIDEO = ROOT.parent / "shared" / "data" / "videos" / "single_face.mp4"


def per_frame_before(path: Path) -> np.ndarray:
    """The loop ``dfecs track`` ran before: (n, 68, 2) points (NaN where no face)."""
    detector, predictor = _models()
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        gray = (frame[..., :3].sum(axis=2, dtype=np.uint16) // 3).astype(np.uint8)
        dets, scores, _ = detector.run(gray, 0, 0.0)
        if len(dets) == 0:
            out.append(np.full((68, 2), np.nan))
            continue
        shape = predictor(gray, dets[int(np.argmax(scores))])
        out.append(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64))
    cap.release()
    return np.array(out)


def long_video(folder: Path) -> Path:
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    seq = (frames + frames[::-1] + frames + [np.zeros_like(frames[0])] * 20
           + [np.roll(f, 60, axis=1) for f in frames[::-1]] + frames)
    path = folder / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for f in seq:
        writer.write(f)
    writer.release()
    return path


def best(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def compare(path: Path, repeat: int) -> None:
    t_ref, ref_pts = best(lambda: per_frame_before(path), repeat)
    t_every, every = best(lambda: track_video(path, detect="every-frame"), repeat)
    t_track, fast = best(lambda: track_video(path), repeat)
    n = len(every)
    assert np.array_equal(np.isfinite(ref_pts[:, 0, 0]), every.detected)
    both = every.detected & fast.detected
    diff = np.abs(fast.points[both] - every.points[both])
    lost = int((every.detected & ~fast.detected).sum())
    added = int((fast.detected & ~every.detected).sum())
    print(f"{path.name}: {n} frames, face in {int(every.detected.sum())} (per-frame detection)")
    print(f"  per-frame detection, before (reference) {n / t_ref:7.1f} frames/s")
    print(f"  per-frame detection, now                {n / t_every:7.1f} frames/s")
    print(f"  tracker                                 {n / t_track:7.1f} frames/s   "
          f"speed-up {t_ref / t_track:.2f}x vs reference, {t_every / t_track:.2f}x vs "
          f"per-frame now (target >= 4x)")
    print(f"  tracker vs per-frame detection: median |d| {np.median(diff):.2f} px, p99 "
          f"{np.percentile(diff, 99):.2f} px, max {diff.max():.0f} px; propagated "
          f"{int(fast.propagated.sum())} of {n}; lost {lost}, added {added} (target: median "
          "<= 1 px, lost 0)")


def scaling(folder: Path, long: Path) -> None:
    """``dfecs track`` on 4 inputs in a fresh process each: --jobs 1 vs --jobs 2 (start-up,
    model loading in every worker and the CSV writes included)."""
    import os
    import subprocess

    inputs = folder / "batch"
    inputs.mkdir()
    for k in range(4):
        shutil.copy(long, inputs / f"in{k}.mp4")
    frames = 4 * int(cv2.VideoCapture(str(long)).get(cv2.CAP_PROP_FRAME_COUNT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rates = {}
    for jobs in (1, 2):
        cmd = [sys.executable, "-m", "dfecs_app.cli.main", "track", str(inputs),
               "--out", str(folder / f"out{jobs}"), "--jobs", str(jobs)]
        t = time.perf_counter()
        run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        assert run.returncode == 0, run.stderr
        rates[jobs] = frames / elapsed
        print(f"  dfecs track --jobs {jobs}: {frames} frames in {elapsed:.1f} s = "
              f"{rates[jobs]:.0f} frames/s")
    same = all((folder / "out1" / f"in{k}.csv").read_bytes()
               == (folder / "out2" / f"in{k}.csv").read_bytes() for k in range(4))
    print(f"  scaling --jobs 2 / --jobs 1: {rates[2] / rates[1]:.2f}x (2 cores: close to 2x "
          f"when they are idle); outputs identical: {same}; load average now "
          f"{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    args = parser.parse_args()
    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    track_video(VIDEO)  # load the models, compile the grey kernel
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        long = long_video(folder)
        compare(VIDEO, args.repeat)
        compare(long, 1)
        print(f"batch of 4 x {long.name} (tracker):")
        scaling(folder, long)


if __name__ == "__main__":
    main()
