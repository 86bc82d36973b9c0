"""``dfecs ratings``: interpretability rating sessions from the command line.

Sub-commands::

    dfecs ratings new SESSION.json --model MODEL.npz [MODEL2.npz ...] [--label A --label B]
                      [--raters A,B,C] [--seed N]   # 2+ models: a blinded comparison
    dfecs ratings import VOTES.csv --out SESSION.json [--model MODEL.npz] [--raters A,B,C]
    dfecs ratings summary SESSION.json|VOTES.csv [--json] [--format table|markdown|latex|csv]
    dfecs ratings close SESSION.json
    dfecs ratings pack SESSION.json --rater NAME --model MODEL.npz --neutral FACE.pts
                       [--image FACE.png] --out PACK_DIR
    dfecs ratings merge SESSION.json RETURNED.json|PACK_DIR [...]
    dfecs ratings export SESSION.json OUT.{csv,md,tex,txt,png,pdf,svg} [--model --neutral]
    dfecs ratings precheck MODEL.npz [MODEL2.npz ...] [--session SESSION.json] [--out CSV]
                           [--json] [--min-fraction F]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from dfecs_app.cli._common import bounded_int, seed_int
from dfecs_app.core.ratings import (
    DEFAULT_TIE_RULE,
    TIE_RULES,
    RatingSummary,
    summarize,
    vote_matrix,
)
from dfecs_app.errors import DfecsError, InputError
from dfecs_app.io.npz import check_regular_file
from dfecs_app.io.rating_export import (
    TABLE_FORMATS,
    artifact_rows,
    artifacts_to_csv,
    export_grid_figure,
    export_table,
    fmt_percent,
    format_table,
)
from dfecs_app.io.rating_pack import export_pack, merge_returned_ratings
from dfecs_app.io.rating_session import RatingSession, session_from_votes
from dfecs_app.io.schema import LIMITS
from dfecs_app.io.votes_csv import read_votes_csv
from dfecs_app.stats.agreement import Agreement, agreement


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ratings", help="interpretability rating sessions (Tables 1-2)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="ratings_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("new", help="start a rating session for one model, or a blinded "
                       "comparison of several models (their AUs shuffled together)")
    p.add_argument("session", type=Path, help="session file to create (.json)")
    p.add_argument("--model", type=Path, nargs="+", required=True,
                   help="model file(s) (.npz); two or more make a blinded comparison")
    p.add_argument("--label", action="append",
                   help="coordinator's label of each model (default: the file names)")
    p.add_argument("--raters", default="Rater 1,Rater 2,Rater 3",
                   help="comma-separated rater names (default %(default)s)")
    p.add_argument("--seed", type=int, help="seed of the blinded orders (default: random)")
    p.add_argument("--tie", choices=TIE_RULES, default=DEFAULT_TIE_RULE)
    p.add_argument("--force", action="store_true", help="overwrite an existing session file")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("import", help="make a (closed) session from a votes CSV")
    p.add_argument("votes", type=Path, help="CSV with columns component,rater,vote "
                   "(+ optional points,artifact,basis)")
    p.add_argument("--out", type=Path, required=True, help="session file to write (.json)")
    p.add_argument("--model", type=Path, help="the rated model (.npz): binds the session to it "
                   "and checks the component names")
    p.add_argument("--raters", help="comma-separated rater names the file must use")
    p.add_argument("--tie", choices=TIE_RULES, default=DEFAULT_TIE_RULE,
                   help="majority-vote tie rule for even numbers of raters (default %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite an existing session file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("summary", help="Table 1/2, percentages, Fleiss' kappa, Krippendorff's alpha")
    p.add_argument("source", type=Path, help="a session (.json) or a votes CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--format", choices=TABLE_FORMATS, default="table", help="table format")
    p.add_argument("--model", type=Path, help="check the votes/session against this model")
    p.add_argument("--tie", choices=TIE_RULES, help="tie rule (default: the session's)")
    p.add_argument("--n-boot", type=bounded_int(0, LIMITS.n_boot), default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=seed_int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("close", help="close a session (votes freeze and become visible)")
    p.add_argument("session", type=Path)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("pack", help="export a rating pack for one rater")
    p.add_argument("session", type=Path)
    p.add_argument("--rater", required=True)
    p.add_argument("--model", type=Path, nargs="+", required=True,
                   help="the session's model file (a comparison: every model, in order)")
    p.add_argument("--neutral", type=Path, required=True, help="neutral landmarks (.pts, CSV, ...)")
    p.add_argument("--image", type=Path, help="neutral face image: adds projected AU images")
    p.add_argument("--out", type=Path, required=True, help="pack folder to create")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("merge", help="merge returned ratings files into a session")
    p.add_argument("session", type=Path)
    p.add_argument("returned", type=Path, nargs="+", help="ratings.json files or pack folders")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("export", help="write the table (.csv .md .tex .txt), the artifact list "
                       "(--artifacts, .csv) or the rated AU grid figure (.png .pdf .svg)")
    p.add_argument("session", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--artifacts", action="store_true", help="write the artifact list (CSV)")
    p.add_argument("--model", type=Path, help="the model (figures)")
    p.add_argument("--neutral", type=Path, help="neutral landmarks (figures)")
    p.add_argument("--rater", help="figure: blue dots of this rater only")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("precheck", help="automatic muscle-direction pre-check of the AUs "
                       "(coordinator only); with a closed session: Cohen's kappa against the "
                       "majority vote")
    p.add_argument("model", type=Path, nargs="+",
                   help="model file(s); a comparison session's models in order")
    p.add_argument("--session", type=Path, help="the rating session of these AUs")
    p.add_argument("--out", type=Path, help="write the per-AU table (CSV)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--min-fraction", type=float, default=None,
                   help="judge keypoints moving at least this fraction of the AU's largest "
                        "movement (default 0.25)")
    p.add_argument("--min-score", type=float, default=None,
                   help="plausibility score from which an AU counts as plausible (default "
                        "0.8; 1 = no keypoint may move against the muscles)")
    p.add_argument("--cones", type=Path, help="another cone table (JSON) than the built-in")
    p.set_defaults(func=cmd_precheck)


# ---------------------------------------------------------------------------------------------
def _load_model(path: Path | None):
    if path is None:
        return None
    from dfecs_app.io.model_file import load_model

    return load_model(path)


def _load_neutral(path: Path) -> np.ndarray:
    from dfecs_app.io.readers import read_landmarks

    table = read_landmarks(path)
    if len(table.points) < 1:
        raise InputError("no landmarks in the file", path)
    if not table.mask[0].all():
        raise InputError("the neutral face must have all 68 landmarks", path)
    return np.asarray(table.points[0], dtype=float)


def _is_session(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    check_regular_file(path, "votes or session file")  # never open a FIFO or device
    try:
        with open(path, "rb") as fh:
            head = fh.read(512).removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def load_summary(source: Path, model=None, tie: str | None = None,
                 model_path: Path | None = None) -> RatingSummary:
    """Summary of a session file or a votes CSV (checked against ``model`` when given)."""
    if _is_session(source):
        session = RatingSession.open(source, model=model, model_path=model_path)
        return session.summary(tie)
    names, raters, votes = read_votes_csv(source, components=list(model.names) if model else None)
    return summarize(vote_matrix(votes, len(names), raters), names, raters,
                     tie or DEFAULT_TIE_RULE, votes=votes)


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def summary_json(summary: RatingSummary, agr: Agreement) -> dict:
    """The ``--json`` object (NaN -> null)."""
    return {
        "raters": {r: _num(p) for r, p in zip(summary.raters, summary.rater_percent)},
        "majority": _num(summary.majority_percent),
        "non_interpretable": summary.non_interpretable,
        "fleiss_kappa": _num(agr.fleiss_kappa),
        "krippendorff_alpha": _num(agr.krippendorff_alpha),
        "fleiss_kappa_ci": agr.kappa_ci.as_list(),
        "krippendorff_alpha_ci": agr.alpha_ci.as_list(),
        "ci_level": agr.kappa_ci.level,
        "n_boot": agr.kappa_ci.n_boot,
        "tie_rule": summary.tie,
        "components": summary.components,
        "complete": summary.complete,
        "votes": {r: [None if not math.isfinite(x) else int(x) for x in summary.matrix[:, j]]
                  for j, r in enumerate(summary.raters)},
        "majority_vote": [None if not math.isfinite(x) else int(x) for x in summary.majority],
    }


def _fmt_stat(x: float) -> str:
    return "undefined (all votes agree)" if not math.isfinite(x) else f"{round(x, 3) + 0.0:.3f}"


def _fmt_ci(ci) -> str:
    if not math.isfinite(ci.low):
        return f"{ci.level:.0%} CI undefined ({ci.n_valid}/{ci.n_boot} valid resamples)"
    return f"{ci.level:.0%} CI [{ci.low:.3f}, {ci.high:.3f}]"


def summary_text(summary: RatingSummary, agr: Agreement, fmt: str = "table") -> str:
    lines = [format_table(summary, fmt).rstrip("\n")]
    if fmt == "table":
        lines.append("")
        for r, p in zip(summary.raters, summary.rater_percent):
            lines.append(f"{r}: {fmt_percent(p)} interpretable")
        n_i = len(summary.non_interpretable)
        k = int(np.isfinite(summary.majority).sum())
        lines.append(f"Majority vote: {fmt_percent(summary.majority_percent)} interpretable "
                     f"({k - n_i} of {k}; tie rule: {summary.tie.replace('_', '-')})")
        lines.append("Non-interpretable: " + (", ".join(summary.non_interpretable) or "none"))
        lines.append(f"Fleiss' kappa: {_fmt_stat(agr.fleiss_kappa)}  {_fmt_ci(agr.kappa_ci)}"
                     + ("" if agr.n_units == len(summary.components)
                        else f"  ({agr.n_units} fully rated components)"))
        lines.append(f"Krippendorff's alpha (nominal): {_fmt_stat(agr.krippendorff_alpha)}  "
                     f"{_fmt_ci(agr.alpha_ci)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise InputError("the session file exists; use --force to overwrite it", args.out)
    model = _load_model(args.model)
    raters = [r.strip() for r in args.raters.split(",")] if args.raters else None
    names, raters, votes = read_votes_csv(args.votes, list(model.names) if model else None, raters)
    session = session_from_votes(args.out, names, raters, votes, model=model,
                                 model_path=args.model, tie=args.tie, overwrite=True)
    print(f"wrote {session.path}: {len(votes)} votes, {len(names)} components, "
          f"{len(raters)} raters", file=sys.stderr)
    return 0


def _comparison(source: Path, summary: RatingSummary, n_boot: int, seed: int):
    """Per-model results when ``source`` is a session rating several models (else None)."""
    if not _is_session(source):
        return None
    session = RatingSession.open(source)
    if not session.is_comparison:
        return None
    from dfecs_app.stats.proportions import compare_models

    return compare_models(summary, session.model_groups(), n_boot=n_boot, seed=seed)


def comparison_text(cmp) -> str:
    """The per-model block of ``dfecs ratings summary`` for a comparison session."""
    from dfecs_app.stats.proportions import format_difference

    lines = ["", "Per model (blinded comparison):"]
    for lab, s in zip(cmp.labels, cmp.summaries):
        k = int(np.isfinite(s.majority).sum())
        lines.append(f"  {lab}: {fmt_percent(s.majority_percent)} interpretable "
                     f"({k - len(s.non_interpretable)} of {k} AUs); per rater "
                     + ", ".join(f"{r} {fmt_percent(p)}" for r, p in zip(s.raters,
                                                                          s.rater_percent)))
    for d in cmp.differences:
        lines.append("  " + format_difference(d))
    return "\n".join(lines) + "\n"


def cmd_summary(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    summary = load_summary(args.source, model, args.tie, args.model)
    agr = agreement(summary.matrix, n_boot=args.n_boot, seed=args.seed)
    cmp = _comparison(args.source, summary, args.n_boot, args.seed)
    if args.json:
        obj = summary_json(summary, agr)
        if cmp is not None:
            obj["comparison"] = cmp.as_dict()
        print(json.dumps(obj, ensure_ascii=False))
    else:
        sys.stdout.write(summary_text(summary, agr, args.format))
        if cmp is not None and args.format == "table":
            sys.stdout.write(comparison_text(cmp))
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    session = RatingSession.open(args.session)
    if session.closed:
        print(f"{args.session}: already closed", file=sys.stderr)
        return 0
    session.close()
    done = "complete" if session.complete else "INCOMPLETE"
    print(f"closed {args.session} ({done})", file=sys.stderr)
    return 0


def _rated_models(paths: list[Path], labels: list[str] | None):
    """One model, or a :class:`RatedModels` of several (labels default to the file stems)."""
    models = [_load_model(p) for p in paths]
    if len(models) == 1:
        return models[0]
    from dfecs_app.core.rated_models import RatedModels

    labels = list(labels or [p.stem for p in paths])
    if len(labels) != len(models):
        raise InputError(f"{len(labels)} --label for {len(models)} models")
    try:
        return RatedModels(labels, models)
    except ValueError as err:
        raise InputError(str(err)) from None


def cmd_new(args: argparse.Namespace) -> int:
    model = _rated_models(list(args.model), args.label)
    raters = [r.strip() for r in args.raters.split(",")]
    path = args.model[0] if len(args.model) == 1 else list(args.model)
    session = RatingSession.create(args.session, model, raters, seed=args.seed, tie=args.tie,
                                   model_path=path, overwrite=args.force)
    what = (f"{len(session.models)} models ({', '.join(m['label'] for m in session.models)}) "
            "shuffled together, blinded" if session.is_comparison else "1 model")
    print(f"wrote {session.path}: {session.n_components} AUs of {what}, "
          f"{len(raters)} raters", file=sys.stderr)
    return 0


def _check_model_count(session: RatingSession, paths: list[Path]) -> list[str] | None:
    """The comparison's labels; refuses a wrong number of model files in one clear line."""
    n = len(session.models) if session.is_comparison else 1
    if len(paths) != n:
        what = (f"compares {n} models ({', '.join(m['label'] for m in session.models)}): give "
                "every model file, in that order" if session.is_comparison
                else "rates one model: give its file")
        raise InputError(f"this session {what} (--model)", session.path, field="models")
    return [m["label"] for m in session.models] if session.is_comparison else None


