"""Persistent application settings: every QSettings access goes through this module.

Keys live in :data:`DEFAULTS` (with their default and type) so that a typo cannot create a
setting nobody reads. The test suite points QSettings at a temporary directory
(``QSettings.setPath``) before any window is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

ORGANIZATION = "DFECS"
APPLICATION = "DFECS Studio"
MAX_RECENT = 10

#: Every setting: key -> default value (the default's type is the stored type).
DEFAULTS: dict[str, Any] = {
    "window/geometry": QByteArray(),
    "window/state": QByteArray(),
    "projects/recent": [],
    "projects/last_dir": "",
    "app/first_run_done": False,
    "train/beta": 0.05,
    "train/seed": 0,
    "au/scale": 3.0,
    "morph/intensity": 2.0,
    "morph/unit_intensity": 1.0,  # in units of the AU's p95 activation (core.intensity)
    "au/arrow_scale": 1.0,  # arrow length multiplier over the true motion
}


def ensure_identity() -> None:
    """Set the organization and application names QSettings uses to find its file."""
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANIZATION)
    if not QCoreApplication.applicationName():
        QCoreApplication.setApplicationName(APPLICATION)


def _qsettings() -> QSettings:
    ensure_identity()
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION,
                     APPLICATION)


def _coerce(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            return default
    if isinstance(default, list):
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else default
    if isinstance(default, QByteArray):
        return value if isinstance(value, QByteArray) else QByteArray(value) if isinstance(
            value, (bytes, bytearray)) else default
    return str(value)


def get(key: str) -> Any:
    """The stored value of ``key`` (one of :data:`DEFAULTS`), coerced to its default's type."""
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}")
    return _coerce(_qsettings().value(key), DEFAULTS[key])


def set(key: str, value: Any) -> None:  # noqa: A001 - settings.set reads well
    """Store ``value`` under ``key`` (one of :data:`DEFAULTS`)."""
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}")
    s = _qsettings()
    s.setValue(key, value)
    s.sync()


def recent_projects() -> list[str]:
    """Recently opened or saved project files that still exist, newest first."""
    return [p for p in get("projects/recent") if Path(p).exists()]


def add_recent_project(path: str | Path) -> list[str]:
    """Put ``path`` first in the recent-projects list; returns the new list."""
    path = str(Path(path).resolve())
    items = [path] + [p for p in get("projects/recent") if p != path]
    items = items[:MAX_RECENT]
    set("projects/recent", items)
    return items


def settings_file() -> str:
    """Where the settings are stored (for the About box and for tests)."""
    return _qsettings().fileName()


def reset() -> None:
    """Forget every stored setting (tests; a "reset preferences" command)."""
    s = _qsettings()
    s.clear()
    s.sync()
