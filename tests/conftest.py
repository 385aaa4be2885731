"""Shared test fixtures: where Magenta's reference fixtures live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"


def magenta_fixtures_dir() -> Path:
    return Path(os.environ.get("LATENTJAM_FIXTURES", _DEFAULT_FIXTURES))


@pytest.fixture(scope="session")
def magenta_fixtures() -> Path:
    """``../shared/fixtures/magenta`` (or $LATENTJAM_FIXTURES); skips when absent."""
    path = magenta_fixtures_dir()
    if not (path / "cat-mel_2bar_small" / "reference.json").is_file():
        pytest.skip(f"Magenta reference fixtures not found at {path} (set LATENTJAM_FIXTURES)")
    return path
