"""Votes tables (CSV): ratings given outside the app, e.g. the paper's Tables 1-2.

:func:`read_votes_csv` reads ``component,rater,vote`` (+ optional ``points``, ``artifact``,
``basis``) with every error naming the file, line and column; :func:`parse_vote` reads one vote
cell. :func:`dfecs_app.io.rating_session.session_from_votes` turns the result into a session.
"""

from __future__ import annotations

import os
from pathlib import Path

from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.core.ratings import Vote
from dfecs_app.errors import InputError
from dfecs_app.io.rating_session import normalize_name
from dfecs_app.io.schema import LIMITS
from dfecs_app.io.textfile import csv_rows, read_text_file

__all__ = ["VOTE_TRUE", "VOTE_FALSE", "parse_vote", "read_votes_csv"]

VOTE_TRUE = frozenset({"1", "✓", "✔", "y", "yes", "true", "t", "interpretable"})
VOTE_FALSE = frozenset({"0", "×", "✗", "✘", "x", "n", "no", "false", "f", "non-interpretable",
                        "non_interpretable"})
_COLUMN_ALIASES = {
    "component": "component", "au": "component", "rater": "rater", "volunteer": "rater",
    "vote": "vote", "points": "points", "keypoints": "points", "artifact_points": "points",
    "artifact": "artifact", "basis": "basis", "muscular_basis": "basis",
    "muscular basis": "basis",
}


def parse_vote(text: str) -> bool | None:
    """'1'/'0', '✓'/'×', 'y'/'n', 'yes'/'no', 'true'/'false' -> bool; None if not a vote."""
    t = str(text).strip().casefold()
    if t in VOTE_TRUE:
        return True
    if t in VOTE_FALSE:
        return False
    return None


def read_votes_csv(path: str | os.PathLike, components: list[str] | None = None,
                   raters: list[str] | None = None) -> tuple[list[str], list[str], list[Vote]]:
    """Read a votes table: columns ``component,rater,vote`` (+ optional ``points``,
    ``artifact``, ``basis``).

    ``component`` is a component name or a 1-based number; ``vote`` is 1/0, ✓/×, y/n, yes/no
    or true/false; ``points`` are 0-based 68-layout keypoints separated by spaces or ``;``.

    Parameters
    ----------
    path : path
    components : list of str, optional
        Known component names (a model's or a session's); others are refused. Without them
        the components are those of the file: numbers sorted (named "Component i"), names in
        order of first appearance.
    raters : list of str, optional
        Known raters; others are refused. Without them, raters in order of first appearance.

    Returns
    -------
    components : list of str
    raters : list of str
    votes : list of Vote

    Raises
    ------
    InputError
        Empty file, missing column, unknown component/rater, bad vote, duplicate vote — naming
        the file, line and column.
    """
    path = Path(path)
    text = read_text_file(path)
    return _read_votes(path, text, components, raters)


def _ascii_int(s: str) -> int | None:
    """``int(s)`` for plain ASCII digits only (no ``²``, ``1_000``, ``+1``, spaces)."""
    return int(s) if s.isascii() and s.isdigit() and len(s) <= 18 else None


