"""``dfecs encode MODEL INPUT... --out OUT``: per-frame AU activations of new data.

Example::

    dfecs encode disfa_dfecs.npz clip.mp4 tracks/ --out codes.csv
    dfecs encode model.npz held_out.csv --max-active 4 --out codes.npz
    dfecs encode model.npz held_out.csv --no-frontalize --out codes.csv   # flagged mismatch

Inputs are videos (tracked with the built-in tracker), landmark files or folders in every
reader format, or KPM NPZ files; each is prepared with the model's recipe
(:mod:`dfecs_app.core.recipe`) and encoded by :func:`dfecs_app.io.coding.code_file`. The
output (CSV, Parquet or NPZ by its suffix) has one row per frame; its columns are listed in
:mod:`dfecs_app.io.coding` and in the README. Nothing is written unless every input was coded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dfecs_app.cli._common import progress_bar
from dfecs_app.cli.kpm import _neutral
from dfecs_app.core.landmarks import ANCHOR_CHOICES
from dfecs_app.core.recipe import NEUTRAL_PER


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encode",
        help="per-frame AU activations of videos, landmark files or KPM files",
        description=(
            "Code new data with an AU model (DFECS, PCA or FACS): every frame's activation "
            "of every AU, its VE and reconstruction error, a no-face flag. Inputs are "
            "prepared with the model's recipe (frontalization, anchors, neutral rule)."),
    )
    p.add_argument("model", type=Path, help="model file (NPZ) from dfecs train / baseline")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="videos, landmark files or folders, or KPM NPZ files")
    p.add_argument("--out", "-o", required=True, type=Path, metavar="OUT",
                   help="output table: .csv (default format), .parquet (needs pyarrow) or .npz")
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dfecs_app.io.coding import (
        EncodeOptions,
        clips_frame,
        code_file,
        load_au_model,
        model_recipe,
        output_format,
        write_codes,
    )

    output_format(args.out)
    model, src = load_au_model(args.model)
    options = EncodeOptions(
        alpha=args.alpha, max_active=args.max_active, frontalize=args.frontalize,
        anchors=args.anchors, neutral=args.neutral, neutral_per=args.neutral_per,
        format=None if args.format in (None, "auto") else args.format,
        frontalization_dir=args.frontalization_dir, recipe_from=args.recipe_from,
        upsample=args.upsample)
    model_recipe(model, src, options.recipe_from)
    clips = []
    for path in args.inputs:
        with progress_bar(f"encode {Path(path).name}") as state:
            clips.append(code_file(model, path, options, state=state))
    df = clips_frame(clips, model)
    write_codes(args.out, df, {"model": str(args.model)})
    n_face = int((df["no_face"] == 0).sum())
    print(f"wrote {args.out}: {len(df)} frames x {model.n_components} AUs ({model.kind}), "
          f"{n_face} with a face, from {len(clips)} input(s)")
    for clip in clips:
        for note in clip.notes:
            print(f"note: {note}", file=sys.stderr)
        if clip.mismatch:
            print(f"warning: {clip.source}: prepared unlike the model's recipe: "
                  + "; ".join(clip.mismatch), file=sys.stderr)
    return 0