def cmd_pack(args: argparse.Namespace) -> int:
    session = RatingSession.open(args.session)
    labels = _check_model_count(session, list(args.model))
    model = _rated_models(list(args.model), labels)
    session.check_model(model, args.model[0] if len(args.model) == 1 else None)
    pts = _load_neutral(args.neutral)
    image = None
    if args.image is not None:
        from dfecs_app.io.images import read_image

        image = read_image(args.image)
    folder = export_pack(session, args.rater, args.out, model=model, neutral_points=pts,
                         neutral_image=image)
    print(f"wrote rating pack {folder} for {args.rater}", file=sys.stderr)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    session = RatingSession.open(args.session)
    counts = merge_returned_ratings(session, list(args.returned))  # all or nothing
    for path, n in zip(args.returned, counts):
        print(f"merged {n} votes from {path}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    session = RatingSession.open(args.session, model=model, model_path=args.model)
    summary = session.summary()
    suffix = args.out.suffix.lower()
    if args.artifacts:
        from dfecs_app.io.atomic import write_text_atomic

        write_text_atomic(args.out, artifacts_to_csv(artifact_rows(summary.votes,
                                                                   summary.components)))
    elif suffix in (".png", ".pdf", ".svg"):
        if model is None or args.neutral is None:
            raise DfecsError("a figure needs --model and --neutral")
        export_grid_figure(summary, model, _load_neutral(args.neutral), args.out, rater=args.rater)
    else:
        export_table(summary, args.out)
        if model is not None:  # the pre-check beside the ratings
            from dfecs_app.core.muscle_check import precheck
            from dfecs_app.io.muscle_cones import load_cone_table
            from dfecs_app.io.precheck_export import precheck_path_beside, write_precheck_csv

            table = load_cone_table()
            side = write_precheck_csv(precheck_path_beside(args.out), summary.components,
                                      precheck(model.components, table), table,
                                      summary.majority)
            print(f"wrote {side}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_precheck(args: argparse.Namespace) -> int:
    from dfecs_app.core.muscle_check import DEFAULT_MIN_FRACTION, DEFAULT_MIN_SCORE, precheck
    from dfecs_app.io.muscle_cones import load_cone_table
    from dfecs_app.io.precheck_export import write_precheck_csv
    from dfecs_app.stats.agreement import precheck_agreement

    frac = DEFAULT_MIN_FRACTION if args.min_fraction is None else args.min_fraction
    if not 0.0 < frac <= 1.0:
        raise InputError(f"--min-fraction must be in (0, 1], got {frac}")
    min_score = DEFAULT_MIN_SCORE if args.min_score is None else args.min_score
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"--min-score must be in [0, 1], got {min_score}")
    table = load_cone_table(args.cones)
    session = RatingSession.open(args.session) if args.session else None
    labels = _check_model_count(session, list(args.model)) if session else None
    model = _rated_models(list(args.model), labels)
    if session is not None:
        session.check_model(model, args.model[0] if len(args.model) == 1 else None)
    names = session.components if session is not None else list(model.names)
    checks = precheck(model.components, table, frac, min_score)
    majority = agr = None
    if session is not None and session.closed:
        majority = session.summary().majority
        agr = precheck_agreement(np.array([float(c.plausible) if np.isfinite(c.score)
                                           else np.nan for c in checks]), majority)
    if args.out is not None:
        write_precheck_csv(args.out, names, checks, table, majority)
    n_bad = sum(not c.plausible for c in checks)
    if args.json:
        obj = {"min_fraction": frac, "min_score": min_score, "n_aus": len(checks),
               "n_implausible": n_bad,
               "aus": [{"component": n, "plausible": c.plausible, "flagged": c.flagged,
                        "score": _num(c.score)} for n, c in zip(names, checks)]}
        if agr is not None:
            obj["agreement"] = agr.as_dict()
        print(json.dumps(obj, ensure_ascii=False))
        return 0
    width = max(len(n) for n in names)
    for n, c in zip(names, checks):
        score = "  –  " if not math.isfinite(c.score) else f"{c.score:.3f}"
        flag = " ".join(map(str, c.flagged)) or "-"
        print(f"{n.ljust(width)}  {'plausible  ' if c.plausible else 'IMPLAUSIBLE'}  "
              f"score {score}  flagged keypoints: {flag}")
    print(f"Pre-check: {len(checks) - n_bad} of {len(checks)} AUs plausible (score >= "
          f"{min_score:g}; keypoints moving >= {frac:g} x the largest movement judged); "
          f"{sum(not c.flagged for c in checks)} without any flagged keypoint")
    if agr is not None:
        t = agr.table
        print(f"Agreement with the majority vote ({agr.n} AUs): Cohen's kappa "
              f"{_fmt_stat(agr.kappa)}, {agr.accuracy:.0%} agree")
        print("                       majority ✓  majority ×")
        print(f"pre-check plausible    {t[0, 0]:>10}  {t[0, 1]:>10}")
        print(f"pre-check implausible  {t[1, 0]:>10}  {t[1, 1]:>10}")
    elif session is not None:
        print("(agreement with the raters appears once the session is closed)")
    return 0
