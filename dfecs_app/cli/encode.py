"""``dfecs encode MODEL INPUT... --out OUT | --out-dir DIR``: per-frame AU activations of new data.

Example::

    dfecs encode disfa_dfecs.npz clip.mp4 tracks/ --out codes.csv
    dfecs encode model.npz held_out.csv --max-active 4 --out codes.npz
    dfecs encode model.npz held_out.csv --no-frontalize --out codes.csv   # flagged mismatch
    dfecs encode model.npz videos/*.mp4 --out-dir codes/ --jobs 4 --resume  # one table each

Inputs are videos (tracked with the built-in tracker), landmark files or folders in every
reader format, or KPM NPZ files; each is prepared with the model's recipe
(:mod:`dfecs_app.core.recipe`) and encoded by :func:`dfecs_app.io.coding.code_file`. The
output (CSV, Parquet or NPZ by its suffix) has one row per frame; its columns are listed in
:mod:`dfecs_app.io.coding` and in the README.

Two output modes:

``--out FILE``
    One table of every input. Nothing is written unless every input was coded. Several
    inputs are coded on ``--jobs`` local processes or a Dask cluster (``--scheduler`` /
    ``$DFECS_SCHEDULER``); ``--resume`` skips the run when FILE is complete (same inputs,
    model and options; :mod:`dfecs_app.io.batch`).
``--out-dir DIR`` (or ``--out`` naming an existing folder)
    One table per input, ``DIR/<stem>.csv`` (``--out-format``), each written atomically by
    :func:`dfecs_app.io.coding.code_to_file` as a batch task: a bad input is one FAILED line of
    the summary and the others are written (exit status 1), ``--resume`` skips complete
    outputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from dfecs_app.cli._common import batch_arguments, progress_bar, run_batch_summary
from dfecs_app.cli.kpm import _neutral
from dfecs_app.core.landmarks import ANCHOR_CHOICES
from dfecs_app.core.recipe import NEUTRAL_PER
from dfecs_app.errors import InputError
from dfecs_app.io.batch import BatchTask, TaskResult

#: ``--out-format`` choices (the per-input tables of ``--out-dir``).
OUT_FORMATS = ("csv", "parquet", "npz")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encode",
        help="per-frame AU activations of videos, landmark files or KPM files",
        description=(
            "Code new data with an AU model (DFECS, PCA or FACS): every frame's activation "
            "of every AU, its VE and reconstruction error, a no-face flag. Inputs are "
            "prepared with the model's recipe (frontalization, anchors, neutral rule). "
            "--out FILE: one table of every input, written only if every input was coded. "
            "--out-dir DIR (or --out naming an existing folder): one table per input, "
            "DIR/<stem>.csv, as a batch: --jobs processes or a Dask cluster (--scheduler), "
            "a summary line per input, a bad input reported without stopping the others "
            "(exit status 1), --resume skipping complete outputs."),
    )
    p.add_argument("model", type=Path, help="model file (NPZ) from dfecs train / baseline")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="videos, landmark files or folders, or KPM NPZ files")
    outs = p.add_mutually_exclusive_group(required=True)
    outs.add_argument("--out", "-o", type=Path, metavar="OUT",
                      help="one table of every input: .csv, .parquet (needs pyarrow) or .npz; "
                           "an existing folder acts as --out-dir")
    outs.add_argument("--out-dir", type=Path, metavar="DIR",
                      help="one table per input, DIR/<stem>.csv (created if missing); a bad "
                           "input is one FAILED line and the others are written")
    p.add_argument("--out-format", choices=OUT_FORMATS, default=None,
                   help="format of the --out-dir tables (default csv)")
    enc = p.add_mutually_exclusive_group()
    enc.add_argument("--alpha", type=float, default=0.0,
                     help="α of eq. 3 (default 0: non-negative least squares)")
    enc.add_argument("--max-active", type=int, default=None, metavar="K",
                     help="at most K active AUs per frame (best point of the LARS path)")
    from dfecs_app.io.readers import FORMATS

    p.add_argument("--format", default=None, choices=("auto", *FORMATS), metavar="FORMAT",
                   help="landmark format (default: detected per file)")
    p.add_argument("--recipe-from", type=Path, default=None, metavar="KPM.npz",
                   help="take the preparation from this KPM file (for models without recipe)")
    g = p.add_argument_group("forcing another preparation (flagged in the output)")
    g.add_argument("--no-frontalize", dest="frontalize", action="store_const", const=False,
                   default=None, help="skip frontalization even if the model used it")
    g.add_argument("--frontalize", dest="frontalize", action="store_const", const=True,
                   help="frontalize even if the model did not")
    g.add_argument("--anchors", choices=ANCHOR_CHOICES, default=None)
    g.add_argument("--neutral", type=_neutral, default=None, metavar="first|auto|N")
    g.add_argument("--neutral-per", choices=NEUTRAL_PER, default=None)
    p.add_argument("--frontalization-dir", metavar="DIR", default=None,
                   help="folder of the frontalization weights (as dfecs kpm)")
    p.add_argument("--upsample", type=int, default=0, metavar="N",
                   help="tracker upsampling for videos (default 0)")
    batch_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dfecs_app.io.coding import EncodeOptions, load_au_model, model_recipe, output_format

    if args.jobs is not None and args.jobs < 1:
        raise InputError("must be 1 or more", field="--jobs")
    out_dir = args.out_dir
    if out_dir is None and args.out.is_dir():
        out_dir = args.out
    if out_dir is None:
        if args.out_format is not None:
            raise InputError("--out-format is for --out-dir; the --out file's suffix names "
                             "its format", args.out)
        output_format(args.out)
    else:
        if args.out_format == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise InputError("Parquet output needs pyarrow (pip install pyarrow); write "
                                 "csv or npz instead", field="--out-format") from None
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError("exists and is not a folder", out_dir, field="--out-dir")
    model, src = load_au_model(args.model)
    options = EncodeOptions(
        alpha=args.alpha, max_active=args.max_active, frontalize=args.frontalize,
        anchors=args.anchors, neutral=args.neutral, neutral_per=args.neutral_per,
        format=None if args.format in (None, "auto") else args.format,
        frontalization_dir=args.frontalization_dir, recipe_from=args.recipe_from,
        upsample=args.upsample)
    model_recipe(model, src, options.recipe_from)  # a model without recipe fails before work
    opts = {k: (str(v) if isinstance(v, Path) else v)
            for k, v in dataclasses.asdict(options).items()}
    if out_dir is not None:
        return _run_per_input(args, out_dir, args.out_format or "csv", opts)
    return _run_one_table(args, model, options, opts)


def _read_files(paths: list[str]) -> list[str]:
    """Files an input list reads (folders expanded as the readers expand them)."""
    from dfecs_app.io.readers import landmark_files

    files: list[str] = []
    for raw in paths:
        p = Path(raw)
        files += [str(f) for f in landmark_files([p])] if p.is_dir() else [str(p)]
    return files


def _model_files(args: argparse.Namespace) -> list[str]:
    return [str(args.model)] + ([str(args.recipe_from)] if args.recipe_from else [])


def _warn(source: str, notes, mismatch) -> None:
    for note in notes:
        print(f"note: {source}: {note}" if source not in note else f"note: {note}",
              file=sys.stderr)
    if mismatch:
        print(f"warning: {source}: prepared unlike the model's recipe: " + "; ".join(mismatch),
              file=sys.stderr)


def _run_one_table(args: argparse.Namespace, model, options, opts: dict) -> int:
    """Every input into one table; nothing written unless every input was coded."""
    from dfecs_app.io.batch import (
        default_jobs,
        is_complete,
        map_ordered,
        resolve_scheduler,
        write_manifest,
    )
    from dfecs_app.io.coding import clips_frame, code_file, code_path, write_codes

    task = BatchTask("encode", tuple(_model_files(args) + _read_files(args.inputs)),
                     str(args.out), func=run, options=opts)
    if args.resume:
        complete, counts = is_complete(task)
        if complete:
            print(f"{args.out}: complete ({counts.get('frames', '?')} frames from the same "
                  f"{len(args.inputs)} input(s), model and options); skipped (--resume)")
            return 0
    scheduler = resolve_scheduler(args.scheduler)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if scheduler is not None or (jobs > 1 and len(args.inputs) > 1):
        items = [(str(args.model), str(path), opts) for path in args.inputs]
        with progress_bar(f"encode {len(items)} inputs") as state:
            clips = map_ordered(code_path, items, jobs=jobs, scheduler=scheduler, state=state)
    else:
        clips = []
        for path in args.inputs:
            with progress_bar(f"encode {Path(path).name}") as state:
                clips.append(code_file(model, path, options, state=state))
    df = clips_frame(clips, model)
    write_codes(args.out, df, {"model": str(args.model)})
    n_face = int((df["no_face"] == 0).sum())
    write_manifest(task, {"frames": len(df), "faces": n_face})
    print(f"wrote {args.out}: {len(df)} frames x {model.n_components} AUs ({model.kind}), "
          f"{n_face} with a face, from {len(clips)} input(s)")
    for clip in clips:
        _warn(clip.source, clip.notes, clip.mismatch)
    return 0


def plan_outputs(inputs: list[str], out_dir: Path, fmt: str
                 ) -> tuple[list[tuple[str, list[str], Path]], list[TaskResult]]:
    """``(input, files it reads, output)`` per input, with unique output names (``stem``,
    ``stem_2``, ...), and one failed result per input that cannot be coded into ``out_dir``."""
    from dfecs_app.io.readers import landmark_files

    plan, problems, used = [], [], set()
    where = out_dir.resolve()
    for raw in inputs:
        p = Path(raw)

        def fail(message: str, p: Path = p) -> None:
            problems.append(TaskResult(str(p), "", "failed", error=str(InputError(message, p))))

        if not p.exists():
            fail("no such file or directory")
            continue
        if p.is_dir():
            files = [str(f) for f in landmark_files([p])]
            if not files:
                from dfecs_app.io.tracking import VIDEO_SUFFIXES

                videos = any(f.suffix.lower() in VIDEO_SUFFIXES for f in p.iterdir())
                fail("no landmark files in this folder" + (
                    f"; name its videos one by one ({p / '*.mp4'})" if videos else ""))
                continue
            if where == p.resolve() or p.resolve() in where.parents:
                fail("the output folder is inside this input folder; choose another --out-dir")
                continue
        else:
            files = [str(p)]
        base = p.resolve().name if p.is_dir() else p.stem
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        target = out_dir / f"{name}.{fmt}"
        if target.resolve() == p.resolve():
            fail("its output would overwrite it; choose another --out-dir")
            continue
        plan.append((str(p), files, target))
    return plan, problems


def _run_per_input(args: argparse.Namespace, out_dir: Path, fmt: str, opts: dict) -> int:
    """One table per input, as a batch (:mod:`dfecs_app.io.batch`)."""
    from dfecs_app.io.coding import code_to_file

    plan, problems = plan_outputs(args.inputs, out_dir, fmt)
    if plan:
        out_dir.mkdir(parents=True, exist_ok=True)
    model_files = _model_files(args)
    tasks = [BatchTask(name=path, inputs=tuple(model_files + files), output=str(target),
                       func=code_to_file, args=(str(args.model), path, str(target), opts),
                       options={**opts, "model": str(args.model)})
             for path, files, target in plan]
    results = run_batch_summary(tasks, args, "encode", failed=problems)
    for r in results:
        if r.status != "failed":
            _warn(r.name, r.counts.get("notes", []), r.counts.get("mismatch", []))
    return 1 if any(r.status == "failed" for r in results) else 0
