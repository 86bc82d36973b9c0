"""Find, verify and load the landmark frontalization weights (Vonikakis & Winkler, ICIP 2020).

Search order for a layout's two arrays (weights and mean face; files
``frontalization_weights_<L>.npy`` and ``landmarks_mean_face_<L>.npy``, L in 68, 66, 49):

1. the ``directory`` argument (the CLI's ``--frontalization-dir``), if given — it must hold them;
2. the folder named by the environment variable ``DFECS_FRONTALIZATION_DIR``;
3. the copy shipped inside the package (68 points only): the MIT-licensed weights of
   github.com/bbonik/facial-landmark-frontalization, stored as one compressed NPZ in
   ``dfecs_app/resources/frontalization/frontalization_68.npz`` with their licence beside it
   (made by ``packaging/make_frontalization_resource.py``);
4. the user cache, ``$XDG_CACHE_HOME/dfecs-studio/frontalization`` (default
   ``~/.cache/dfecs-studio/frontalization``), a place to keep the 66/49-point files.

Nothing here touches the network. Every file is checked against a pinned sha256 (the shipped
arrays against a pinned sha256 of their contents), so the KPM units never silently change.
The 66- and 49-point weights were retrained by the DFECS authors and are published without a
licence in github.com/Shivansh-ct/PCA-AUs (``FacialLandmarkFrontalization_66/data`` and
``FacialLandmarkFrontalization_49/data``); the app neither ships nor downloads them: put them
(renamed as above) in a folder and point ``DFECS_FRONTALIZATION_DIR`` at it, or in the user
cache. Any failure raises :class:`MissingResourceError` saying what is missing and how to proceed.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from dfecs_app.core.geometry import FRONTALIZATION_LAYOUTS, FrontalizationWeights, required_layouts
from dfecs_app.errors import MissingResourceError
from dfecs_app.io.resources import BUILTIN_PREFIX, resources_dir

ENV_VAR = "DFECS_FRONTALIZATION_DIR"

#: Pinned sha256 of every known file (the 66/49 pins were computed from the authors' files).
SHA256: dict[str, str] = {
    "frontalization_weights_68.npy": "4f5ad9ebadf11a0e29235b50483e83344b545b1481cd9725ca36adcc5821a160",
    "landmarks_mean_face_68.npy": "a6b55ccb4087662fbf83be5f913c71e67a095d5fdc22e3b0e0aaab6bd1d323ca",
    "frontalization_weights_66.npy": "a86a942ba3848a1233e9dad7bedd49cb46ecdf59c9861b5ce98ce42f8c16972d",
    "landmarks_mean_face_66.npy": "f4a634137566495d45fcacf964d62af126178875b2ad73c30d0684c4c1364511",
    "frontalization_weights_49.npy": "acea43ad6bfa344e23f0384fab88368f754c560d66615d62042a29d20bba3765",
    "landmarks_mean_face_49.npy": "08dbc8c05160895e0cf79620be0ff0178eab6928558dc02041c30ee054c3594f",
}

#: The shipped copy of the 68-point arrays, inside :func:`resources_dir`.
SHIPPED_NAME = "frontalization/frontalization_68.npz"

#: Pinned sha256 of the shipped arrays' contents (float64 little-endian, C order): the arrays
#: of ``frontalization_weights_68.npy`` (``W``) and ``landmarks_mean_face_68.npy`` (``mean_face``).
SHIPPED_SHA256: dict[str, str] = {
    "W": "37a7331e3631776aeca70c73bf3bcb55e9e24934bda26278c28d8ca087427b4f",
    "mean_face": "985ac35fbfc6285146774f279999be0230c37da92697deec0c2b5801bae05a41",
}

_HOW = f"set {ENV_VAR} to a folder holding them, or run without frontalization (--no-frontalize)"


def file_names(layout: str) -> tuple[str, str]:
    """The (weights, mean face) file names of a layout."""
    if layout not in FRONTALIZATION_LAYOUTS:
        raise ValueError(f"unknown frontalization layout {layout!r}; expected one of {FRONTALIZATION_LAYOUTS}")
    return f"frontalization_weights_{layout}.npy", f"landmarks_mean_face_{layout}.npy"


def cache_dir() -> Path:
    """The user cache folder of the weights (not created)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dfecs-studio" / "frontalization"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    got = sha256_of(data)
    if got != SHA256[path.name]:
        raise MissingResourceError(
            f"{path}: sha256 {got} does not match the published file ({SHA256[path.name]}); "
            f"the file is damaged or not the published weights — replace it, or {_HOW}"
        )
    return data


def array_sha256(arr: np.ndarray) -> str:
    """sha256 of an array's contents as float64, little-endian, C order."""
    return hashlib.sha256(np.ascontiguousarray(arr, dtype="<f8").tobytes()).hexdigest()


