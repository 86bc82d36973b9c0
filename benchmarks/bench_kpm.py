"""Throughput of the geometric corrections + KPMs, and of ``dfecs kpm`` end to end.

A synthetic BP4D-sized set: 136,000 frames of 41 subjects (8 tasks each), with per-subject
face shapes, per-frame head pose (in-plane roll, yaw-like foreshortening, scale, position),
expression and tracking jitter. Run from the project root::

    .venv/bin/python benchmarks/bench_kpm.py [--frames 136000]

Prints frames/s for: corrections + KPMs with frontalization off and on, for the 68-point
layout and BP4D's 49 points; and for the whole ``dfecs kpm`` command on NPY files (read,
correct, subtract, write). Target: >= 50,000 frames/s for corrections + KPMs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DFECS_FRONTALIZATION_DIR", str(ROOT.parent / "shared" / "data" / "frontalization"))

from dfecs_app.core.kpm import compute_kpm  # noqa: E402
from dfecs_app.core.landmarks import LAYOUTS, LandmarkTable, layout_mask  # noqa: E402
from dfecs_app.io.frontalization_weights import load_frontalization_set  # noqa: E402

TARGET = 50_000


def synthetic_set(n_frames: int, n_subjects: int = 41, n_tasks: int = 8, seed: int = 0) -> LandmarkTable:
    """BP4D-like tracks in pixels (68 points; mask with the 49 layout for BP4D)."""
    rng = np.random.default_rng(seed)
    weights = load_frontalization_set(["68"])["68"]
    base = weights.mean_face * 180.0  # ~ a 400 px face
    per_subject = np.full(n_subjects, n_frames // n_subjects)
    per_subject[: n_frames - per_subject.sum()] += 1
    smile = np.zeros((68, 2))
    smile[[48, 54]] = [[-25, -10], [25, -10]]
    smile[49:54, 1] -= 5
    brows = np.zeros((68, 2))
    brows[17:27, 1] = -20
    points, subject, sequence, frame = [], [], [], []
    for s, n in enumerate(per_subject):
        identity = base * rng.uniform(0.9, 1.1, 2) + rng.normal(0, 4, (68, 2))
        t = np.arange(n)
        expr = (np.clip(np.sin(t / rng.uniform(40, 120)), 0, None)[:, None, None] * smile
                + np.clip(np.cos(t / rng.uniform(30, 90)), 0, None)[:, None, None] * brows * 0.5)
        faces = identity + expr + rng.normal(0, 1.5, (n, 68, 2))  # tracking jitter
        yaw = 1.0 - 0.15 * np.abs(np.sin(t / 200.0))  # foreshortening of one side
        faces[..., 0] = np.where(faces[..., 0] > 0, faces[..., 0] * yaw[:, None], faces[..., 0])
        roll = np.deg2rad(10) * np.sin(t / 150.0 + s)
        c, si = np.cos(roll)[:, None], np.sin(roll)[:, None]
        x, y = faces[..., 0], faces[..., 1]
        scale = rng.uniform(0.9, 1.1) * (1 + 0.05 * np.sin(t / 300.0))[:, None]
        shift = np.array([520, 700]) + 20 * np.stack([np.sin(t / 97.0), np.cos(t / 131.0)], 1)
        faces = np.stack([c * x - si * y, si * x + c * y], -1) * scale[..., None] + shift[:, None]
        points.append(faces)
        subject += [f"F{s:03d}"] * n
        sequence += [f"T{1 + (i * n_tasks) // n}" for i in range(n)]
        frame += list(range(n))
    return LandmarkTable(np.concatenate(points), np.ones((n_frames, 68), bool), subject, sequence,
                         frame, np.full(n_frames, "synthetic"))


def timed(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=136_000)
    args = parser.parse_args()
    n = args.frames

    table68 = synthetic_set(n)
    # a copy: LandmarkTable zeroes absent points of the array it is given, in place
    table49 = LandmarkTable(table68.points.copy(), np.tile(layout_mask("49"), (n, 1)), table68.subject,
                            table68.sequence, table68.frame, table68.source)
    weights = load_frontalization_set(["68", "49"])
    print(f"synthetic BP4D-sized set: {n} frames, {np.unique(table68.subject).size} subjects, "
          f"{np.unique(np.char.add(table68.subject, table68.sequence)).size} sequences")
    print(f"{'corrections + KPMs':48s} {'seconds':>8s} {'frames/s':>10s}  target {TARGET:,}")
    rows = []
    for name, table in (("68 points", table68), ("49 points (BP4D)", table49)):
        for label, fw in (("frontalization off", None), ("frontalization on", weights)):
            for neutral in ("first", "auto"):
                sec = timed(lambda t=table, f=fw, nn=neutral: compute_kpm(t, frontalization=f, neutral=nn))
                rate = n / sec
                rows.append(rate)
                flag = "ok" if rate >= TARGET else "BELOW TARGET"
                print(f"  {name + ', ' + label + ', ' + neutral:46s} {sec:8.3f} {rate:10,.0f}  {flag}")

    from dfecs_app.cli import kpm as kpm_cli

    parser = argparse.ArgumentParser(prog="dfecs")
    kpm_cli.register(parser.add_subparsers())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for subj in np.unique(table49.subject):
            rows_s = table49.subject == subj
            np.save(tmp / f"{subj}.npy", table49.points[rows_s][:, list(LAYOUTS["49"])])
        out = tmp / "kpm.npz"
        t0 = time.perf_counter()
        cli_args = parser.parse_args(["kpm", str(tmp), "--neutral", "auto", "--out", str(out)])
        code = cli_args.func(cli_args)
        sec = time.perf_counter() - t0
        if code != 0:
            raise SystemExit(f"dfecs kpm failed with exit code {code}")
        label = "dfecs kpm, 41 NPY files, 49 points, auto"
        print("whole command (read, frontalize, register, subtract, write)")
        print(f"  {label:46s} {sec:8.3f} {n / sec:10,.0f}")


if __name__ == "__main__":
    main()
