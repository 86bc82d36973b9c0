"""The muscle-direction pre-check out of the app: a CSV beside the ratings, and the report of
its agreement with the raters' majority vote (:mod:`dfecs_app.core.muscle_check`)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from dfecs_app.core.muscle_check import AUCheck, ConeTable, precheck_rows
from dfecs_app.io.atomic import write_text_atomic

COLUMNS = ("component", "precheck", "score", "moving_keypoints", "flagged_keypoints",
           "against_muscles", "majority_vote")


def precheck_csv(names: list[str], checks: list[AUCheck], table: ConeTable,
                 majority: np.ndarray | None = None) -> str:
    """One row per AU (see :func:`~dfecs_app.core.muscle_check.precheck_rows`), with the
    raters' majority vote (1 / 0 / blank) when the session is closed."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for i, row in enumerate(precheck_rows(names, checks, table)):
        m = "" if majority is None or not np.isfinite(majority[i]) else str(int(majority[i]))
        w.writerow({**row, "majority_vote": m})
    return buf.getvalue()


def precheck_path_beside(path: str | os.PathLike) -> Path:
    """``results.csv`` -> ``results.precheck.csv`` (the pre-check beside the ratings)."""
    p = Path(path)
    return p.with_name(f"{p.stem}.precheck.csv")


def write_precheck_csv(path: str | os.PathLike, names: list[str], checks: list[AUCheck],
                       table: ConeTable, majority: np.ndarray | None = None) -> Path:
    path = Path(path)
    write_text_atomic(path, precheck_csv(names, checks, table, majority))
    return path
