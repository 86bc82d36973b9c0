"""Shared fixtures. Real data come from ../shared/data (beside the checkout, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DFECS_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Tests use the shared frontalization weights, never a download.
os.environ.setdefault("DFECS_FRONTALIZATION_DIR", str(SHARED_DATA / "frontalization"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real reference data folder (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"reference data not found at {SHARED_DATA} (CI puts ../shared beside the checkout)")
    return SHARED_DATA
