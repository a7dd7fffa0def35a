"""``tagsAdd`` / ``tagsRemove`` with Shopify's tag rules (all seen in real captures).

- ``tags`` may be a list or one comma-separated string; every element is split on commas and
  trimmed (``"blue, green"`` and ``["blue,green"]`` both add two tags).
- Comparison ignores case: adding ``red`` to ``Red`` keeps ``Red``; removing ``red`` removes it.
- A resource holds at most 250 tags: more is a userError and nothing changes.
- An unknown id answers ``node: null`` with ``userErrors [{field: ["id"], message: "Customer does
  not exist"}]`` over HTTP 200.

Writes bump the resource's ``updatedAt`` (a tag change is an update), so an incremental sync sees
the customers it has just tagged, as it would on a real shop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.gid import parse_gid
from sandbox.world import Customer, Order

TAG_LIMIT = 250


def split_tags(tags: list[str]) -> list[str]:
    return [part.strip() for tag in tags for part in tag.split(",") if part.strip()]


def with_added(existing: list[str], new: list[str]) -> list[str]:
    result = list(existing)
    seen = {tag.lower() for tag in existing}
    for tag in split_tags(new):
        if tag.lower() not in seen:
            seen.add(tag.lower())
            result.append(tag)
    return result


def without(existing: list[str], gone: list[str]) -> list[str]:
    drop = {tag.lower() for tag in split_tags(gone)}
    return [tag for tag in existing if tag.lower() not in drop]


def tags_add(_root: Any, info: GraphQLResolveInfo[Any], id: str, tags: list[str]) -> dict[str, Any]:
    return _write(info, id, lambda current: with_added(current, tags))


def tags_remove(
    _root: Any, info: GraphQLResolveInfo[Any], id: str, tags: list[str]
) -> dict[str, Any]:
    return _write(info, id, lambda current: without(current, tags))


def _write(info: GraphQLResolveInfo[Any], id_: str, change: Any) -> dict[str, Any]:
    context = info.context
    kind, number = parse_gid(id_)
    target = context.catalog.node(kind, number) if kind in {"Customer", "Order"} else None
    if not isinstance(target, Customer | Order):
        return _error(["id"], f"{kind} does not exist")
    with context.world.lock:
        updated = change(target.tags)
        if len(updated) > TAG_LIMIT:
            return _error(["tags"], f"Tags cannot be more than {TAG_LIMIT}")
        if [t.lower() for t in updated] != [t.lower() for t in target.tags]:
            target.tags[:] = updated
            target.updated_at = _later(context.clock(), target.updated_at)
            context.catalog.changed()
    return {"node": target, "userErrors": []}


def _later(now: datetime, previous: datetime) -> datetime:
    """Now, but never before the previous update (the world may be generated 'in the future')."""
    return max(now.replace(microsecond=0), previous + timedelta(seconds=1))


def _error(field: list[str], message: str) -> dict[str, Any]:
    return {"node": None, "userErrors": [{"field": field, "message": message}]}
