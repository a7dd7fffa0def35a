"""Shopify global ids: ``gid://shopify/Order/5500000000017`` <-> ``("Order", 5500000000017)``."""

from __future__ import annotations

import re

from graphql import GraphQLError

_GID = re.compile(r"gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>\d+)")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str) -> tuple[str, int]:
    """The kind and numeric id of a GID; Shopify's "Invalid global id" error for anything else."""
    found = _GID.fullmatch(value.strip())
    if found is None:
        raise GraphQLError(
            f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"}
        )
    return found["kind"], int(found["id"])
