"""``dfecs compare MODEL... --train A.npz --test B.npz C.npz``: the Fig. 5 / Fig. 7 comparison.

For every model: VE(train) on the training KPMs and VE(test) on each test set (pooled VE of the
NNLS encodings, §3.4), and the VE-vs-k / VE-vs-L1 curves on each set plus their average over
the test sets (Fig. 5 averages VE(test) over the remaining data sets). ``--json`` prints one
object::

    {"models": [{"path", "kind", "n_components",
                 "train": {"path", "ve", "ve_vs_k", "ve_vs_l1", "n_samples"} | null,
                 "test": [{"path", "ve", "ve_vs_k", "ve_vs_l1", "n_samples"}, ...],
                 "mean_test_ve_vs_k": [[k, ve], ...], "mean_test_ve_vs_l1": [[l1, ve], ...]}]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dfecs_app.cli.evaluate import (
    add_curve_options,
    check_outputs,
    evaluate_file,
    l1_grid_from,
    write_outputs,
)
from dfecs_app.core.evaluation import EvaluationResult
from dfecs_app.errors import InputError
from dfecs_app.io.model_file import load_model


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare AU models on train/test KPM sets (Fig. 5/7 table and curves)",
        description="VE(train), VE(test) per test set and VE-vs-k / VE-vs-L1 curves of "
                    "several AU models (DFECS, PCA, FACS).",
    )
    p.add_argument("models", type=Path, nargs="+", help="model files (NPZ)")
    p.add_argument("--train", type=Path, help="training KPM file (VE(train))")
    p.add_argument("--test", type=Path, nargs="+", default=[], help="test KPM file(s)")
    add_curve_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--plot", type=Path, metavar="FIG",
                   help="curves, one column per data set (.png, .svg or .pdf)")
    p.add_argument("--csv", type=Path, metavar="CSV", help="write all curves as CSV")
    p.set_defaults(func=run)


def _entry(path: Path, res: EvaluationResult) -> dict:
    d = res.to_json()
    return {"path": str(path), **d}


def _unique_names(paths: list[Path]) -> list[str]:
    names = [p.stem for p in paths]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return names


def run(args: argparse.Namespace) -> int:
    if args.train is None and not args.test:
        raise InputError("give --train and/or --test KPM files")
    check_outputs(args, "csv")
    grid = l1_grid_from(args)
    models = [load_model(p) for p in args.models]
    names = _unique_names(list(args.models))
    datasets = ([("train", args.train)] if args.train is not None else []) + [
        ("test", p) for p in args.test]
    data_names = _unique_names([p for _, p in datasets])
    results: list[list[EvaluationResult]] = []
    for model, name in zip(models, names):
        results.append([evaluate_file(model, name, path, alpha=None, l1_grid=grid,
                                      average=args.average) for _, path in datasets])

    out_models = []
    for path, model, res in zip(args.models, models, results):
        entry: dict = {"path": str(path), "kind": model.kind, "n_components": model.n_components,
                       "train": None, "test": []}
        tests = []
        for (role, dpath), r in zip(datasets, res):
            if role == "train":
                entry["train"] = _entry(dpath, r)
            else:
                entry["test"].append(_entry(dpath, r))
                tests.append(r)
        if tests:
            k = np.mean([r.ve_vs_k[:, 1] for r in tests], axis=0)
            t = np.mean([r.ve_vs_l1[:, 1] for r in tests], axis=0)
            entry["mean_test_ve_vs_k"] = [[int(a), float(b)] for a, b in zip(tests[0].ve_vs_k[:, 0], k)]
            entry["mean_test_ve_vs_l1"] = [[float(a), float(b)] for a, b in zip(tests[0].ve_vs_l1[:, 0], t)]
        out_models.append(entry)

    rows = [(n, d, r) for n, res in zip(names, results) for d, r in zip(data_names, res)]
    panels = []
    for j, ((role, _), dname) in enumerate(zip(datasets, data_names)):
        title = f"{dname} ({'train' if role == 'train' else 'test'})"
        panels.append((title, [(n, res[j]) for n, res in zip(names, results)]))
    write_outputs(args, "csv", rows, panels)
    if args.json:
        json.dump({"models": out_models}, sys.stdout)
        sys.stdout.write("\n")
        return 0

    head = ["model", "kind", "AUs"]
    if args.train is not None:
        head.append(f"VE(train) {data_names[0]}")
    head += [f"VE(test) {d}" for (role, _), d in zip(datasets, data_names) if role == "test"]
    rows = []
    for name, model, res in zip(names, models, results):
        rows.append([name, model.kind, str(model.n_components)] + [f"{r.ve:.2f}" for r in res])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("VE of the NNLS encodings (pooled, %):")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    avg = "mean of per-sample VE" if args.average == "mean" else "pooled VE"
    ks = sorted({1, 2, 3, 5, 7, 10, 16, 20, 32, 50, 100, 136})
    for (role, _), dname, j in zip(datasets, data_names, range(len(datasets))):
        print(f"\nVE vs k on {dname} ({role}, {avg}):")
        print("  k      " + "  ".join(n.rjust(10) for n in names))
        for k in ks:
            vals = []
            for res in results:
                curve = res[j].ve_vs_k
                kk = min(k, int(curve[-1, 0]))
                vals.append(f"{curve[kk, 1]:10.2f}")
            print(f"  {k:<5d}  " + "  ".join(vals))
    return 0
