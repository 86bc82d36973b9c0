"""``dfecs track``: 68-point landmark tracks of the user's own videos and images.

Each video is one sequence; still images named on the command line form one sequence (in
the order given), and the images of a directory form one sequence (natural name order; its
videos are sequences of their own). With one sequence ``--out`` is the CSV file (or an existing
directory); with several it is a directory receiving ``<sequence>.csv`` per sequence. Every CSV is written atomically
once its sequence is tracked, and is a valid input of ``dfecs kpm``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dfecs_app.cli._common import bounded_int, progress_bar
from dfecs_app.errors import InputError
from dfecs_app.io.readers._naming import natural_key
from dfecs_app.io.schema import LIMITS
from dfecs_app.io.tracking import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    track_images,
    track_video,
    write_track_csv,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "track",
        help="track 68 facial landmarks in videos or images (dlib)",
        description=(
            "Track 68 facial landmarks (dlib) in videos or images. Each video is one sequence; "
            "images given together, or the images of one directory, form one sequence. With one "
            "sequence --out is the CSV file, with several a directory of <sequence>.csv files. "
            "The CSVs are valid inputs of 'dfecs kpm'."),
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_IMAGES",
                   help="video files, image files (png/jpg/ppm/...) or directories of them")
    p.add_argument("--out", required=True, type=Path,
                   help="output CSV (one sequence) or directory (several sequences)")
    p.add_argument("--upsample", type=bounded_int(0, LIMITS.upsample, "each step doubles the image's width and height"),
                   default=0, metavar="N",
                   help="detector upsampling: raise to find small faces (slower; default 0)")
    p.set_defaults(func=run)


def plan_sequences(inputs: list[str]) -> list[tuple[str, Path | list[Path], str | None]]:
    """(kind, what, name) per sequence, in input order: ('video', path, None) or
    ('images', [paths], directory name or None)."""
    seqs: list = []
    loose: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")),
                           key=natural_key)
            images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
            if not images and not videos:
                raise InputError("no videos or images in this directory", p)
            if images:
                seqs.append(("images", images, p.resolve().name))
            seqs.extend(("video", v, None) for v in videos)
        elif not p.exists():
            raise InputError("no such file or directory", p)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            if not loose:
                seqs.append(("images", loose, None))
            loose.append(p)
        else:
            seqs.append(("video", p, None))
    return seqs


def run(args: argparse.Namespace) -> int:
    seqs = plan_sequences(args.inputs)
    out: Path = args.out
    several = len(seqs) > 1
    if several and out.suffix.lower() == ".csv":
        raise InputError(f"{len(seqs)} sequences to track: give a directory, not a .csv file",
                         out, field="--out")
    if several and out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", out, field="--out")
    if args.upsample < 0:
        raise InputError("must be 0 or more", field="--upsample")
    to_dir = several or out.is_dir()
    used: set[str] = set()
    for kind, what, name in seqs:
        desc = what.name if kind == "video" else f"{len(what)} images"
        with progress_bar(f"track {desc}") as state:
            if kind == "video":
                track = track_video(what, state, upsample=args.upsample)
            else:
                track = track_images(what, state, upsample=args.upsample, name=name)
        target = out
        if to_dir:
            fname, k = track.name, 2
            while fname in used:
                fname, k = f"{track.name}_{k}", k + 1
            used.add(fname)
            target = out / f"{fname}.csv"
        write_track_csv(target, track)
        n_face = int(track.detected.sum())
        print(f"wrote {target}: {len(track)} frames, face found in {n_face}", file=sys.stderr)
        for note in track.notes:
            print(f"note: {note}", file=sys.stderr)
    return 0
