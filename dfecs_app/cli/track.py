"""``dfecs track``: 68-point landmark tracks of the user's own videos and images.

Each video is one sequence; still images named on the command line form one sequence (in
the order given), and the images of a directory form one sequence (natural name order; its
videos are sequences of their own). With one sequence ``--out`` is the CSV file (or an existing
directory); with several it is a directory receiving ``<sequence>.csv`` per sequence. Every CSV
is written atomically once its sequence is tracked, and is a valid input of ``dfecs kpm``.

Several sequences are a batch (:mod:`dfecs_app.io.batch`): ``--jobs`` local processes or a
Dask cluster (``--scheduler`` / ``$DFECS_SCHEDULER``), ``--resume`` skips complete outputs, a
bad input is one line of the summary and the others carry on (exit status 1 if any failed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dfecs_app.cli._common import batch_arguments, bounded_int, progress_bar, run_batch_cli
from dfecs_app.errors import InputError
from dfecs_app.io.batch import BatchTask, TaskResult, is_complete, write_manifest
from dfecs_app.io.licences import PREDICTOR_NOTICE
from dfecs_app.io.readers._naming import natural_key
from dfecs_app.io.schema import LIMITS
from dfecs_app.io.tracking import (
    DETECT_MODES,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    track_to_csv,
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
        epilog=PREDICTOR_NOTICE,
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_IMAGES",
                   help="video files, image files (png/jpg/ppm/...) or directories of them")
    p.add_argument("--out", required=True, type=Path,
                   help="output CSV (one sequence) or directory (several sequences)")
    p.add_argument("--upsample", type=bounded_int(0, LIMITS.upsample, "each step doubles the image's width and height"),
                   default=0, metavar="N",
                   help="detector upsampling: raise to find small faces (slower; default 0)")
    p.add_argument("--detect", choices=DETECT_MODES, default="track",
                   help="videos: 'track' (default) detects the face once and propagates it, "
                        "re-detecting periodically and when the tracked shape degrades (adds "
                        "a 'propagated' column); 'every-frame' runs the detector on every "
                        "frame (about 4x slower; the reference behaviour)")
    batch_arguments(p)
    p.set_defaults(func=run)


def plan_sequences(inputs: list[str]) -> tuple[list[tuple[str, Path | list[Path], str | None]],
                                               list[TaskResult]]:
    """Sequences in input order, ``(kind, what, name)``: ('video', path, None) or
    ('images', [paths], directory name or None); and one failed result per input that
    cannot be tracked (missing path, a folder without videos or images, a file in a folder
    that is neither)."""
    seqs: list = []
    problems: list[TaskResult] = []
    loose: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")),
                           key=natural_key)
            images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
            if not images and not videos:
                problems.append(_failed(p, "no videos or images in this directory"))
                continue
            if images:
                seqs.append(("images", images, p.resolve().name))
            seqs.extend(("video", v, None) for v in videos)
            problems.extend(_failed(f, "neither a video nor an image (by its extension); skipped")
                            for f in files if f not in images and f not in videos)
        elif not p.exists():
            problems.append(_failed(p, "no such file or directory"))
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            if not loose:
                seqs.append(("images", loose, None))
            loose.append(p)
        else:
            seqs.append(("video", p, None))
    return seqs, problems


def _failed(path: Path, message: str) -> TaskResult:
    return TaskResult(str(path), "", "failed", error=str(InputError(message, path)))


def _sequence_name(kind: str, what, name: str | None) -> str:
    if kind == "video":
        return what.stem
    return name or (what[0].parent.resolve().name if len(what) > 1 else what[0].stem)


def make_tasks(seqs, out: Path, to_dir: bool, args: argparse.Namespace) -> list[BatchTask]:
    """One batch task per sequence, with unique output names (``name``, ``name_2``, ...)."""
    used: set[str] = set()
    tasks = []
    for kind, what, name in seqs:
        target = out
        if to_dir:
            base = _sequence_name(kind, what, name)
            fname, k = base, 2
            while fname in used:
                fname, k = f"{base}_{k}", k + 1
            used.add(fname)
            target = out / f"{fname}.csv"
        files = [str(what)] if kind == "video" else [str(f) for f in what]
        label = files[0] if kind == "video" or len(files) == 1 else (
            str(what[0].parent) if name else f"{files[0]} (+{len(files) - 1} images)")
        detect = args.detect if kind == "video" else "every-frame"
        tasks.append(BatchTask(
            name=label, inputs=tuple(files), output=str(target), func=track_to_csv,
            args=(kind, files[0] if kind == "video" else files, str(target)),
            kwargs={"name": name, "upsample": args.upsample, "detect": detect},
            options={"kind": kind, "upsample": args.upsample, "detect": detect, "name": name}))
    return tasks


def run(args: argparse.Namespace) -> int:
    seqs, problems = plan_sequences(args.inputs)
    out: Path = args.out
    several = len(seqs) + len(problems) > 1
    if several and out.suffix.lower() == ".csv":
        raise InputError(f"{len(seqs) + len(problems)} inputs to track: give a directory, not a "
                         ".csv file", out, field="--out")
    if several and out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", out, field="--out")
    if args.upsample < 0:
        raise InputError("must be 0 or more", field="--upsample")
    if not seqs:
        if len(problems) == 1:
            raise InputError(problems[0].error)
        for r in problems:
            print(r.line(), file=sys.stderr)
        raise InputError("nothing to track")
    tasks = make_tasks(seqs, out, several or out.is_dir(), args)
    if not several:  # one sequence: its error is the command's error
        task = tasks[0]
        if args.resume and is_complete(task)[0]:
            print(f"{task.output}: complete; skipped (--resume)", file=sys.stderr)
            return 0
        with progress_bar(f"track {Path(task.name).name}"):
            counts = task.func(*task.args, **task.kwargs)
        write_manifest(task, counts)  # as a batch would: --resume and the GUI know it
        print(f"wrote {task.output}: {counts['frames']} frames, face found in {counts['faces']}",
              file=sys.stderr)
        return 0
    return run_batch_cli(tasks, args, "track", failed=problems)
