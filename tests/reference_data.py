"""The vendors' real schema and recorded samples in ../shared/reference, for tests that compare
against them. Import as ``from reference_data import reference_file`` (a module name no other
test file uses: several folders have their own conftest.py, so ``conftest`` is ambiguous)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"


def reference_file(relative: str) -> Path:
    """A file from ../shared/reference, or skip: a user's fresh clone has no ../shared."""
    path = REFERENCE / relative
    if not path.exists():
        pytest.skip(f"../shared/reference/{relative} is not present (only beside the workplace)")
    return path
