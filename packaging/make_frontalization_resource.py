"""Regenerate the shipped 68-point frontalization weights (run once, commit the output).

Reads the two published MIT-licensed files of github.com/bbonik/facial-landmark-frontalization
(``data/frontalization_weights.npy`` and ``data/landmarks_mean_face.npy``, here under the names
``frontalization_weights_68.npy`` / ``landmarks_mean_face_68.npy``), checks them against the
pinned file sha256 of :mod:`dfecs_app.io.frontalization_weights`, and writes their arrays as one
compressed NPZ, ``dfecs_app/resources/frontalization/frontalization_68.npz`` (``W`` (137, 136),
``mean_face`` (68, 2), float64, C order). The app checks the arrays against the pinned content
sha256 (``SHIPPED_SHA256``) every time it loads them. The licence of the files sits beside them
(``LICENSE-frontalization.txt``).

Usage::

    .venv/bin/python packaging/make_frontalization_resource.py [--source ../shared/data/frontalization]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dfecs_app.io import frontalization_weights as FW  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "frontalization",
                        help="folder holding frontalization_weights_68.npy and landmarks_mean_face_68.npy")
    parser.add_argument("--out", type=Path, default=FW.shipped_path())
    args = parser.parse_args(argv)

    arrays = {}
    for key, name in zip(("W", "mean_face"), FW.file_names("68")):
        data = (args.source / name).read_bytes()
        if FW.sha256_of(data) != FW.SHA256[name]:
            raise SystemExit(f"{args.source / name}: not the published file (sha256 mismatch)")
        arrays[key] = np.ascontiguousarray(np.load(io.BytesIO(data), allow_pickle=False), "<f8")
        if FW.array_sha256(arrays[key]) != FW.SHIPPED_SHA256[key]:
            raise SystemExit(f"{name}: array contents differ from the pinned content sha256")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
