"""The vendors' real schema and recorded samples in ../shared/reference, for tests that compare
against them. Import as ``from reference_data import reference_file`` (a module name no other
test file uses: several folders have their own conftest.py, so ``conftest`` is ambiguous)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from graphql import GraphQLSchema

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"


def reference_file(relative: str) -> Path:
    """A file from ../shared/reference, or skip: a user's fresh clone has no ../shared."""
    path = REFERENCE / relative
    if not path.exists():
        pytest.skip(f"../shared/reference/{relative} is not present (only beside the workplace)")
    return path


def shopify_admin_schema() -> GraphQLSchema:
    """Shopify's Admin GraphQL schema (2026-01), or skip. 3.4 MB of SDL, 3 CPU-s to build: built
    once per run and shared by every module that compares against it (the schema is only read)."""
    return _built(str(reference_file("shopify/admin-2026-01.graphql")))


@cache
def _built(path: str) -> GraphQLSchema:
    from graphql import build_schema

    with open(path, encoding="utf-8") as sdl:
        return build_schema(sdl.read(), assume_valid=True)
