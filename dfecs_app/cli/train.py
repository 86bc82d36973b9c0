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
import sys
from pathlib import Path
from typing import Any

from dfecs_app.cli._common import npz_output, progress_bar, seed_int
from dfecs_app.core.landmarks import PART_LABELS, PART_NAMES
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
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
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
                          search_mode=args.mode, random_state=args.seed)
    try:
        with progress_bar("training") as state:
            model.fit(kpm.X, mask=kpm.mask, state=state)
    except InputError as err:
        if err.path is None:  # name the KPM file for data errors found by the model
            err = InputError(err.message, args.kpm, field=err.field)
        raise err from None
    save_model(out, model.to_au_model())
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
