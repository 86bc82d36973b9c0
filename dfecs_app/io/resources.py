"""The app's built-in resources folder and the stable names project files give its files.

Built-in files (the demo neutral face, the shipped frontalization weights, ...) live in the
package folder ``dfecs_app/resources/`` — so a wheel, an installed copy and a frozen bundle all
carry them — or in the folder named by the ``DFECS_RESOURCES`` environment variable. A project that refers to
one stores ``builtin:<path inside resources>`` (e.g. ``builtin:demo/astronaut.png``) instead
of a path relative to the project, so it still opens when the app is installed elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["BUILTIN_PREFIX", "resources_dir", "builtin_name", "resolve_builtin", "is_builtin"]

#: Prefix of built-in resource names in project files.
BUILTIN_PREFIX = "builtin:"


def resources_dir() -> Path:
    """The ``resources`` folder: ``$DFECS_RESOURCES`` or the package's ``dfecs_app/resources``."""
    env = os.environ.get("DFECS_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "resources"


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def is_builtin(text: str) -> bool:
    """Whether a stored path string names a built-in resource (``builtin:...``)."""
    return text.startswith(BUILTIN_PREFIX)


def builtin_name(path: str | os.PathLike) -> str | None:
    """``builtin:<relative POSIX path>`` when ``path`` lies in :func:`resources_dir`, else None.

    >>> builtin_name(resources_dir() / "demo" / "astronaut.png")
    'builtin:demo/astronaut.png'
    """
    try:
        rel = _absolute(path).relative_to(_absolute(resources_dir()))
    except ValueError:
        return None
    if not rel.parts:
        return None
    return BUILTIN_PREFIX + PurePosixPath(*rel.parts).as_posix()


def resolve_builtin(name: str) -> Path:
    """The file a ``builtin:...`` name refers to in the current :func:`resources_dir`.

    Raises
    ------
    ValueError
        ``name`` is not a built-in name, or leaves the resources folder (``..``).
    """
    if not is_builtin(name):
        raise ValueError(f"not a built-in resource name: {name!r}")
    rel = PurePosixPath(name[len(BUILTIN_PREFIX):])
    if not rel.parts or rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"a built-in resource name must be a path inside the resources "
                         f"folder: {name!r}")
    return _absolute(resources_dir().joinpath(*rel.parts))