def shipped_path() -> Path:
    """The shipped NPZ of the 68-point weights (see :data:`SHIPPED_NAME`)."""
    return resources_dir().joinpath(*SHIPPED_NAME.split("/"))


def load_shipped_68() -> tuple[np.ndarray, np.ndarray]:
    """The shipped 68-point ``(W (137, 136), mean_face (68, 2))``, checked against their pins.

    Raises
    ------
    MissingResourceError
        The shipped file is missing, unreadable or its arrays differ from the pinned contents.
    """
    path = shipped_path()
    broken = f"the installation is incomplete or damaged (reinstall the app), or {_HOW}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: np.asarray(npz[key]) for key in SHIPPED_SHA256}
    except FileNotFoundError:
        raise MissingResourceError(f"{path} not found: {broken}") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise MissingResourceError(f"{path}: not readable ({err}); {broken}") from None
    for key, pin in SHIPPED_SHA256.items():
        if array_sha256(arrays[key]) != pin:
            raise MissingResourceError(f"{path}: array {key!r} differs from the published "
                                       f"weights (content sha256 mismatch); {broken}")
    return arrays["W"], arrays["mean_face"]


def _load_array(data: bytes, path: Path) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as err:
        raise MissingResourceError(f"{path}: not a readable .npy array ({err}); {_HOW}") from None
    if not isinstance(arr, np.ndarray):
        raise MissingResourceError(f"{path}: expected a .npy array; {_HOW}")
    return arr


def _find(name: str, directory: Path | None) -> Path | None:
    """Locate one file by the search order of the module docstring (None: use the shipped copy)."""
    if directory is not None:
        path = directory / name
        if not path.is_file():
            raise MissingResourceError(f"{path} not found; put {name} there, or {_HOW}")
        return path
    env = os.environ.get(ENV_VAR)
    if env and (Path(env) / name).is_file():
        return Path(env) / name
    if name in file_names("68") and shipped_path().is_file():
        return None
    cached = cache_dir() / name
    if cached.is_file():
        return cached
    where = f"{ENV_VAR}={env!r}" if env else f"{ENV_VAR} (not set)"
    raise MissingResourceError(
        f"{name} not found in {where} nor in {cache_dir()}{_why_missing(name)}; {_HOW}"
    )


def _why_missing(name: str) -> str:
    if name in file_names("68"):
        return f" and the shipped copy {shipped_path()} is missing (reinstall the app)"
    return (" (the 66/49-point weights of the DFECS authors, github.com/Shivansh-ct/PCA-AUs, carry "
            "no licence: the app neither ships nor downloads them)")


def load_frontalization_weights(
    layout: str = "68",
    *,
    directory: str | os.PathLike | None = None,
) -> FrontalizationWeights:
    """Load the frontalization weights of one landmark layout (never from the network).

    Parameters
    ----------
    layout : {'68', '66', '49'}
    directory : path, optional
        A folder that must hold the two files (overrides the search order).

    Returns
    -------
    FrontalizationWeights
        W (137, 136) / (133, 132) / (137, 136), mean face (68, 2) / (66, 2) / (68, 2).
        ``sha256`` is the pin of the published weight file (the shipped arrays are its contents).

    Raises
    ------
    MissingResourceError
        Files missing, damaged (sha256 mismatch) or unreadable.
    """
    w_name, m_name = file_names(layout)
    folder = None if directory is None else Path(directory)
    w_path = _find(w_name, folder)
    m_path = _find(m_name, folder)
    if w_path is None or m_path is None:  # 68 points not (both) in a given folder: shipped copy
        W, mean_face = load_shipped_68()
        source = BUILTIN_PREFIX + SHIPPED_NAME
    else:
        W = _load_array(_verified_bytes(w_path), w_path)
        mean_face = _load_array(_verified_bytes(m_path), m_path)
        source = str(w_path)
    try:
        return FrontalizationWeights(
            W=W, mean_face=mean_face, layout=layout, source=source, sha256=SHA256[w_name]
        )
    except ValueError as err:  # unreachable for pinned files; kept for a clear message
        raise MissingResourceError(f"{source}: {err}; {_HOW}") from None


def load_frontalization_set(
    layouts: tuple[str, ...] | list[str],
    *,
    directory: str | os.PathLike | None = None,
) -> dict[str, FrontalizationWeights]:
    """Weights of several layouts, as a dict by layout (see :func:`load_frontalization_weights`)."""
    return {name: load_frontalization_weights(name, directory=directory) for name in layouts}


def load_frontalization_for(
    mask: np.ndarray,
    *,
    directory: str | os.PathLike | None = None,
) -> dict[str, FrontalizationWeights]:
    """The weights that frames with this ``(n, 68)`` point mask need (68, 66 and/or 49 points).

    This is what the CLI and the GUI call before ``compute_kpm(..., frontalization=...)``:
    a 68-point data set needs only the shipped 68-point weights.
    """
    return load_frontalization_set(required_layouts(mask), directory=directory)
