"""Benchmark: the stages of ``dfecs encode`` of a landmark CSV (issue 10, Speed), each beside
the previous code path measured in the same run.

The CSV is :func:`bench_encode._write_csv`'s (a real 72-frame dlib track repeated with 0.3 px
jitter as ``--n-csv / 72`` sequences, generic CSV with subject/sequence columns); the model
has 16 AUs and the default recipe (frontalization included). Stages and references:

read
    :func:`dfecs_app.io.readers.read_landmarks` (reference: ``pandas.read_csv`` of the file).
prepare
    :func:`dfecs_app.io.prepare.prepare_table` (target <= 0.35 s at 100k frames). Reference:
    the previous settings — flat-frame check in numpy, 16384-frame chunks, one thread (the
    numba registration kernels, the layout fast path and the run-wise grouping stay on, so
    this understates the gain); the KPMs of both are compared.
match rows
    output rows to KPM rows (:func:`dfecs_app.io.coding._match_rows`; reference: the
    previous per-frame dict).
encode
    :func:`dfecs_app.core.coding.code_frames` (NNLS).
encoder -> table
    codes into output rows and the DataFrame (``_clip`` + ``clips_frame``; target <= 0.15 s).
write CSV
    :func:`dfecs_app.io.coding.write_codes` (target <= 0.35 s). Reference: ``DataFrame.to_csv``
    into the same atomic file, the previous writer; the two files are compared byte for byte.
end to end
    ``dfecs encode MODEL CSV --out OUT`` in-process after a warm-up (target >= 50,000 frames/s).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_pipeline.py [--n-csv 100000]``
(``DFECS_FRONTALIZATION_DIR`` or the user cache must hold the frontalization weights).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_encode  # noqa: E402


def _timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _dict_match(rows, kpm) -> np.ndarray:
    """The previous row matching (a dict per frame)."""
    index = {(s, q, int(f)): i for i, (s, q, f) in
             enumerate(zip(kpm.subject.tolist(), kpm.sequence.tolist(), kpm.frame.tolist()))}
    face = ~np.isnan(rows.points).all(axis=(1, 2))
    out = np.full(rows.frame.size, -1, dtype=np.int64)
    for i, (s, q, f) in enumerate(zip(rows.subject.tolist(), rows.sequence.tolist(),
                                      rows.frame.tolist())):
        if face[i]:
            out[i] = index.get((s, q, int(f)), -1)
    return out


def _line(name: str, t: float, ref: float | None, ref_name: str, target: str = "") -> None:
    extra = "" if ref is None else f"   | {ref_name}: {ref:6.3f} s -> {ref / t:5.1f}x"
    print(f"   {name:<16} {t:6.3f} s{extra}{'  [' + target + ']' if target else ''}")


def run(n_csv: int, repeat: int) -> None:
    import pandas as pd

    from dfecs_app.cli import main as cli_main
    from dfecs_app.core import kpm as K
    from dfecs_app.core._shape_kernels import flat_frames_numpy
    from dfecs_app.core.coding import code_frames
    from dfecs_app.core.recipe import Recipe
    from dfecs_app.io import coding as C
    from dfecs_app.io.atomic import atomic_open
    from dfecs_app.io.prepare import prepare_table
    from dfecs_app.io.readers import read_landmarks

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv, n, model, _, _ = bench_encode.encode_setup(tmp, n_csv)
        U = model.components
        recipe = Recipe.from_dict(model.meta["recipe"])
        print(f"dfecs encode stages, {n:,}-frame landmark CSV ({csv.stat().st_size / 1e6:.0f} MB), "
              f"{U.shape[0]} AUs, {os.cpu_count()} CPUs; best of {repeat}")

        t_read, table = _timed(lambda: read_landmarks([csv]))
        t_pd, _ = _timed(lambda: pd.read_csv(csv))
        _line("read", t_read, t_pd, "pandas.read_csv")

        t_prep, kpm = _timed(lambda: prepare_table(table, recipe), repeat)
        saved = K.flat_frames, K.CHUNK, K.THREADS
        K.flat_frames, K.CHUNK, K.THREADS = flat_frames_numpy, 16384, 1
        try:
            t_prep_old, kpm_old = _timed(lambda: prepare_table(table, recipe), repeat)
        finally:
            K.flat_frames, K.CHUNK, K.THREADS = saved
        same = np.array_equal(kpm.X, kpm_old.X) and np.array_equal(kpm.mask, kpm_old.mask)
        dev = float(np.abs(kpm.X - kpm_old.X).max()) if kpm.X.shape == kpm_old.X.shape else np.inf
        _line("prepare", t_prep, t_prep_old, "previous settings", "target <= 0.35 s at 100k")
        print(f"   {'':16} KPMs bit-identical to the previous path: {same} (max |diff| {dev:.1e})")

        prepared = C.prepare_input(recipe, csv)
        rows, pk = prepared.rows, prepared.kpm
        t_match, got = _timed(lambda: C._match_rows(rows, pk), repeat)
        t_match_old, ref = _timed(lambda: _dict_match(rows, pk))
        assert np.array_equal(got, ref)
        _line("match rows", t_match, t_match_old, "per-frame dict")

        t_enc, coding = _timed(lambda: code_frames(model.components, pk.X, pk.mask), repeat)
        _line("encode", t_enc, None, "")

        def table_of():
            return C.clips_frame([C._clip(csv, model, prepared, coding)], model)

        t_df, df = _timed(table_of, repeat)
        _line("encoder -> table", t_df, None, "", "target <= 0.15 s at 100k")

        new, old = tmp / "new.csv", tmp / "old.csv"
        t_w, _ = _timed(lambda: C.write_codes(new, df), repeat)

        def pandas_writer():
            with atomic_open(old, "w") as fh:
                df.to_csv(fh, index=False, lineterminator="\n")

        t_w_old, _ = _timed(pandas_writer)
        _line("write CSV", t_w, t_w_old, "pandas to_csv", "target <= 0.35 s at 100k")
        print(f"   {'':16} files byte-identical: {new.read_bytes() == old.read_bytes()} "
              f"({new.stat().st_size / 1e6:.0f} MB)")

        def cli():
            assert cli_main.main(["encode", str(tmp / "model.npz"), str(csv),
                                  "--out", str(tmp / "cli.csv")]) == 0

        t_cli, _ = _timed(cli)
        print(f"   {'end to end':<16} {t_cli:6.3f} s, {n / t_cli:,.0f} frames/s  "
              f"[target >= 50,000/s] (reading alone above: {t_read:.2f} s)")
        import dfecs_app.io.readers as readers

        real = readers.read_landmarks
        readers.read_landmarks = lambda *a, **k: table  # the table read above
        try:
            t_rest, _ = _timed(cli, repeat)
        finally:
            readers.read_landmarks = real
        print(f"   {'all but reading':<16} {t_rest:6.3f} s: dfecs encode with the landmark table "
              f"already read ({n / t_rest:,.0f} frames/s)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-csv", type=int, default=100_000, help="frames of the CSV (default 100k)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("DFECS_FRONTALIZATION_DIR",
                          str(bench_encode.SHARED / "frontalization"))
    run(args.n_csv, args.repeat)


if __name__ == "__main__":
    main()
