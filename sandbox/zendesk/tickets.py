"""Ticket endpoints: show, create (with an internal note), tags, update_many, the export.

Vendor rules kept (zendesk-notes 2.1, 2.4, 2.5): the Add/Set/Remove Tags endpoints cannot change a
closed ticket, Update Many Tickets can (``additional_tags`` / ``remove_tags``, at most 100); a
ticket is created with 201, ``{"ticket", "audit"}`` and a ``Location`` header; its first comment
is an internal note when ``public`` is false.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.loopback import Request, Response
from sandbox.world import TICKET_STATUSES, Ticket, TicketComment, ZendeskUser
from sandbox.zendesk import export, jobs
from sandbox.zendesk.account import Account
from sandbox.zendesk.render import NOT_FOUND, audit_json, error, ticket_json, user_json
from sandbox.zendesk.tagging import TagsInvalid, added, parse_tags, removed
from sandbox.zendesk.users import bulk_items, edit_tags, invalid, whole_number

CLOSED = "closed"
LIST_PER_PAGE = 100


def show(account: Account, request: Request) -> Response:
    ticket = account.ticket(int(request.params["id"]))
    if ticket is None:
        return Response.json(404, NOT_FOUND)
    return Response.json(200, {"ticket": render(account, ticket, request)})


def update(account: Account, request: Request) -> Response:
    """``PUT /api/v2/tickets/{id}.json``: a new comment (internal when ``public: false``), tags,
    status; the updated ticket and its audit."""
    ticket = account.ticket(int(request.params["id"]))
    if ticket is None:
        return Response.json(404, NOT_FOUND)
    fields = _ticket_object(request)
    if fields is None:
        return Response.json(400, error("InvalidValue", "ticket object is required"))
    comment = fields.get("comment")
    body = comment.get("body") if isinstance(comment, dict) else None
    if comment is not None and (not isinstance(body, str) or not body.strip()):
        return invalid("comment", "Comment: cannot be blank")
    result = _update_one(account, {**fields, "id": ticket.id})
    if result.get("status") == "Failed":
        return invalid("ticket", str(result.get("details") or result.get("error")))
    now = account.now()
    with account.world.lock:
        if isinstance(comment, dict) and isinstance(body, str):
            public = comment.get("public", True) is not False
            ticket.comments.append(
                TicketComment(account.world.next_id("comment"), account.agent.id, body, public, now)
            )
        ticket.updated_at = now
    rendered = render(account, ticket, request)
    client = request.headers.get("user-agent", "")
    audit = audit_json(ticket, account.agent.id, client, account.world.next_id("audit"))
    return Response.json(200, {"ticket": rendered, "audit": audit})


def list_tickets(account: Account, request: Request) -> Response:
    """``GET /api/v2/tickets.json``, offset-paginated by id; ``external_id`` filters (List Tickets,
    read from the database: a ticket created a second ago is there, unlike in search)."""
    wanted = request.arg("external_id")
    with account.world.lock:
        ids = sorted(account.world.tickets)
    if wanted is not None:
        ids = [i for i in ids if account.extras(i).get("external_id") == wanted]
    size = whole_number(request.arg("per_page"), LIST_PER_PAGE)
    page = whole_number(request.arg("page"), 1)
    if size is None or page is None:
        return Response.json(400, error("InvalidValue", "page and per_page must be positive"))
    per_page = min(size, LIST_PER_PAGE)
    chunk = [account.world.tickets[i] for i in ids[(page - 1) * per_page : page * per_page]]
    base = f"{request.base_url}/api/v2/tickets.json?per_page={per_page}"
    if wanted is not None:
        base += f"&external_id={quote(wanted)}"
    return Response.json(
        200,
        {
            "tickets": [render(account, t, request) for t in chunk],
            "next_page": f"{base}&page={page + 1}" if page * per_page < len(ids) else None,
            "previous_page": f"{base}&page={page - 1}" if page > 1 else None,
            "count": len(ids),
        },
    )


def render(
    account: Account, ticket: Ticket, request: Request, *, generated: bool = False
) -> dict[str, Any]:
    extras = account.extras(ticket.id)
    with account.world.lock:
        return ticket_json(ticket, request.base_url, **extras, generated=generated)


def create(account: Account, request: Request) -> Response:
    """``POST /api/v2/tickets.json``: the new ticket and its creation audit."""
    fields = _ticket_object(request)
    if fields is None:
        return Response.json(400, error("InvalidValue", "ticket object is required"))
    requester = _requester(account, fields)
    if requester is None:
        return invalid("requester", "Requester: cannot be blank")
    given_comment = fields.get("comment")
    comment: dict[str, Any] = given_comment if isinstance(given_comment, dict) else {}
    body = comment.get("body") or fields.get("description")
    if not isinstance(body, str) or not body.strip():
        return invalid("base", "Description: cannot be blank")
    try:
        tags = parse_tags(fields.get("tags", []))
    except TagsInvalid as bad:
        return invalid("tags", str(bad))
    status = fields.get("status") or ("open" if fields.get("assignee_id") else "new")
    if status not in TICKET_STATUSES:
        return invalid("status", f"Status: {status} is not valid")
    ticket = _store(account, fields, requester, body, comment.get("public", True), tags, status)
    rendered = render(account, ticket, request)
    client = request.headers.get("user-agent", "")
    audit = audit_json(ticket, account.agent.id, client, account.world.next_id("audit"))
    if account.webhook is not None:
        account.webhook(ticket)
    return Response.json(201, {"ticket": rendered, "audit": audit}, {"Location": rendered["url"]})


def _store(
    account: Account,
    fields: dict[str, Any],
    requester: ZendeskUser,
    body: str,
    public: Any,
    tags: list[str],
    status: str,
) -> Ticket:
    now = account.now()
    world = account.world
    with world.lock:
        note = TicketComment(
            world.next_id("comment"), account.agent.id, body, public is not False, now
        )
        ticket = Ticket(
            id=world.next_id("ticket"),
            requester_id=requester.id,
            status=status,
            subject=str(fields.get("subject") or body.splitlines()[0][:80]),
            channel="api",
            tags=tags,
            created_at=now,
            updated_at=now,
            comments=[note],
            priority=fields.get("priority"),
        )
        world.add_ticket(ticket)
        account.ticket_extras[ticket.id] = {
            "submitter_id": account.agent.id,
            "assignee_id": fields.get("assignee_id"),
            "group_id": fields.get("group_id"),
            "external_id": fields.get("external_id"),
        }
    return ticket


def _requester(account: Account, fields: dict[str, Any]) -> ZendeskUser | None:
    """By ``requester_id``, or by ``requester: {email, name}`` (found, else created)."""
    if isinstance(fields.get("requester_id"), int):
        return account.user(fields["requester_id"])
    given = fields.get("requester")
    if not isinstance(given, dict):
        return None
    email = given.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    wanted = email.strip().lower()
    with account.world.lock:
        for user in account.users():
            if (user.email or "").strip().lower() == wanted:
                return user
        now = account.now()
        user = ZendeskUser(
            id=account.world.next_id("zendesk_user"),
            email=email.strip(),
            name=str(given.get("name") or email.split("@")[0]),
            tags=[],
            user_fields={},
            created_at=now,
            updated_at=now,
        )
        account.world.zendesk_users[user.id] = user
    return user


def tags(account: Account, request: Request) -> Response:
    ticket = account.ticket(int(request.params["id"]))
    if ticket is None:
        return Response.json(404, NOT_FOUND)
    if request.method == "GET":
        return Response.json(200, {"tags": list(ticket.tags)})
    if ticket.status == CLOSED:
        # "cannot be used to add, update, or remove tags on closed tickets" (zendesk-notes 2.4).
        return invalid("status", "Status: closed prevents ticket update")
    return edit_tags(account, ticket, request)


def update_many(account: Account, request: Request) -> Response:
    """Bulk ``?ids=1,2`` + ``{"ticket": {...}}`` or batch ``{"tickets": [{id, ...}]}``."""
    items = bulk_items(request, "ticket")
    if isinstance(items, Response):
        return items
    results = [_update_one(account, item) for item in items]
    job = account.jobs.queue("ticket", results)
    return Response.json(200, account.jobs.render(job, request.base_url))


def _update_one(account: Account, item: dict[str, Any]) -> dict[str, Any]:
    ticket_id = item.get("id")
    ticket = account.ticket(ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        return jobs.not_found(ticket_id)
    try:
        extra = parse_tags(item.get("additional_tags", []))
        gone = parse_tags(item.get("remove_tags", []))
        replacing = parse_tags(item["tags"]) if "tags" in item else None
    except TagsInvalid as bad:
        return jobs.failed(ticket.id, "InvalidValue", str(bad))
    status = item.get("status")
    if status is not None and status not in TICKET_STATUSES:
        return jobs.failed(ticket.id, "InvalidValue", f"Status: {status} is not valid")
    with account.world.lock:
        if replacing is not None:
            ticket.tags[:] = replacing
        ticket.tags[:] = removed(added(ticket.tags, extra), gone)
        if status is not None:
            ticket.status = status
        ticket.updated_at = account.now()
    return jobs.updated(ticket.id)


def incremental_export(account: Account, request: Request) -> Response:
    now = int(account.now().timestamp())
    try:
        per_page = export.parse_per_page(request.arg("per_page"))
        after = export.start_position(request.arg("start_time"), request.arg("cursor"), now)
    except export.ExportRequestError as bad:
        return Response.json(400, error("InvalidValue", str(bad)))
    with account.world.lock:
        tickets = list(account.world.tickets.values())
    hold_back = account.options.export_hold_back_seconds
    chosen = export.page(tickets, after, per_page or export.MAX_PER_PAGE, now, hold_back)
    payload: dict[str, Any] = {
        "tickets": [render(account, t, request, generated=True) for t in chosen.tickets]
    }
    if "users" in (request.arg("include") or "").split(","):
        payload["users"] = _sideloaded_users(account, chosen.tickets, request)
    payload.update(chosen.links(request.base_url, per_page))
    return Response.json(200, payload)


def _sideloaded_users(
    account: Account, tickets: list[Ticket], request: Request
) -> list[dict[str, Any]]:
    ids = dict.fromkeys(
        user_id
        for t in tickets
        for user_id in (t.requester_id, account.extras(t.id).get("submitter_id"))
        if user_id is not None
    )
    keys = account.field_keys()
    with account.world.lock:
        users = [u for u in (account.user(i) for i in ids) if u is not None]
        return [user_json(u, request.base_url, keys, agent=u is account.agent) for u in users]


def _ticket_object(request: Request) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    value = body.get("ticket") if isinstance(body, dict) else None
    return value if isinstance(value, dict) else None
