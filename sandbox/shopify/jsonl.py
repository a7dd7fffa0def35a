"""The JSONL file of a bulk query's result, as Shopify writes it.

One line per object: each object of the top connection, in order, followed by the objects of its
nested connections, which carry ``__parentId``; ``/`` escaped as Shopify escapes it.
"""

from __future__ import annotations

import json
from typing import Any


def jsonl_lines(data: dict[str, Any]) -> tuple[list[str], int]:
    """Lines of the result file, and how many are roots (objects of the top connection)."""
    lines: list[str] = []
    roots = 0
    for value in data.values():
        if _is_connection(value):
            for item in _items(value):
                roots += 1
                _emit(item, None, lines)
    return lines, roots


def _emit(obj: dict[str, Any], parent_id: str | None, lines: list[str]) -> None:
    own = {k: v for k, v in obj.items() if not _is_connection(v)}
    if parent_id is not None:
        own["__parentId"] = parent_id
    lines.append(json.dumps(own, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/"))
    for value in obj.values():
        if _is_connection(value):
            for item in _items(value):
                _emit(item, obj.get("id"), lines)


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"edges", "nodes", "pageInfo"}


def _items(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if connection.get("nodes") is not None:
        return list(connection["nodes"])
    return [edge["node"] for edge in connection.get("edges") or () if edge.get("node")]
