"""Opening NPZ files the app reads (model files, FACS AU vectors) with one set of errors."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from dfecs_app.errors import InputError

__all__ = ["open_npz"]


def open_npz(path: str | os.PathLike, what: str = "a readable NPZ file") -> np.lib.npyio.NpzFile:
    """``np.load(path, allow_pickle=False)`` of an NPZ archive (use it in a ``with`` block).

    Parameters
    ----------
    path : str or PathLike
    what : str
        What the file should be, for the message ``not <what> (<reason>)``.

    Raises
    ------
    InputError
        No such file, or not an NPZ archive (naming the file).
    """
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"not {what} ({err})", path) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a plain .npy array
        raise InputError(f"not {what} (an NPY array, not an NPZ archive)", path)
    return npz