def _read_votes(path: Path, text: str, components: list[str] | None,
                raters: list[str] | None) -> tuple[list[str], list[str], list[Vote]]:
    rows = csv_rows(text.splitlines(), path)
    if not rows:
        raise InputError("the votes file is empty", path)
    header = rows[0][1]
    cols: dict[str, int] = {}
    for j, h in enumerate(header):
        key = _COLUMN_ALIASES.get(h.strip().casefold())
        if key is not None and key not in cols:
            cols[key] = j
    for need in ("component", "rater", "vote"):
        if need not in cols:
            raise InputError(f"missing column {need!r} (header: {', '.join(header)})", path,
                             line=1, field=need)
    known = {normalize_name(c): i for i, c in enumerate(components)} if components else None
    raw_rows: list[tuple[int, str, str, bool, tuple[int, ...], str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    rater_order: list[str] = []
    spelled: dict[str, str] = {}
    for line, row in rows[1:]:
        if not any(c.strip() for c in row):
            continue
        def cell(key: str, row: list[str] = row) -> str:
            j = cols.get(key)
            return row[j].strip() if j is not None and j < len(row) else ""

        comp, rater, vote_text = cell("component"), cell("rater"), cell("vote")
        if not comp:
            raise InputError("empty component", path, line=line, field="component")
        if not rater:
            raise InputError("empty rater", path, line=line, field="rater")
        folded = " ".join(rater.split()).casefold()
        if spelled.setdefault(folded, rater) != rater:
            raise InputError(f"rater {rater!r} is spelled {spelled[folded]!r} elsewhere in the "
                             "file (case or spaces differ): use one spelling", path, line=line,
                             field="rater")
        if raters is not None and rater not in raters:
            raise InputError(f"unknown rater {rater!r} (expected one of {', '.join(raters)})",
                             path, line=line, field="rater")
        vote = parse_vote(vote_text)
        if vote is None:
            raise InputError(f"vote {vote_text!r} is not 1/0, ✓/×, y/n or true/false", path,
                             line=line, field="vote")
        points_text = cell("points")
        try:
            parts = points_text.replace(";", " ").replace(",", " ").split()
            points = tuple(_ascii_int(p) if _ascii_int(p) is not None else -1 for p in parts)
            if any(not 0 <= p < N_POINTS for p in points):
                raise ValueError
        except ValueError as err:
            raise InputError(f"keypoints must be integers 0..{N_POINTS - 1}, got {points_text!r}",
                             path, line=line, field="points") from err
        key = (normalize_name(comp), rater)
        if key in seen:
            raise InputError(f"duplicate vote of {rater!r} on {comp!r} (first on line "
                             f"{seen[key]})", path, line=line, field="component")
        seen[key] = line
        if rater not in rater_order:
            rater_order.append(rater)
        raw_rows.append((line, comp, rater, vote, points, cell("artifact"), cell("basis")))
    if not raw_rows:
        raise InputError("no votes in the file (only a header)", path, line=1)

    number = _ascii_int

    if known is not None:
        names = list(components or [])
        index_of = {}
        for line, comp, *_ in raw_rows:
            n = number(comp)
            if n is not None:
                if not 1 <= n <= len(names):
                    raise InputError(f"component number {n} out of range 1..{len(names)}", path,
                                     line=line, field="component")
                index_of[comp] = n - 1
            elif normalize_name(comp) in known:
                index_of[comp] = known[normalize_name(comp)]
            else:
                raise InputError(f"unknown component {comp!r} (not in the model/session)", path,
                                 line=line, field="component")
    elif all(number(r[1]) is not None for r in raw_rows):
        nums = sorted({number(r[1]) for r in raw_rows})
        if nums[0] < 1:
            raise InputError("component numbers start at 1", path, field="component")
        if nums[-1] > LIMITS.components:
            line = next(r[0] for r in raw_rows if number(r[1]) == nums[-1])
            raise InputError(f"component number {nums[-1]} is beyond the largest model this app "
                             f"handles ({LIMITS.components} components)", path, line=line,
                             field="component")
        names = [f"Component {n}" for n in range(1, nums[-1] + 1)]
        index_of = {r[1]: number(r[1]) - 1 for r in raw_rows}
    else:
        names, index_of = [], {}
        by_norm: dict[str, int] = {}
        for _, comp, *_ in raw_rows:
            nk = normalize_name(comp)
            if nk not in by_norm:
                by_norm[nk] = len(names)
                names.append(comp)
            index_of[comp] = by_norm[nk]
    # duplicates across spellings ("1" and "Component 1")
    dup_check: dict[tuple[int, str], int] = {}
    votes = []
    for line, comp, rater, vote, points, artifact, basis in raw_rows:
        c = index_of[comp]
        if (c, rater) in dup_check:
            raise InputError(f"duplicate vote of {rater!r} on {names[c]!r} (first on line "
                             f"{dup_check[(c, rater)]})", path, line=line, field="component")
        dup_check[(c, rater)] = line
        votes.append(Vote(component=c, rater=rater, interpretable=vote, points=points,
                          artifact=artifact, basis=basis))
    return names, (list(raters) if raters is not None else rater_order), votes
