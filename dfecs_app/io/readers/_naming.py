"""Subject, sequence and frame ids from file paths (when the file does not carry them).

Rules (first match wins):

1. CK+ tree ``.../Sxxx/NNN/Sxxx_NNN_FFFFFFFF_landmarks.txt``: subject ``Sxxx``, sequence
   ``NNN``, frame ``FFFFFFFF`` (as a number; frame order follows it).
2. Other per-frame files (one frame per file: text point lists, ``.pts``, ``.mat``, a (68, 2)
   ``.npy``) whose name holds a number: the files of one folder sharing the same name pattern
   (the name with its last number taken out) are one sequence, ordered by that number, which
   is the frame id. The sequence is the folder's name (the pattern, when one folder holds
   several patterns); the subject is the nearest enclosing DISFA-style ``SNnnn`` folder, else
   the folder's name.
3. Per-frame files without a number in the name (e.g. 300-W images ``takeo.pts``): each
   file is its own subject and sequence, named by its stem, frame 0.
4. Multi-frame files (CSV tables, (n, 68, 2) arrays): subject and sequence are the file
   stem, frames numbered as in the file (its ``frame`` column, else 0..n-1) — except BP4D
   names ``F001_T1.*`` or ``F001/T1.*``, which give subject ``F001`` and sequence ``T1``.

Columns or arrays named ``subject``/``sequence`` inside a file take precedence. When two
different files (or per-frame groups) would get the same subject and sequence, their
sequences are prefixed with the parent folder's name (reported in the notes) so that the
frames of different recordings never mix.
"""

from __future__ import annotations

import re
from pathlib import Path

CKPLUS_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)_landmarks$", re.IGNORECASE)
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_DISFA_SUBJECT = re.compile(r"^SN\d+$", re.IGNORECASE)
_BP4D_NAME = re.compile(r"^([FM]\d{3})_(T\d+)$", re.IGNORECASE)
_BP4D_SUBJECT = re.compile(r"^[FM]\d{3}$", re.IGNORECASE)
_BP4D_TASK = re.compile(r"^T\d+$", re.IGNORECASE)


def natural_key(path: Path) -> list:
    """Sort key ordering ``f2`` before ``f10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def per_frame_ids(paths: list[Path]) -> list[tuple[str, str, int, tuple]]:
    """(subject, sequence, frame, group key) of each per-frame file; see the module rules."""
    info = []
    patterns: dict[Path, set[str]] = {}
    for p in paths:
        stem = p.stem
        m = CKPLUS_NAME.match(stem)
        if m:
            info.append(("ckplus", p, m))
            continue
        m = _LAST_NUMBER.search(stem)
        if m is None:
            info.append(("single", p, None))
            continue
        pattern = stem[: m.start()] + "#" + stem[m.end():]
        patterns.setdefault(p.parent, set()).add(pattern)
        info.append(("numbered", p, m))
    out = []
    for kind, p, m in info:
        if kind == "ckplus":
            subject, sequence = m.group(1), m.group(2)
            out.append((subject, sequence, int(m.group(3)), ("ckplus", p.parent, subject, sequence)))
        elif kind == "single":
            out.append((p.stem, p.stem, 0, ("single", p)))
        else:
            stem = p.stem
            pattern = stem[: m.start()] + "#" + stem[m.end():]
            folder = p.parent.resolve().name or "frames"
            sequence = folder
            if len(patterns[p.parent]) > 1:
                sequence = pattern.replace("#", "").strip("_- .") or folder
            subject = next((a.name for a in p.resolve().parents if _DISFA_SUBJECT.match(a.name)),
                           folder)
            out.append((subject, sequence, int(m.group(1)), ("numbered", p.parent, pattern)))
    return out


def multi_frame_ids(path: Path) -> tuple[str, str]:
    """(subject, sequence) of a multi-frame file; see the module rules."""
    m = _BP4D_NAME.match(path.stem)
    if m:
        return m.group(1), m.group(2)
    parent = path.resolve().parent.name
    if _BP4D_SUBJECT.match(parent) and _BP4D_TASK.match(path.stem):
        return parent, path.stem
    return path.stem, path.stem
