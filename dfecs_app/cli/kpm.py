"""``dfecs kpm``: landmark tracks in, standardized KPM matrix (NPZ) out.

Example::

    dfecs kpm Landmarks/ --neutral first --out ckplus_kpm.npz
    dfecs kpm tracks.csv --neutral auto --no-frontalize --out kpm.npz
    dfecs kpm tracks.csv --anchors eyes --out kpm_bp4d_frame.npz
    dfecs kpm tracks/ --jobs 4 --resume --out kpm.npz

Many inputs, one output: the per-file reading (parsing) runs on ``--jobs`` local processes or
a Dask cluster (``--scheduler``); the corrections and the neutral subtraction then run once
over all frames (they are faster than reading, and a neutral frame may come from another
file when grouping by subject), so the single NPZ is byte-identical however it was read.
``--resume`` skips the whole run when the output is complete: its manifest (see
:mod:`dfecs_app.io.batch`) records every input file's size and mtime and the options.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from dfecs_app.cli._common import batch_arguments, npz_output, progress_bar
from dfecs_app.core.landmarks import AFFINE_TARGETS_49, AFFINE_TARGETS_68, ANCHOR_CHOICES
from dfecs_app.errors import InputError


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
                        "then the 68-point weights shipped with the app, then the user cache; "
                        "never the network)")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="read every good input and list the bad ones in the summary "
                        "(default: stop at the first bad input and write nothing)")
    p.add_argument("--out", "-o", required=True, metavar="KPM.npz", help="output NPZ file")
    batch_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dfecs_app.core.recipe import Recipe
    from dfecs_app.io.batch import (
        BatchTask,
        default_jobs,
        is_complete,
        map_ordered,
        resolve_scheduler,
        write_manifest,
    )
    from dfecs_app.io.kpm_file import save_kpm
    from dfecs_app.io.prepare import prepare_table, reader_options
    from dfecs_app.io.readers import landmark_files, read_landmark_files

    out = npz_output(args.out)
    if args.jobs is not None and args.jobs < 1:
        raise InputError("must be 1 or more", field="--jobs")
    recipe = Recipe(frontalize=not args.no_frontalize, anchors=args.anchors,
                    neutral=args.neutral, neutral_per=args.group_by,
                    reader={"format": args.format})
    opts = reader_options(recipe)
    recipe = recipe.with_overrides(reader=opts)
    options = {k: getattr(args, k) for k in ("format", "neutral", "group_by", "no_frontalize",
                                             "anchors", "frontalization_dir", "skip_bad_files")}
    task = BatchTask("kpm", tuple(str(f) for f in landmark_files(args.inputs)), str(out),
                     func=run, options=options)
    if args.resume:
        complete, counts = is_complete(task)
        if complete:
            print(f"{out}: complete ({counts.get('kpms', '?')} KPMs from the same "
                  f"{len(task.inputs)} files and options); skipped (--resume)", file=sys.stdout)
            return 0
    scheduler = resolve_scheduler(args.scheduler)
    jobs = default_jobs() if args.jobs is None else args.jobs
    mapper = None
    if scheduler is not None or (jobs > 1 and len(task.inputs) > 1):
        def mapper(func, items):
            return map_ordered(func, items, jobs=jobs, scheduler=scheduler)

    with progress_bar("reading") as state:
        result = read_landmark_files(args.inputs, format=opts["format"], progress=state,
                                     errors="collect" if args.skip_bad_files else "raise",
                                     min_confidence=opts["min_confidence"], map_files=mapper)
    table = result.table
    if table is None:
        first = result.errors[0] if result.errors else InputError("no landmark data in the inputs")
        if len(result.errors) > 1:
            raise InputError(f"{first.message} (and {len(result.errors) - 1} more bad inputs)",
                             first.path, first.line, first.field)
        raise first
    table.notes.extend(f"skipped: {err}" for err in result.errors)

    with progress_bar("kpm") as state:
        kpm = prepare_table(table, recipe, frontalization_dir=args.frontalization_dir,
                            state=state)
    weights = kpm.meta["frontalization"]
    save_kpm(out, kpm)
    write_manifest(task, {"kpms": len(kpm), "frames": len(table)})

    n_subjects = np.unique(kpm.subject).size
    n_sequences = np.unique(np.char.add(np.char.add(kpm.subject, "\x1f"), kpm.sequence)).size
    lines = [
        f"wrote {out}: {len(kpm)} KPMs x 136",
        f"  frames read: {len(table)}, dropped: {kpm.meta['n_dropped']}",
        f"  subjects: {n_subjects}, sequences: {n_sequences}, neutral: {args.neutral} per {args.group_by}",
        f"  anchors: {args.anchors}",
        "  frontalization: " + ("off" if weights is None
                               else ", ".join(f"{k}-point" for k in weights) or "none needed"),
        f"  keypoints known: {100.0 * kpm.mask.mean():.1f} %",
    ]
    lines += [f"  note: {note}" for note in kpm.meta["notes"]]
    per_file = dict(zip(*np.unique(table.source, return_counts=True)))
    lines.append("  per input:")
    lines += [f"    {f}: {int(per_file.get(str(f), 0))} frames" for f in result.files]
    lines += [f"    FAILED: {err}" for err in result.errors]
    print("\n".join(lines), file=sys.stdout)
    return 0
