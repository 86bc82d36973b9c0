"""Find, verify and load the landmark frontalization weights (Vonikakis & Winkler, ICIP 2020).

Search order for a layout's two files (``frontalization_weights_<L>.npy`` and
``landmarks_mean_face_<L>.npy``, L in 68, 66, 49):

1. the ``directory`` argument (the CLI's ``--frontalization-dir``), if given — it must hold them;
2. the folder named by the environment variable ``DFECS_FRONTALIZATION_DIR``;
3. the user cache, ``$XDG_CACHE_HOME/dfecs-studio/frontalization`` (default
   ``~/.cache/dfecs-studio/frontalization``);
4. a download into that cache — only the 68-point weights, which are public under the MIT
   license (github.com/bbonik/facial-landmark-frontalization, ``data/frontalization_weights.npy``
   and ``data/landmarks_mean_face.npy``).

Every file is checked against a pinned sha256 wherever it comes from, so the KPM units never
silently change. The 66- and 49-point weights were retrained by the DFECS authors and are
published without a license in github.com/Shivansh-ct/PCA-AUs
(``FacialLandmarkFrontalization_66/data`` and ``FacialLandmarkFrontalization_49/data``); the
app does not download them: put them (renamed as above) in a folder and point
``DFECS_FRONTALIZATION_DIR`` at it. Any failure raises :class:`MissingResourceError` saying
what is missing and how to proceed.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from pathlib import Path

import numpy as np

from dfecs_app.core.geometry import FRONTALIZATION_LAYOUTS, FrontalizationWeights, required_layouts
from dfecs_app.errors import MissingResourceError
from dfecs_app.io.atomic import write_bytes_atomic

ENV_VAR = "DFECS_FRONTALIZATION_DIR"

_REPO_68 = "https://raw.githubusercontent.com/bbonik/facial-landmark-frontalization/master/data/"

#: Pinned sha256 of every known file (the 66/49 pins were computed from the authors' files).
SHA256: dict[str, str] = {
    "frontalization_weights_68.npy": "4f5ad9ebadf11a0e29235b50483e83344b545b1481cd9725ca36adcc5821a160",
    "landmarks_mean_face_68.npy": "a6b55ccb4087662fbf83be5f913c71e67a095d5fdc22e3b0e0aaab6bd1d323ca",
    "frontalization_weights_66.npy": "a86a942ba3848a1233e9dad7bedd49cb46ecdf59c9861b5ce98ce42f8c16972d",
    "landmarks_mean_face_66.npy": "f4a634137566495d45fcacf964d62af126178875b2ad73c30d0684c4c1364511",
    "frontalization_weights_49.npy": "acea43ad6bfa344e23f0384fab88368f754c560d66615d62042a29d20bba3765",
    "landmarks_mean_face_49.npy": "08dbc8c05160895e0cf79620be0ff0178eab6928558dc02041c30ee054c3594f",
}

#: Public download URLs (MIT-licensed files only).
URLS: dict[str, str] = {
    "frontalization_weights_68.npy": _REPO_68 + "frontalization_weights.npy",
    "landmarks_mean_face_68.npy": _REPO_68 + "landmarks_mean_face.npy",
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


def download_verified(url: str, name: str, dest_dir: Path, timeout: float = 30.0) -> Path:
    """Fetch ``url``, check it against the pin of ``name``, and write it atomically into ``dest_dir``.

    Raises
    ------
    MissingResourceError
        On any network error or a sha256 mismatch (nothing is written then).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # sha256 pinned below
            data = response.read()
    except (OSError, ValueError) as err:
        raise MissingResourceError(
            f"could not download {name} from {url} ({err}); {_HOW}"
        ) from None
    got = sha256_of(data)
    if got != SHA256[name]:
        raise MissingResourceError(
            f"downloaded {name} from {url} has sha256 {got}, not the pinned {SHA256[name]}; "
            f"nothing was saved; {_HOW}"
        )
    dest = dest_dir / name
    write_bytes_atomic(dest, data)
    return dest


def _load_array(data: bytes, path: Path) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as err:
        raise MissingResourceError(f"{path}: not a readable .npy array ({err}); {_HOW}") from None
    if not isinstance(arr, np.ndarray):
        raise MissingResourceError(f"{path}: expected a .npy array; {_HOW}")
    return arr


def _find(name: str, directory: Path | None, download: bool) -> Path:
    """Locate one file by the search order of the module docstring."""
    if directory is not None:
        path = directory / name
        if not path.is_file():
            raise MissingResourceError(f"{path} not found; put {name} there, or {_HOW}")
        return path
    env = os.environ.get(ENV_VAR)
    if env and (Path(env) / name).is_file():
        return Path(env) / name
    cached = cache_dir() / name
    if cached.is_file():
        if sha256_of(cached.read_bytes()) == SHA256[name]:
            return cached
        if not (download and name in URLS):
            _verified_bytes(cached)  # raises the mismatch error
    if download and name in URLS:
        return download_verified(URLS[name], name, cache_dir())
    where = f"{ENV_VAR}={env!r}" if env else f"{ENV_VAR} (not set)"
    extra = (
        " (the 66/49-point weights of the DFECS authors, github.com/Shivansh-ct/PCA-AUs, are not "
        "downloaded automatically)"
        if name not in URLS
        else ""
    )
    raise MissingResourceError(f"{name} not found in {where} nor in {cache_dir()}{extra}; {_HOW}")


def load_frontalization_weights(
    layout: str = "68",
    *,
    directory: str | os.PathLike | None = None,
    download: bool = True,
) -> FrontalizationWeights:
    """Load (and on first use download) the frontalization weights of one landmark layout.

    Parameters
    ----------
    layout : {'68', '66', '49'}
    directory : path, optional
        A folder that must hold the two files (overrides the search order).
    download : bool
        Allow downloading the public 68-point files into the user cache.

    Returns
    -------
    FrontalizationWeights
        W (137, 136) / (133, 132) / (137, 136), mean face (68, 2) / (66, 2) / (68, 2).

    Raises
    ------
    MissingResourceError
        Files missing, damaged (sha256 mismatch), unreadable, or not downloadable.
    """
    w_name, m_name = file_names(layout)
    folder = None if directory is None else Path(directory)
    w_path = _find(w_name, folder, download)
    m_path = _find(m_name, folder, download)
    W = _load_array(_verified_bytes(w_path), w_path)
    mean_face = _load_array(_verified_bytes(m_path), m_path)
    try:
        return FrontalizationWeights(
            W=W, mean_face=mean_face, layout=layout, source=str(w_path), sha256=SHA256[w_name]
        )
    except ValueError as err:  # unreachable for pinned files; kept for a clear message
        raise MissingResourceError(f"{w_path}: {err}; {_HOW}") from None


def load_frontalization_set(
    layouts: tuple[str, ...] | list[str],
    *,
    directory: str | os.PathLike | None = None,
    download: bool = True,
) -> dict[str, FrontalizationWeights]:
    """Weights of several layouts, as a dict by layout (see :func:`load_frontalization_weights`)."""
    return {
        name: load_frontalization_weights(name, directory=directory, download=download)
        for name in layouts
    }


def load_frontalization_for(
    mask: np.ndarray,
    *,
    directory: str | os.PathLike | None = None,
    download: bool = True,
) -> dict[str, FrontalizationWeights]:
    """The weights that frames with this ``(n, 68)`` point mask need (68, 66 and/or 49 points).

    This is what the CLI and the GUI call before ``compute_kpm(..., frontalization=...)``:
    a 68-point data set needs only the public 68-point weights.
    """
    return load_frontalization_set(required_layouts(mask), directory=directory, download=download)
