"""``dfecs train``: KPM matrix in, DFECS model (NPZ) out.

Example::

    dfecs train disfa_kpm.npz --beta 0.05 --seed 0 --out disfa_dfecs.npz
    dfecs train kpm.npz --params '{"hfm": {"q": 16, "alpha_A": 0.1, "alpha_B": 0.1}}' --out m.npz
    dfecs train kpm.npz --params si_table1.json --out m.npz
    dfecs train kpm.npz --strategy literal --json --out m.npz

``--params`` (a JSON string or a path to a JSON file) fixes hyperparameters instead of searching
them: ``{"parts": {"lips": {"k": 5, "alpha": 1.5}, ...}, "hfm": {"q": 16, "alpha_A": 0.1,
"alpha_B": 0.1}}``; parts left out are searched, and so is the HFM when ``"hfm"`` is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dfecs_app.cli._common import npz_output, progress_bar, seed_int
from dfecs_app.core.landmarks import PART_LABELS
from dfecs_app.core.recipe import attach_recipe
from dfecs_app.core.search import DEFAULT_STRATEGY, STRATEGIES, STRATEGY_LABELS, check_strategy
from dfecs_app.core.ve_labels import VE_FFM, VE_FFM_HELP, VE_NNLS, VE_NNLS_HELP
from dfecs_app.errors import InputError
from dfecs_app.io.schema import validate
from dfecs_app.io.schemas import TrainParams
from dfecs_app.io.textfile import parse_json_text, read_json_file


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="learn DFECS AUs (Full Face Model) from a KPM matrix",
        description=(
            "Fit the Full Face Model of the paper (per-part dictionary learning, then an L1 "
            "NMF) on a KPM NPZ, searching the hyperparameters as in §2.3.3 until VE(train) "
            "reaches 100(1 - beta) (or using those given with --params), and write the model. "
            f"VE figures: {VE_FFM} = {VE_FFM_HELP}; {VE_NNLS} = {VE_NNLS_HELP}."
        ),
    )
    p.add_argument("kpm", metavar="KPM.npz", help="KPM file (from `dfecs kpm`)")
    p.add_argument("--beta", type=float, default=0.05,
                   help="target loss of variance in (0, 1): PFM VE >= 100(1 - beta/2), "
                        "FFM VE >= 100(1 - beta) (default 0.05)")
    p.add_argument("--params", metavar="JSON", default=None,
                   help="explicit hyperparameters: a JSON string or a JSON file "
                        '({"parts": {"lips": {"k": 5, "alpha": 1.5}}, '
                        '"hfm": {"q": 16, "alpha_A": 0.1, "alpha_B": 0.1}})')
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--strategy", "--mode", dest="mode", default=DEFAULT_STRATEGY,
                   choices=(*STRATEGIES, "fast"), metavar="|".join(STRATEGIES),
                   help="hyperparameter search: " + "; ".join(STRATEGY_LABELS[s]
                                                              for s in STRATEGIES)
                        + " ('fast' is the old name of heuristic)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout (hyperparameter table, VE figures, "
                        "per-AU figures, warnings) instead of the text summary")
    p.add_argument("--out", "-o", required=True, metavar="MODEL.npz", help="output model file")
    p.set_defaults(func=run)


def parse_params(text: str) -> dict[str, Any]:
    """Read ``--params``: a JSON object given inline or as a file path.

    Raises
    ------
    InputError
        Unreadable file, invalid JSON, or unknown top-level keys (named).
    """
    source = None
    stripped = text.strip()
    if not stripped.startswith("{"):
        source = Path(text)
        if not source.exists():
            raise InputError("neither a JSON object nor an existing JSON file", text,
                             field="params")
        data = read_json_file(source, "--params file")
    else:
        data = parse_json_text(stripped, None, field="params")
    if not isinstance(data, dict):
        raise InputError("must be a JSON object", source, field="params")
    params = validate(TrainParams, data, source)
    hfm = None if params.hfm is None else params.hfm.model_dump()
    return {"parts": {k: v.model_dump() for k, v in params.parts.items()}, "hfm": hfm}


def run(args: argparse.Namespace) -> int:
    from dfecs_app.core.ffm import FullFaceModel
    from dfecs_app.io.kpm_file import load_kpm
    from dfecs_app.io.model_file import save_model

    out = npz_output(args.out)
    if not 0.0 < args.beta < 1.0:
        raise InputError(f"beta must be in (0, 1), got {args.beta}", field="beta")
    params = parse_params(args.params) if args.params else {"parts": {}, "hfm": None}
    kpm = load_kpm(args.kpm)
    model = FullFaceModel(beta=args.beta, parts=params["parts"] or None, hfm=params["hfm"],
                          search_mode=check_strategy(args.mode), random_state=args.seed)
    try:
        with progress_bar("training", disable=True if args.json else None) as state:
            model.fit(kpm.X, mask=kpm.mask, state=state, subjects=kpm.subject)
    except InputError as err:
        if err.path is None:  # name the KPM file for data errors found by the model
            err = InputError(err.message, args.kpm, field=err.field)
        raise err from None
    au_model = model.to_au_model()
    attach_recipe(au_model.meta, kpm.meta)
    save_model(out, au_model)
    if args.json:
        json.dump(train_summary(au_model.meta, out), sys.stdout, allow_nan=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(summary_text(au_model.meta, out))
    for w in au_model.meta.get("warnings", []):
        sys.stderr.write(f"warning: {w}\n")
    return 0


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and v != v else v


def train_summary(meta: dict[str, Any], out: Path) -> dict[str, Any]:
    """The ``--json`` object: SI Table 1–2 rows, VE figures, per-AU figures, warnings."""
    from dfecs_app.core.ffm import hyperparameter_rows

    h = meta["hyperparameters"]["hfm"]
    return {
        "model": str(out),
        "strategy": meta["search_mode"],
        "beta": meta["beta"],
        "targets": meta["targets"],
        "table": [{k: _finite(v) for k, v in row.items()} for row in hyperparameter_rows(meta)],
        "n_fits": meta["n_fits"],
        "seconds": meta["search_seconds"],
        "n_aus": len(meta["au_stats"]["ve_share"]),
        "ve": {"ffm_reconstruction": meta["ve_train"], "nnls_pooled": meta["ve_nnls_train"]},
        "ve_labels": {"ffm_reconstruction": VE_FFM, "nnls_pooled": VE_NNLS},
        "hfm_fit": {k: _finite(h.get(k)) for k in ("objective", "kkt_A", "kkt_B", "n_starts")},
        "au_stats": meta["au_stats"],
        "au_stats_definition": meta["au_stats_definition"],
        "warnings": meta.get("warnings", []),
    }


def summary_text(meta: dict[str, Any], out: Path) -> str:
    """The text summary: the SI Table 1–2 table, VE figures, per-AU figures."""
    from dfecs_app.core.ffm import hyperparameter_rows

    t = meta["targets"]
    lines = [f"hyperparameters ({meta['search_mode']} search, {meta['n_fits']} fits, "
             f"{meta['search_seconds']:.1f} s; targets: parts {t['pfm']:.2f} %, "
             f"FFM {t['hfm']:.2f} %)",
             f"  {'model':<6}{'part':<15}{'k / q':>6}{'α / α_A':>9}{'α_B':>6}{'VE %':>8}"
             f"{'fits':>6}"]
    for r in hyperparameter_rows(meta):
        name = "all parts" if r["model"] == "HFM" else PART_LABELS[r["name"]]
        if r["k"] == 0:
            lines.append(f"  {r['model']:<6}{name:<15}{'NA':>6}{'NA':>9}{'':>6}{'':>8}"
                         f"{'':>6}  ({r['note']})")
            continue
        ab = "" if r["alpha_B"] is None else f"{r['alpha_B']:g}"
        flag = "" if r["reached"] else "  (target not reached)"
        lines.append(f"  {r['model']:<6}{name:<15}{r['k']:>6}{r['alpha']:>9g}{ab:>6}"
                     f"{r['ve']:>8.2f}{r['n_fits']:>6}{flag}")
    h = meta["hyperparameters"]["hfm"]
    stats = meta["au_stats"]
    lines.append(f"{len(stats['ve_share'])} AUs; {VE_FFM}: {meta['ve_train']:.2f} %; "
                 f"{VE_NNLS}: {meta['ve_nnls_train']:.2f} %")
    lines.append(f"  HFM fit: eq. 2 objective {h['objective']:.6g}, KKT residual A "
                 f"{h['kkt_A']:.1e}, B {h['kkt_B']:.1e} ({h['n_starts']} start(s))")
    lines.append("  AU   VE share %  active %  mean act.  p95 act.   (NNLS codes of the "
                 "training KPMs)")
    for j, share in enumerate(stats["ve_share"]):
        lines.append(f"  {j + 1:<4}{100 * share:>11.2f}{100 * stats['active_fraction'][j]:>10.1f}"
                     f"{stats['mean_activation'][j]:>11.3g}{stats['p95_activation'][j]:>10.3g}")
    lines.append(f"wrote {out}")
    return "\n".join(lines) + "\n"
