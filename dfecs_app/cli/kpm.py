"""``dfecs kpm``: landmark tracks in, standardized KPM matrix (NPZ) out.

Example::

    dfecs kpm Landmarks/ --neutral first --out ckplus_kpm.npz
    dfecs kpm tracks.csv --neutral auto --no-frontalize --out kpm.npz
    dfecs kpm tracks.csv --anchors eyes --out kpm_bp4d_frame.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from dfecs_app.cli._common import npz_output, progress_bar
from dfecs_app.core.geometry import standardized_mask
from dfecs_app.core.kpm import compute_kpm
from dfecs_app.core.landmarks import AFFINE_TARGETS_49, AFFINE_TARGETS_68, ANCHOR_CHOICES
from dfecs_app.errors import MissingResourceError


def _neutral(value: str) -> str | int:
    if value in ("first", "auto"):
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'first', 'auto' or a frame number, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"frame number must be >= 0, got {n}")
    return n


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "kpm",
        help="landmark tracks -> standardized Keypoint Motion (KPM) matrix",
        description=(
            "Read landmark tracks (CK+, DISFA, BP4D, OpenFace, py-feat, 300-W .pts, generic CSV, "
            "NPY/NPZ, `dfecs track` output), apply the geometric corrections of the paper "
            "(frontalization, affine and per-part similarity registration) and write the KPM "
            "matrix: every frame minus its subject's (or, with --neutral-per sequence, its "
            "sequence's) neutral frame."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="landmark files or folders")
    from dfecs_app.io.readers import FORMATS

    p.add_argument("--format", default="auto", choices=("auto", *FORMATS), metavar="FORMAT",
                   help="input format: auto (default: detected per file) or one of "
                        + ", ".join(FORMATS))
    p.add_argument("--neutral", type=_neutral, default="first", metavar="first|auto|N",
                   help="neutral frame per group: the first frame (default), the least "
                        "expressive one (auto), or frame number N")
    p.add_argument("--neutral-per", "--group-by", dest="group_by",
                   choices=("subject", "sequence"), default="subject",
                   help="the unit sharing one neutral frame: subject (default; the paper's "
                        "§2.2 rule, all sequences of a subject measured from one neutral "
                        "frame) or sequence (each sequence from its own)")
    p.add_argument("--no-frontalize", action="store_true",
                   help="skip the landmark frontalization step")
    jaw, eyes = (", ".join(map(str, t)) for t in (AFFINE_TARGETS_68, AFFINE_TARGETS_49))
    p.add_argument("--anchors", choices=ANCHOR_CHOICES, default="auto",
                   help=f"affine registration anchors: auto (default: per frame {jaw} when "
                        f"all present, else BP4D's {eyes}), jaw ({jaw}; frames missing one "
                        f"are dropped), or eyes ({eyes}; any data, e.g. to compare with "
                        "BP4D-trained models)")
    p.add_argument("--frontalization-dir", metavar="DIR", default=None,
                   help="folder holding frontalization_weights_<68|66|49>.npy and "
                        "landmarks_mean_face_<68|66|49>.npy (default: $DFECS_FRONTALIZATION_DIR, "
                        "the user cache, or a download of the public 68-point weights)")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="read every good input and list the bad ones in the summary "
                        "(default: stop at the first bad input and write nothing)")
    p.add_argument("--out", "-o", required=True, metavar="KPM.npz", help="output NPZ file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dfecs_app.io.frontalization_weights import load_frontalization_for
    from dfecs_app.io.kpm_file import save_kpm
    from dfecs_app.io.readers import read_landmarks

    out = npz_output(args.out)

    with progress_bar("reading") as state:
        table = read_landmarks(args.inputs, format=args.format, progress=state,
                               errors="collect" if args.skip_bad_files else "raise")

    weights = None
    if not args.no_frontalize:
        try:
            # only the weights of frames the chosen anchors can register are needed
            usable = standardized_mask(table.mask, True, args.anchors).any(axis=1)
            weights = load_frontalization_for(table.mask[usable], directory=args.frontalization_dir)
        except MissingResourceError as err:
            raise MissingResourceError(f"frontalization weights unavailable: {err}") from None

    with progress_bar("kpm") as state:
        kpm = compute_kpm(table, neutral=args.neutral, frontalization=weights,
                          group_by=args.group_by, anchors=args.anchors, state=state)
    save_kpm(out, kpm)

    n_subjects = np.unique(kpm.subject).size
    n_sequences = np.unique(np.char.add(np.char.add(kpm.subject, "\x1f"), kpm.sequence)).size
    lines = [
        f"wrote {out}: {len(kpm)} KPMs x 136",
        f"  frames read: {len(table)}, dropped: {kpm.meta['n_dropped']}",
        f"  subjects: {n_subjects}, sequences: {n_sequences}, neutral: {args.neutral} per {args.group_by}",
        f"  anchors: {args.anchors}",
        "  frontalization: " + ("off" if weights is None else ", ".join(f"{k}-point" for k in weights) or "none needed"),
        f"  keypoints known: {100.0 * kpm.mask.mean():.1f} %",
    ]
    lines += [f"  note: {note}" for note in kpm.meta["notes"]]
    print("\n".join(lines), file=sys.stdout)
    return 0
