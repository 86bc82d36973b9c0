"""``dfecs baseline pca|facs``: the PCA and keypoint-FACS baseline AU models (§3.1–3.2).

``dfecs baseline pca KPM.npz --ve 95 --out PCA.npz``
    Uncentered PCA of the KPMs; the smallest number of PCs whose ``[U, −U]`` positive
    encoding reaches the VE(train) target.

``dfecs baseline facs AUS.csv|AUS.npz --out FACS.npz``
    AU KPM vectors given by the user. CSV: one AU per line, its name then 136 numbers
    ``[x0..x67, y0..y67]``; or a header row naming the columns ``name,x_0..x_67,y_0..y_67``
    (any order). NPZ: ``vectors`` (or ``components``) ``(q, 136)`` with ``names``; or a linear
    landmark model ``zero_xy`` (68, 2) + ``delta_xy`` (q, 68, 2) (py-feat's 2021 AU tables;
    ``au_columns``/``names`` optional) or ``neutral_xy`` + ``delta_xy`` (y up), posed at
    ``--intensity`` units and standardized like KPMs.

``dfecs baseline facs --from-landmarks NEUTRAL.pts APEX1.pts ... --out FACS.npz``
    The paper's recipe: a neutral face and one apex face per AU (AU names = apex file names),
    standardized with frontalization unless ``--no-frontalization``.
"""

from __future__ import annotations

import argparse
import csv
import zipfile
from pathlib import Path

import numpy as np

from dfecs_app.cli._common import progress_bar
from dfecs_app.core.aumodel import AUModel, data_hash
from dfecs_app.core.baselines import (
    DEFAULT_APEX_INTENSITY,
    PYFEAT_2021_AUS,
    facs_aus_from_displacements,
    facs_aus_from_landmarks,
    facs_aus_from_vectors,
    pca_aus,
    pyfeat_au_names,
)
from dfecs_app.core.landmarks import N_FEATURES, N_POINTS
from dfecs_app.errors import InputError
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.model_file import save_model


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("baseline", help="build PCA or keypoint-FACS baseline AU models")
    sub = p.add_subparsers(dest="baseline", metavar="KIND")
    sub.required = True

    pca = sub.add_parser("pca", help="PCA AUs [U, -U] at a target VE(train)",
                         description="Uncentered PCA AUs [U, -U] reaching --ve percent "
                                     "VE(train) with positive encodings.")
    pca.add_argument("kpm", type=Path, help="training KPM file (NPZ)")
    pca.add_argument("--ve", type=float, default=95.0, help="target VE(train) in %% (default 95)")
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
    facs.add_argument("--intensity", type=float, default=DEFAULT_APEX_INTENSITY,
                      help="apex intensity for an NPZ landmark model (default %(default)s)")
    facs.add_argument("--no-frontalization", action="store_true",
                      help="skip landmark frontalization (--from-landmarks)")
    facs.add_argument("--out", type=Path, required=True, help="model file to write (NPZ)")
    facs.set_defaults(func=run_facs)


def run_pca(args: argparse.Namespace) -> int:
    kpm = load_kpm(args.kpm)
    with progress_bar("pca") as state:
        state.report("pca", 0.0, "principal components", force=True)
        try:
            model = pca_aus(kpm.X, ve=args.ve, mask=kpm.mask)
        except InputError as err:
            raise InputError(err.message, args.kpm, field=err.field) from None
        state.report("pca", 1.0, "done", force=True)
    model.meta["training_data"] = str(args.kpm)
    save_model(args.out, model)
    print(f"PCA AUs: {model.meta['n_pcs']} principal components -> {model.n_components} AUs "
          f"[U, -U], VE(train) {model.meta['ve_train']:.2f} % (target {args.ve:g} %) -> "
          f"{args.out}")
    return 0


# ---------------------------------------------------------------------------------------------
# FACS AU inputs
# ---------------------------------------------------------------------------------------------
def _header_columns(header: list[str], path: Path) -> tuple[int, np.ndarray]:
    """Name column and the 136 value columns in [x0..x67, y0..y67] order from a header."""
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    order = []
    for axis in ("x", "y"):
        for i in range(N_POINTS):
            key = f"{axis}_{i}"
            if key not in cols:
                raise InputError(f"header lacks column {key!r}", path, line=1, field=key)
            order.append(cols[key])
    name_col = next((cols[k] for k in ("name", "au", "label") if k in cols), 0)
    if name_col in order:
        raise InputError("header has no name column", path, line=1)
    return name_col, np.asarray(order)


