"""Reading the feasible muscle-direction cones (``dfecs_app/resources/anatomy/muscle_cones.json``) for
the automatic pre-check (:mod:`dfecs_app.core.muscle_check`)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from dfecs_app.core.muscle_check import ConeTable, cone_table_from_dict
from dfecs_app.errors import InputError
from dfecs_app.io.resources import resources_dir
from dfecs_app.io.textfile import read_json_file

CONES_FILE = Path("anatomy") / "muscle_cones.json"


def default_cones_path() -> Path:
    return resources_dir() / CONES_FILE


def load_cone_table(path: str | os.PathLike | None = None) -> ConeTable:
    """The cone table in ``path`` (default: the built-in one, read once)."""
    if path is None:
        return _builtin()
    return _read(Path(path))


@lru_cache(maxsize=1)
def _builtin() -> ConeTable:
    return _read(default_cones_path())


def _read(path: Path) -> ConeTable:
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise InputError("not a muscle-cone table (expected a JSON object)", path)
    return cone_table_from_dict(data, where=str(path))
