"""``dfecs baseline pca|facs``: the PCA and keypoint-FACS baseline AU models (§3.1–3.2).

``dfecs baseline pca KPM.npz --ve 95 --out PCA.npz``
    Uncentered PCA of the KPMs; the smallest number of PCs whose ``[U, −U]`` positive
    encoding reaches the VE(train) target.

``dfecs baseline pca KPM.npz --n-components 8 --out PCA.npz``
    A fixed number of PCs (8 PCs = 16 AUs, as Table 2 rates), named ``Component i (+ve)`` /
    ``Component i (-ve)``.

``dfecs baseline facs AUS.csv|AUS.npz --out FACS.npz``
    AU KPM vectors given by the user (CSV of named 136-vectors, NPZ of named vectors or a
    linear AU landmark model posed at ``--intensity`` units), read by
    :func:`dfecs_app.io.au_vectors.read_au_file` (the formats are described there).

``dfecs baseline facs --from-landmarks NEUTRAL.pts APEX1.pts ... --out FACS.npz``
    The paper's recipe: a neutral face and one apex face per AU (AU names = apex file names),
    standardized with frontalization unless ``--no-frontalization``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dfecs_app.cli._common import bounded_int, finite_float, npz_output, progress_bar
from dfecs_app.core.aumodel import AUModel, data_hash
from dfecs_app.core.baselines import DEFAULT_APEX_INTENSITY, facs_aus_from_landmarks, pca_aus
from dfecs_app.core.recipe import Recipe, attach_recipe
from dfecs_app.errors import InputError
from dfecs_app.io.au_vectors import read_au_file
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.model_file import save_model
from dfecs_app.io.schema import LIMITS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("baseline", help="build PCA or keypoint-FACS baseline AU models")
    sub = p.add_subparsers(dest="baseline", metavar="KIND")
    sub.required = True

    pca = sub.add_parser("pca", help="PCA AUs [U, -U] at a target VE(train)",
                         description="Uncentered PCA AUs [U, -U] reaching --ve percent "
                                     "VE(train) with positive encodings.")
    pca.add_argument("kpm", type=Path, help="training KPM file (NPZ)")
    size = pca.add_mutually_exclusive_group()
    size.add_argument("--ve", type=finite_float(0.0, 100.0, low_open=True), default=95.0,
                      help="target VE(train) in %% (default 95)")
    size.add_argument("--n-components", type=bounded_int(1, 68), metavar="N",
                      help="number of principal components instead of a VE target: N PCs "
                           "give 2N AUs (Table 2: --n-components 8 -> 16 AUs)")
    pca.add_argument("--out", type=Path, required=True, help="model file to write (NPZ)")
    pca.set_defaults(func=run_pca)

    facs = sub.add_parser("facs", help="keypoint FACS AUs from AU vectors or apex landmarks",
                          description="Keypoint FACS AUs from a CSV/NPZ of named 136-vectors "
                                      "(name, x_0..x_67, y_0..y_67), an NPZ AU landmark model "
                                      "(zero_xy + delta_xy, posed at --intensity), or a neutral "
                                      "plus one apex landmark file per AU (--from-landmarks).")
    facs.add_argument("aus", type=Path, nargs="?",
                      help="CSV or NPZ of named AU KPM vectors, or an NPZ AU landmark model")
    facs.add_argument("--from-landmarks", type=Path, nargs="+", metavar="PTS",
                      help="neutral landmark file, then one apex landmark file per AU")
    facs.add_argument("--intensity", type=finite_float(0.0, LIMITS.magnitude, low_open=True), default=DEFAULT_APEX_INTENSITY,
                      help="apex intensity for an NPZ landmark model (default %(default)s)")
    facs.add_argument("--no-frontalization", action="store_true",
                      help="skip landmark frontalization (--from-landmarks)")
    facs.add_argument("--out", type=Path, required=True, help="model file to write (NPZ)")
    facs.set_defaults(func=run_facs)


def run_pca(args: argparse.Namespace) -> int:
    npz_output(args.out)
    kpm = load_kpm(args.kpm)
    with progress_bar("pca") as state:
        state.report("pca", 0.0, "principal components", force=True)
        try:
            model = pca_aus(kpm.X, ve=args.ve, mask=kpm.mask, n_components=args.n_components)
        except InputError as err:
            raise InputError(err.message, args.kpm, field=err.field) from None
        state.report("pca", 1.0, "done", force=True)
    model.meta["training_data"] = str(args.kpm)
    attach_recipe(model.meta, kpm.meta)
    save_model(args.out, model)
    target = (f"{args.n_components} PCs requested" if args.n_components is not None
              else f"target {args.ve:g} %")
    print(f"PCA AUs: {model.meta['n_pcs']} principal components -> {model.n_components} AUs "
          f"[U, -U], VE(train) {model.meta['ve_train']:.2f} % ({target}) -> {args.out}")
    return 0


def _landmarks_model(paths: list[Path], frontalize: bool) -> AUModel:
    from dfecs_app.io.readers import read_landmarks

    if len(paths) < 2:
        raise InputError("--from-landmarks needs a neutral file and at least one apex file")
    pts = []
    for p in paths:
        table = read_landmarks(p)
        if len(table) != 1:
            raise InputError(f"expected one face, found {len(table)} frames", p)
        if not table.mask[0].all():
            raise InputError("all 68 landmarks are needed for a FACS AU", p)
        pts.append(table.points[0])
    weights = None
    if frontalize:
        from dfecs_app.io.frontalization_weights import load_frontalization_weights

        weights = load_frontalization_weights("68")
    apex = {p.stem: q for p, q in zip(paths[1:], pts[1:])}
    if len(apex) != len(paths) - 1:
        raise InputError("apex files must have distinct names (the names become AU names)")
    recipe = Recipe(frontalize=frontalize,
                    frontalization=None if weights is None else {"68": weights.sha256})
    return facs_aus_from_landmarks(pts[0], apex, frontalization=weights,
                                   meta={"neutral": str(paths[0]),
                                         "apex": [str(p) for p in paths[1:]],
                                         "recipe": recipe.to_dict()})


def run_facs(args: argparse.Namespace) -> int:
    if (args.aus is None) == (args.from_landmarks is None):
        raise InputError("give either an AU file (CSV/NPZ) or --from-landmarks NEUTRAL APEX...")
    npz_output(args.out)
    if args.from_landmarks is not None:
        model = _landmarks_model(list(args.from_landmarks), not args.no_frontalization)
    else:
        model = read_au_file(args.aus, args.intensity)
        # AU vectors carry no preparation: the app's default recipe is assumed
        model.meta.setdefault("recipe", Recipe().to_dict())
        model.meta.setdefault("recipe_note", "assumed: the AU vectors do not record how "
                                             "their KPMs were prepared")
    model.meta.setdefault("components_hash", data_hash(model.components))
    save_model(args.out, model)
    print(f"FACS AUs: {model.n_components} AUs ({', '.join(model.names[:4])}"
          f"{', ...' if model.n_components > 4 else ''}) -> {args.out}")
    return 0
