"""``dfecs morph MODEL IMAGE --landmarks PTS_OR_CSV --out DIR``: the projected AU images of a
model on a neutral face (SI 7.1), one PNG per AU and ``projected_aus.json``.

Scale: ``--intensity X`` in the shared unit (:mod:`dfecs_app.core.intensity`: 1 = the AU's
95th-percentile activation in the training data; taken from the model, from ``--kpm`` when
the model has no statistics, else the stated fallback), or ``--max-move F`` (each AU scaled
so that its largest keypoint move is F × the face width: equal visual magnitude, for figures).
The images are made by the functions the GUI's Projected AU images panel calls
(:func:`dfecs_app.render.morph.try_morph`, :func:`~dfecs_app.render.morph.write_projected_set`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dfecs_app.cli._common import progress_bar
from dfecs_app.errors import InputError


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "morph", help="projected AU images of a model on a neutral face",
        description="Morph a neutral face image by every AU of a model (pychubby): one PNG per "
                    "AU, named from the AU names, and projected_aus.json stating the intensity, "
                    "its unit and each AU's scale.")
    p.add_argument("model", type=Path, metavar="MODEL.npz", help="AU model (dfecs train/baseline)")
    p.add_argument("image", type=Path, metavar="IMAGE", help="neutral face image")
    p.add_argument("--landmarks", type=Path, required=True, metavar="PTS_OR_CSV",
                   help="its 68 landmarks (.pts, CSV or any format `dfecs kpm` reads; first frame)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--intensity", type=_positive, default=None, metavar="X",
                       help="intensity in units of the AU's 95th-percentile training activation "
                            "(default 1: a typical strong occurrence)")
    scale.add_argument("--max-move", type=_positive, default=None, metavar="F",
                       help="scale each AU so its largest keypoint move is F x the face width")
    p.add_argument("--kpm", type=Path, default=None, metavar="KPM.npz",
                   help="training KPMs to compute the intensity unit from when the model has "
                        "no activation statistics")
    p.set_defaults(func=run)


def _read_face(image_path: Path, landmarks_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from dfecs_app.io.images import read_image
    from dfecs_app.io.readers import read_landmarks

    image = read_image(image_path)
    table = read_landmarks([str(landmarks_path)])
    if not len(table):
        raise InputError("no landmarks in this file", landmarks_path)
    missing = np.flatnonzero(~table.mask[0])
    if len(missing):
        raise InputError(f"the neutral face needs all 68 landmarks; missing: "
                         f"{', '.join(str(i) for i in missing[:10])}", landmarks_path)
    return image, np.asarray(table.points[0], dtype=np.float64)


def run(args: argparse.Namespace) -> int:
    from dfecs_app.core.face_check import check_neutral_face
    from dfecs_app.core.intensity import DEFAULT_INTENSITY, intensity_unit
    from dfecs_app.core.projection import max_move_intensity
    from dfecs_app.io.model_file import load_model
    from dfecs_app.render.morph import (
        MorphCache,
        check_morph_input,
        describe_projected,
        load_pychubby,
        try_morph,
        write_projected_set,
    )

    model = load_model(args.model)
    image, points = _read_face(args.image, args.landmarks)
    problems = check_neutral_face(points, image.shape)
    try:
        check_morph_input(image, points)
    except InputError as err:  # the face itself: one line, nothing written
        raise InputError(err.message, args.landmarks) from None
    for line in problems:
        print(f"dfecs morph: warning: {args.landmarks}: {line}", file=sys.stderr)
    X = mask = None
    kpm_name = "the KPMs"
    if args.kpm is not None:
        from dfecs_app.io.kpm_file import load_kpm

        kpm = load_kpm(args.kpm)
        X, mask, kpm_name = kpm.X, kpm.mask, str(args.kpm)
    unit = intensity_unit(model.components, model.meta, X, mask, kpm_name=kpm_name)
    if args.max_move is not None:
        scales = max_move_intensity(points, model.components, args.max_move)
        intensity = None
    else:
        intensity = DEFAULT_INTENSITY if args.intensity is None else args.intensity
        scales = unit.scales(intensity)
    load_pychubby()
    cache = MorphCache(max_items=1)
    images, results, failures = {}, {}, {}
    with progress_bar("morph", total=1.0) as state:
        for c in range(model.n_components):
            state.report("morph", c / model.n_components, model.names[c], force=True)
            result, error = try_morph(image, points, model.components[c], float(scales[c]), cache)
            if error is not None:
                failures[c] = error
            else:
                images[c], results[c] = np.asarray(result.image), result
        state.report("morph", 1.0, "done", force=True)
    desc = describe_projected(list(model.names), scales, results, failures, intensity=intensity,
                              unit=unit, max_move=args.max_move)
    desc.update({"model": str(args.model), "image": str(args.image),
                 "landmarks": str(args.landmarks), "face_problems": problems})
    write_projected_set(args.out, images, list(model.names), desc)
    how = (f"largest keypoint move {args.max_move:g} x face width" if args.max_move is not None
           else f"intensity {intensity:g} ({unit.definition})")
    print(f"wrote {len(images)} projected AU images to {args.out} ({how})")
    for c, r in results.items():
        for note in r.notes():
            print(f"  {model.names[c]}: {note}")
    for c, reason in failures.items():
        print(f"dfecs morph: error: {model.names[c]}: {reason}", file=sys.stderr)
    return 2 if failures else 0
