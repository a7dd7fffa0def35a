"""User endpoints: search, show, update, update_many, tags, user fields.

Behaviour as documented (zendesk-notes 2.2-2.4) and recorded (samples/): a partial
``user_fields`` object merges per key and only fields defined on the account are kept; bulk
updates take at most 100 users (400 ``TooManyValues``) and answer with a queued job; tag
endpoints add (PUT), set (POST) and remove (DELETE, 204).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.loopback import Request, Response
from sandbox.world import Ticket, ZendeskUser
from sandbox.zendesk import jobs
from sandbox.zendesk.account import Account
from sandbox.zendesk.render import NOT_FOUND, error, timestamp, user_json
from sandbox.zendesk.tagging import TagsInvalid, added, parse_tags, removed

MAX_BULK = 100
SEARCH_PER_PAGE = 100


def invalid(field: str, description: str) -> Response:
    details = {field: [{"description": description, "error": "InvalidValue"}]}
    return Response.json(422, error("RecordInvalid", "Record validation errors", details))


def show(account: Account, request: Request) -> Response:
    user = account.user(int(request.params["id"]))
    if user is None:
        return Response.json(404, NOT_FOUND)
    return Response.json(200, {"user": _render(account, user, request)})


def me(account: Account, request: Request) -> Response:
    return Response.json(200, {"user": _render(account, account.agent, request)})


def show_many(account: Account, request: Request) -> Response:
    ids = _ids(request.arg("ids") or "")
    found = [u for u in (account.user(i) for i in ids or []) if u is not None]
    return Response.json(200, {"users": [_render(account, u, request) for u in found]})


def search(account: Account, request: Request) -> Response:
    """Offset-paginated search; ``email:`` matches the whole address, case-insensitively."""
    query = request.arg("query")
    if not query:
        return Response.json(400, error("InvalidValue", "query parameter is required"))
    found = [user for user in account.users() if _matches(user, query)]
    page = whole_number(request.arg("page"), 1)
    if page is None:
        return Response.json(400, error("InvalidValue", "page must be a positive integer"))
    chunk = found[(page - 1) * SEARCH_PER_PAGE : page * SEARCH_PER_PAGE]
    base = f"{request.base_url}/api/v2/users/search.json?query={quote(query)}"
    more = page * SEARCH_PER_PAGE < len(found)
    return Response.json(
        200,
        {
            "users": [_render(account, u, request) for u in chunk],
            "next_page": f"{base}&page={page + 1}" if more else None,
            "previous_page": f"{base}&page={page - 1}" if page > 1 else None,
            "count": len(found),
        },
    )


def whole_number(raw: str | None, default: int) -> int | None:
    """A positive integer query parameter (``default`` when absent), None when malformed."""
    if raw is None:
        return default
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _matches(user: ZendeskUser, query: str) -> bool:
    for term in query.split():
        key, _, value = term.rpartition(":")
        value = value.strip('"').lower()
        email = (user.email or "").strip().lower()
        if key == "email" and email != value:
            return False
        if key == "role" and user.role != value:
            return False
        if key == "name" and value not in user.name.lower():
            return False
        if not key and value not in email and value not in user.name.lower():
            return False
    return True


def update(account: Account, request: Request) -> Response:
    user = account.user(int(request.params["id"]))
    if user is None:
        return Response.json(404, NOT_FOUND)
    allowance = account.user_update_allowance(user.id)
    if not allowance.allowed:
        # The real answer is plain text (a community post quotes it, zendesk-notes 2.2).
        limit = f"total={allowance.limit}; remaining=0; resets={allowance.reset_seconds}"
        return Response.text(
            429,
            "You have exceeded the rate limit for updating a single unique user. "
            "Please wait before updating this user again.",
            {
                "Retry-After": str(allowance.reset_seconds),
                "Zendesk-RateLimit-create-update-user": limit,
            },
        )
    changes = _body_object(request, "user")
    if changes is None:
        return Response.json(400, error("InvalidValue", "user object is required"))
    problem = _apply(account, user, changes)
    if problem is not None:
        return problem
    return Response.json(200, {"user": _render(account, user, request)})


def update_many(account: Account, request: Request) -> Response:
    """Batch ``{"users": [{id, ...}]}`` or bulk ``?ids=1,2`` with ``{"user": {...}}``."""
    items = bulk_items(request, "user")
    if isinstance(items, Response):
        return items
    results = [_update_one(account, item) for item in items]
    job = account.jobs.queue("user", results)
    return Response.json(200, account.jobs.render(job, request.base_url))


def bulk_items(request: Request, noun: str) -> list[dict[str, Any]] | Response:
    """The items of an update_many call: ``?ids=`` + one change, or a list; at most 100."""
    try:
        body = request.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    items: Any
    if request.arg("ids") is not None:
        ids = _ids(request.arg("ids") or "")
        if ids is None or not isinstance(body.get(noun), dict):
            message = f"ids and a {noun} object are required"
            return Response.json(400, error("InvalidValue", message))
        items = [{**body[noun], "id": i} for i in ids]
    else:
        items = body.get(f"{noun}s")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            message = f"{noun}s must be a list of {noun} objects"
            return Response.json(400, error("InvalidValue", message))
    if len(items) > MAX_BULK:
        # samples/error_400_TooManyValues_users_create_many.json, worded for updates.
        message = f"Maximum {MAX_BULK} {noun}s may be updated per call"
        return Response.json(400, error("TooManyValues", message))
    return list(items)


def _update_one(account: Account, item: dict[str, Any]) -> dict[str, Any]:
    user_id = item.get("id")
    user = account.user(user_id) if isinstance(user_id, int) else None
    if user is None:
        return jobs.not_found(user_id)
    problem = _apply(account, user, item)
    if problem is not None:
        return jobs.failed(user.id, "UserUpdateError", problem.body.decode())
    return jobs.updated(user.id)


def _apply(account: Account, user: ZendeskUser, changes: dict[str, Any]) -> Response | None:
    """Write a partial user; a 422 answer when a value is invalid (then nothing is written)."""
    try:
        tags = parse_tags(changes["tags"]) if "tags" in changes else None
    except TagsInvalid as bad:
        return invalid("tags", str(bad))
    fields = changes.get("user_fields") or {}
    if not isinstance(fields, dict):
        return invalid("user_fields", "user_fields must be an object")
    defined = account.field_keys()
    values: dict[str, Any] = {}
    for key, value in fields.items():
        if key in defined:
            coerced = _coerce(defined[key], value)
            if isinstance(coerced, Response):
                return coerced
            values[key] = coerced
    with account.world.lock:
        if tags is not None:
            user.tags[:] = tags
        if isinstance(changes.get("name"), str):
            user.name = changes["name"]
        user.user_fields.update(values)
        user.updated_at = account.now()
    return None


def _coerce(kind: str, value: Any) -> Any:
    if value is None or kind not in ("integer", "decimal"):
        return value
    try:
        number = float(value) if kind == "decimal" else int(value)
    except (TypeError, ValueError):
        return invalid("user_fields", f"{value!r} is not a number")
    return number


def tags(account: Account, request: Request) -> Response:
    """GET shows, PUT adds, POST sets, DELETE removes (204) a user's tags."""
    user = account.user(int(request.params["id"]))
    if user is None:
        return Response.json(404, NOT_FOUND)
    if request.method == "GET":
        return Response.json(200, {"tags": list(user.tags)})
    return edit_tags(account, user, request)


