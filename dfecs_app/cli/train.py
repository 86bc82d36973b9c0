"""``dfecs train``: KPM matrix in, DFECS model (NPZ) out.

Example::

    dfecs train disfa_kpm.npz --beta 0.05 --seed 0 --out disfa_dfecs.npz
    dfecs train kpm.npz --params '{"hfm": {"q": 16, "alpha_A": 0.1, "alpha_B": 0.1}}' --out m.npz
    dfecs train kpm.npz --params si_table1.json --out m.npz

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

from dfecs_app.cli._common import npz_output, progress_bar
from dfecs_app.core.landmarks import PART_LABELS, PART_NAMES
from dfecs_app.core.recipe import attach_recipe
from dfecs_app.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="learn DFECS AUs (Full Face Model) from a KPM matrix",
        description=(
            "Fit the Full Face Model of the paper (per-part dictionary learning, then an L1 "
            "NMF) on a KPM NPZ, searching the hyperparameters as in §2.3.3 until VE(train) "
            "reaches 100(1 - beta) (or using those given with --params), and write the model."
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
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--mode", choices=("fast", "literal"), default="fast",
                   help="search strategy: fast (default; same choices) or the literal grid")
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
        path = Path(text)
        if not path.is_file():
            raise InputError("neither a JSON object nor an existing JSON file", text,
                             field="params")
        source = path
        try:
            stripped = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read ({err})", path, field="params") from err
    try:
        params = json.loads(stripped)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
                         source, line=err.lineno if source else None, field="params") from err
    if not isinstance(params, dict):
        raise InputError("must be a JSON object", source, field="params")
    unknown = set(params) - {"parts", "hfm"}
    if unknown:
        raise InputError(f"unknown key(s) {sorted(unknown)}; expected 'parts' and/or 'hfm'",
                         source, field="params")
    parts = params.get("parts", {})
    if not isinstance(parts, dict):
        raise InputError("must be an object {part: {k, alpha}}", source, field="parts")
    for name, spec in parts.items():
        if not isinstance(spec, dict) or set(spec) - {"k", "alpha"} or not {"k", "alpha"} <= set(spec):
            raise InputError('must be an object {"k": int, "alpha": number}', source,
                             field=f"parts.{name}")
    hfm = params.get("hfm")
    if hfm is not None and (not isinstance(hfm, dict) or set(hfm) != {"q", "alpha_A", "alpha_B"}):
        raise InputError('must be an object {"q": int, "alpha_A": number, "alpha_B": number}',
                         source, field="hfm")
    return {"parts": parts, "hfm": hfm}


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
                          search_mode=args.mode, random_state=args.seed)
    try:
        with progress_bar("training") as state:
            model.fit(kpm.X, mask=kpm.mask, state=state)
    except InputError as err:
        if err.path is None:  # name the KPM file for data errors found by the model
            err = InputError(err.message, args.kpm, field=err.field)
        raise err from None
    au = model.to_au_model()
    attach_recipe(au.meta, kpm.meta)
    save_model(out, au)
    _print_summary(model, out)
    return 0


def _print_summary(model: Any, out: Path) -> None:
    hp = model.hyperparameters_
    t = hp["targets"]
    w = sys.stdout.write
    w(f"PFM (target VE {t['pfm']:.2f} %):\n")
    for name in PART_NAMES:
        p = hp["parts"].get(name)
        if p is None:
            continue
        label = PART_LABELS[name]
        if p["k"] == 0:
            w(f"  {label:<14} NA ({p['skipped']})\n")
        else:
            flag = "" if p["reached"] else "  (target not reached)"
            w(f"  {label:<14} k={p['k']:<3} alpha={p['alpha']:<5g} VE {p['ve']:6.2f} %{flag}\n")
    h = hp["hfm"]
    flag = "" if h["reached"] else "  (target not reached)"
    w(f"HFM (target VE {t['hfm']:.2f} %): q={h['q']} alpha_A={h['alpha_A']:g} "
      f"alpha_B={h['alpha_B']:g}{flag}\n")
    w(f"VE(train) {model.ve_train_:.2f} % with {model.n_components_} AUs "
      f"({hp['n_fits']} fits, {hp['seconds']:.1f} s, {hp['mode']} search)\n")
    w(f"wrote {out}\n")
