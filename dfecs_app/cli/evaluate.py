"""``dfecs evaluate MODEL.npz KPM.npz``: VE, VE vs k and VE vs L1 of one model on one KPM set.

Without options it prints the VE of the NNLS encoding (pooled, §3.4), the mean per-sample VE,
and both curves as tables. ``--json`` prints exactly one JSON object on stdout::

    {"ve": float, "ve_vs_k": [[k, ve], ...], "ve_vs_l1": [[l1, ve], ...], "n_samples": int}

``--curves`` writes both curves (both averages) as CSV, ``--plot`` a figure in the style of
Fig. 5/7 and SI Fig. 2 (log x axes; PNG, SVG or PDF by the suffix,
:func:`dfecs_app.render.curves.plot_curves`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dfecs_app.cli._common import bounded_int, finite_float, progress_bar
from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.evaluation import AVERAGES, DEFAULT_L1_GRID, EvaluationResult, evaluate_model
from dfecs_app.errors import InputError
from dfecs_app.io.atomic import check_output_path, write_files_atomic
from dfecs_app.io.evaluation_file import curves_csv
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.model_file import load_model
from dfecs_app.io.schema import LIMITS, check_bytes


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="variance explained of an AU model on a KPM set (VE, VE vs k, VE vs L1)",
        description="Encode every KPM of a set on the model's AUs by the full non-negative "
                    "LARS-lasso path and report the VE of the NNLS encoding, VE vs the number "
                    "of active AUs k (Fig. 5/7) and VE vs the L1 norm of the encoding "
                    "(SI Fig. 2). Curves are means of per-sample VE unless --average pooled.",
    )
    p.add_argument("model", type=Path, help="model file (NPZ) from dfecs train / baseline")
    p.add_argument("kpm", type=Path, help="KPM file (NPZ) from dfecs kpm")
    add_curve_options(p)
    p.add_argument("--alpha", type=finite_float(0.0), default=None,
                   help="report VE of the eq.-4 encoding at this α instead of NNLS (α = 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--curves", type=Path, metavar="CSV", help="write both curves as CSV")
    p.add_argument("--plot", type=Path, metavar="FIG",
                   help="plot both curves (log x axes) as .png, .svg or .pdf")
    p.set_defaults(func=run)


def add_curve_options(p: argparse.ArgumentParser) -> None:
    """Options shared with ``dfecs compare``."""
    p.add_argument("--average", choices=AVERAGES, default="mean",
                   help="curve average: mean of per-sample VE (paper, default) or pooled")
    p.add_argument("--l1-max", type=finite_float(1.0, LIMITS.magnitude, low_open=True),
                   default=1000.0,
                   help="largest L1 norm of the VE-vs-L1 curve (default 1000, as SI Fig. 2)")
    p.add_argument("--l1-points", type=bounded_int(2, LIMITS.l1_points), default=61,
                   help="log-spaced L1 values from 1 to --l1-max (plus 0); default 61")


def l1_grid_from(args: argparse.Namespace) -> np.ndarray:
    if not args.l1_max > 1.0 or args.l1_points < 2:
        raise InputError("--l1-max must be > 1 and --l1-points >= 2")
    from dfecs_app.core.evaluation import _CHUNK

    check_bytes(3 * 8 * _CHUNK * (args.l1_points + 1), f"--l1-points {args.l1_points}",
                field="--l1-points")
    if args.l1_max == 1000.0 and args.l1_points == 61:
        return DEFAULT_L1_GRID
    return np.concatenate([[0.0], np.logspace(0.0, np.log10(args.l1_max), args.l1_points)])


def evaluate_file(model: AUModel, model_name: str, kpm_path: Path, *, alpha: float | None,
                  l1_grid: np.ndarray, average: str) -> EvaluationResult:
    """Load one KPM file and evaluate ``model`` on it, with a progress bar."""
    kpm = load_kpm(kpm_path)
    try:
        with progress_bar(f"{model_name} on {kpm_path.name}") as state:
            return evaluate_model(model, kpm.X, kpm.mask, alpha=alpha, l1_grid=l1_grid,
                                  average=average, state=state)
    except InputError as err:
        if err.path is None:
            raise InputError(err.message, kpm_path, field=err.field) from None
        raise


def _table(res: EvaluationResult) -> str:
    c = res.curves
    avg = "mean of per-sample VE" if res.average == "mean" else "pooled VE"
    lines = [f"VE vs number of active AUs k ({avg}, k or fewer):", "     k      VE %"]
    lines += [f"  {int(k):4d}  {v:8.3f}" for k, v in res.ve_vs_k]
    lines += [f"VE vs L1 norm of the encoding ({avg}):", "      L1      VE %"]
    step = max(1, (len(res.ve_vs_l1) - 1) // 12)
    idx = sorted(set(range(0, len(res.ve_vs_l1), step)) | {len(res.ve_vs_l1) - 1})
    lines += [f"  {res.ve_vs_l1[i, 0]:8.3g}  {res.ve_vs_l1[i, 1]:8.3f}" for i in idx]
    if c.n_zero:
        lines.append(f"({c.n_zero} all-zero samples left out of the per-sample means)")
    return "\n".join(lines)


def check_outputs(args: argparse.Namespace, csv_option: str) -> None:
    """Every output option checked before any work: ``--plot`` has a figure suffix, no output
    is a folder or a device that cannot take a file, and no two outputs are the same file."""
    from dfecs_app.render.curves import check_figure_path

    outputs = [(f"--{csv_option}", getattr(args, csv_option)), ("--plot", args.plot)]
    for option, path in outputs:
        if path is not None:
            check_output_path(path, option)
    if args.plot is not None:
        check_figure_path(args.plot)
    given = [Path(p).resolve() for _, p in outputs if p is not None]
    if len(set(given)) < len(given):
        raise InputError(f"--{csv_option} and --plot name the same file", args.plot)


def write_outputs(args: argparse.Namespace, csv_option: str, rows: list[tuple[str, str, EvaluationResult]],
                  panels: list) -> None:
    """The CSV and the figure, rendered first and then written together
    (:func:`~dfecs_app.io.atomic.write_files_atomic`): a failure replaces neither."""
    from dfecs_app.render.curves import curves_figure_bytes

    files: list[tuple[Path, bytes]] = []
    if getattr(args, csv_option):
        files.append((getattr(args, csv_option), curves_csv(rows).encode("utf-8")))
    if args.plot:
        files.append((args.plot, curves_figure_bytes(args.plot, panels, args.average)))
    write_files_atomic(files)


def run(args: argparse.Namespace) -> int:
    check_outputs(args, "curves")
    grid = l1_grid_from(args)
    model = load_model(args.model)
    res = evaluate_file(model, args.model.stem, args.kpm, alpha=args.alpha, l1_grid=grid,
                        average=args.average)
    write_outputs(args, "curves", [(args.model.stem, args.kpm.stem, res)],
                  [(args.kpm.stem, [(args.model.stem, res)])])
    if args.json:
        json.dump(res.to_json(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    what = "NNLS encoding" if args.alpha is None else f"encoding at alpha={args.alpha:g}"
    print(f"model {args.model} ({model.kind}, {model.n_components} AUs) on {args.kpm} "
          f"({res.n_samples} samples)")
    print(f"VE ({what}, pooled): {res.ve:.3f} %   mean per-sample VE: {res.ve_mean:.3f} %   "
          f"mean active AUs: {res.curves.mean_active:.2f}")
    print(_table(res))
    return 0