def read_au_csv(path: Path) -> tuple[np.ndarray, list[str]]:
    """Read named AU vectors from a CSV (see module docstring)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [(i + 1, r) for i, r in enumerate(csv.reader(fh)) if r and any(c.strip() for c in r)]
    except UnicodeDecodeError as err:
        raise InputError(f"not a text CSV file ({err.reason})", path) from None
    if not rows:
        raise InputError("empty file", path)
    name_col, order = 0, np.arange(1, N_FEATURES + 1)
    first_line, first = rows[0]
    try:
        [float(c) for c in first[1:]]
        header = False
    except ValueError:
        header = True
    if header:
        name_col, order = _header_columns(first, path)
        rows = rows[1:]
    vectors, names = [], []
    for line, row in rows:
        if len(row) <= int(order.max()):
            raise InputError(f"expected a name and {N_FEATURES} numbers, got {len(row)} fields",
                             path, line=line)
        try:
            vals = np.array([float(row[j]) for j in order])
        except ValueError as err:
            raise InputError(f"not a number ({err})", path, line=line) from None
        if not np.isfinite(vals).all():
            raise InputError("NaN or inf value", path, line=line)
        names.append(row[name_col].strip())
        vectors.append(vals)
    if not vectors:
        raise InputError("no AU rows", path)
    return np.asarray(vectors), names


def _names_from(npz, key_options: tuple[str, ...], q: int, default: list[str]) -> list[str]:
    for key in key_options:
        if key in npz.files:
            names = [str(s) for s in np.asarray(npz[key]).ravel()]
            if len(names) == q:
                return names
    return default


def read_au_npz(path: Path, intensity: float) -> AUModel:
    """An AU model from an NPZ of named vectors or of a linear AU landmark model."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise InputError("no such file", path) from None
        raise InputError(f"not a readable NPZ file ({err})", path) from None
    with npz:
        files = set(npz.files)
        try:
            if "vectors" in files or "components" in files:
                key = "vectors" if "vectors" in files else "components"
                vec = np.asarray(npz[key], dtype=np.float64)
                names = _names_from(npz, ("names",), vec.shape[0] if vec.ndim == 2 else -1,
                                    [f"AU {i + 1}" for i in range(len(vec))])
                model = facs_aus_from_vectors(vec, names, meta={"source": str(path)})
            elif "delta_xy" in files and ("zero_xy" in files or "neutral_xy" in files):
                y_up = "zero_xy" not in files
                neutral = np.asarray(npz["neutral_xy" if y_up else "zero_xy"], dtype=np.float64)
                delta = np.asarray(npz["delta_xy"], dtype=np.float64)
                q = delta.shape[0] if delta.ndim == 3 else -1
                default = (pyfeat_au_names(PYFEAT_2021_AUS) if q == len(PYFEAT_2021_AUS)
                           else [f"AU {i + 1}" for i in range(max(q, 0))])
                names = _names_from(npz, ("au_columns", "names"), q, default)
                model = facs_aus_from_displacements(
                    neutral, delta, names, intensity=intensity, y_up=y_up,
                    meta={"source": str(path)})
            else:
                raise InputError("expected arrays 'vectors' + 'names', or 'zero_xy'/'neutral_xy'"
                                 " + 'delta_xy'", path)
        except InputError as err:
            if err.path is None:
                raise InputError(err.message, path, field=err.field) from None
            raise
        except ValueError as err:  # pickled (object) arrays refused by allow_pickle=False
            raise InputError(f"unreadable array ({err})", path) from None
    return model


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
    return facs_aus_from_landmarks(pts[0], apex, frontalization=weights,
                                   meta={"neutral": str(paths[0]),
                                         "apex": [str(p) for p in paths[1:]]})


def run_facs(args: argparse.Namespace) -> int:
    if (args.aus is None) == (args.from_landmarks is None):
        raise InputError("give either an AU file (CSV/NPZ) or --from-landmarks NEUTRAL APEX...")
    if args.from_landmarks is not None:
        model = _landmarks_model(list(args.from_landmarks), not args.no_frontalization)
    elif args.aus.suffix.lower() == ".npz":
        model = read_au_npz(args.aus, args.intensity)
    else:
        vectors, names = read_au_csv(args.aus)
        try:
            model = facs_aus_from_vectors(vectors, names, meta={"source": str(args.aus)})
        except InputError as err:
            raise InputError(err.message, args.aus, field=err.field) from None
    model.meta.setdefault("components_hash", data_hash(model.components))
    save_model(args.out, model)
    print(f"FACS AUs: {model.n_components} AUs ({', '.join(model.names[:4])}"
          f"{', ...' if model.n_components > 4 else ''}) -> {args.out}")
    return 0