def edit_tags(account: Account, owner: ZendeskUser | Ticket, request: Request) -> Response:
    """The Tags API on a user or a ticket: PUT adds, POST sets, DELETE removes (answering 204)."""
    try:
        given = parse_tags((request.json() or {}).get("tags", []))
    except (TagsInvalid, ValueError, AttributeError) as bad:
        return invalid("tags", str(bad))
    with account.world.lock:
        if request.method == "PUT":
            owner.tags[:] = added(owner.tags, given)
        elif request.method == "POST":
            owner.tags[:] = given
        else:
            owner.tags[:] = removed(owner.tags, given)
        owner.updated_at = account.now()
    if request.method == "DELETE":
        return Response(204)
    return Response.json(200, {"tags": list(owner.tags)})


def user_fields(account: Account, request: Request) -> Response:
    rendered = [
        _field_json(account, request, key, kind) for key, kind in account.field_keys().items()
    ]
    return Response.json(
        200,
        {"user_fields": rendered, "next_page": None, "previous_page": None, "count": len(rendered)},
    )


def create_user_field(account: Account, request: Request) -> Response:
    field = _body_object(request, "user_field")
    key = field.get("key") if field else None
    if field is None or not isinstance(key, str) or not key or key.isdigit():
        return invalid("key", "Key: is invalid")
    kind = field.get("type", "text")
    with account.world.lock:
        if key in account.world.zendesk_user_field_defs:
            return invalid("key", "Key: has already been taken")
        account.world.zendesk_user_field_defs[key] = kind
        account.user_field_created[key] = account.now()
    rendered = _field_json(account, request, key, kind, field)
    return Response.json(201, {"user_field": rendered}, {"Location": rendered["url"]})


def _field_json(
    account: Account, request: Request, key: str, kind: str, given: dict[str, Any] | None = None
) -> dict[str, Any]:
    given = given or {}
    field_id = account.field_id(key)
    created = timestamp(account.user_field_created.get(key, account.world.now))
    title = given.get("title") or key.replace("_", " ").title()
    description = given.get("description") or ""
    return {
        "url": f"{request.base_url}/api/v2/user_fields/{field_id}.json",
        "id": field_id,
        "type": kind,
        "key": key,
        "title": title,
        "description": description,
        "raw_title": title,
        "raw_description": description,
        "position": given.get("position", 9999),
        "active": given.get("active", True),
        "system": False,
        "regexp_for_validation": None,
        "created_at": created,
        "updated_at": created,
    }


def _render(account: Account, user: ZendeskUser, request: Request) -> dict[str, Any]:
    with account.world.lock:
        return user_json(user, request.base_url, account.field_keys(), agent=user is account.agent)


def _body_object(request: Request, name: str) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, dict) else None


def _ids(raw: str) -> list[int] | None:
    parts = [part for part in raw.split(",") if part]
    if not parts or not all(part.isdigit() for part in parts):
        return None
    return [int(part) for part in parts]
