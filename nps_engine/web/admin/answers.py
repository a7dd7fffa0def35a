"""The responses feed (``/admin/responses``), its JSON and CSV/JSONL exports, and one answer's
page (``/admin/responses/{id}``).

Filters come from the query string through :func:`nps_engine.response_filters.filters_from_query`
(the one place they are defined). Pages continue with ``after`` (the last row's time and id), so
"next page" costs the same at any depth. Exports stream: rows are read in batches and written as
they come, so a million rows never sit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from nps_engine.response_export import ExportForm, row_values
from nps_engine.response_filters import CATEGORIES, FilterError, ResponseFilters, filters_from_query
from nps_engine.response_view import FeedRow
from nps_engine.segments import enabled_segments
from nps_engine.store.dashboard_users import SignedIn
from nps_engine.store.order_habits import UsualGapCache
from nps_engine.store.response_feed import Cursor, Feed
from nps_engine.store.response_history import response_history
from nps_engine.web.admin.guard import Guard, StoreUser
from nps_engine.web.admin.render import AdminPages, shown_email, shown_name
from nps_engine.web.context import WebContext


def routes(guard: Guard, pages: AdminPages) -> list[BaseRoute]:
    usual_gap = UsualGapCache()

    def feed(context: WebContext) -> Feed:
        """The chosen store's feed (``StoreUser.context``: the store picker's choice)."""
        settings = context.settings
        return Feed.of_store(
            context.database,
            context.store_id,
            settings.store.timezone,
            settings.segments,
            context.clock(),
            usual_gap=usual_gap.days,
        )

    def segment_names(context: WebContext) -> list[tuple[str, str]]:
        segments = enabled_segments(context.settings.segments, context.clock())
        return [(s.name, s.label) for s in segments]

    def read_filters(request: Request, the_feed: Feed, context: WebContext) -> ResponseFilters:
        filters = filters_from_query(request.query_params)
        if filters.segment and filters.segment not in dict(segment_names(context)):
            raise FilterError(f"segment: '{filters.segment}' is not a segment of this store")
        if filters.theme and filters.theme not in dict(the_feed.themes.choices()):
            raise FilterError(f"theme: '{filters.theme}' is not a theme of this store")
        return filters

    async def feed_page(request: Request, user: StoreUser) -> Response:
        context = user.context
        settings = context.settings
        the_feed = await run_in_threadpool(feed, context)
        themes = the_feed.themes.choices()
        try:
            filters = read_filters(request, the_feed, context)
            after = _cursor(request.query_params.get("after"))
        except FilterError as error:
            return pages.render(
                "responses.html.j2", user, 400, error=str(error),
                **_empty(segment_names(context), themes),
            )  # fmt: skip
        page = await run_in_threadpool(the_feed.page, filters, after, settings.dashboard.page_size)
        zone = settings.store.tz
        rows = [
            _shown(row_values(row), user)
            | {"segments": row.segments, "when": pages.local_time(row.responded_at, zone=zone)}
            for row in page.rows
        ]
        return pages.render(
            "responses.html.j2", user, error=None, rows=rows, filters=filters,
            query=filters.query(), next_after=_cursor_text(page.next_cursor),
            scanned_out=page.scanned_out, categories=CATEGORIES, segments=segment_names(context),
            themes=themes, ticket_url=_ticket_url(settings), first_page=after is None,
        )  # fmt: skip

    async def feed_json(request: Request, user: StoreUser) -> Response:
        context = user.context
        the_feed = await run_in_threadpool(feed, context)
        try:
            filters = read_filters(request, the_feed, context)
            after = _cursor(request.query_params.get("after"))
        except FilterError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        page_size = context.settings.dashboard.page_size
        page = await run_in_threadpool(the_feed.page, filters, after, page_size)
        return JSONResponse(
            {
                "responses": [_shown(row_values(row), user) for row in page.rows],
                "next_after": _cursor_text(page.next_cursor),
            }
        )

    def export(extension: str) -> Route:
        async def endpoint(request: Request, user: StoreUser) -> Response:
            context = user.context
            the_feed = await run_in_threadpool(feed, context)
            try:
                filters = read_filters(request, the_feed, context)
            except FilterError as error:
                return Response(str(error), status_code=400, media_type="text/plain")
            masked = user.role != "owner"
            if extension == "csv":
                semicolon = request.query_params.get("delimiter") == "semicolon"
                form = ExportForm("csv", delimiter=";" if semicolon else ",", masked=masked)
                media = "text/csv; charset=utf-8"
            else:
                form = ExportForm("jsonl", masked=masked)
                media = "application/x-ndjson; charset=utf-8"
            # cut into parts by the time index before the first byte: off the event loop
            lines = await run_in_threadpool(the_feed.export, filters, form)
            stamp = context.clock().strftime("%Y%m%d-%H%M")
            name = f"nps-responses-{context.store_id}-{stamp}.{extension}"
            return StreamingResponse(
                _chunks(lines), media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )  # fmt: skip

        return Route(f"/responses.{extension}", guard.signed_in(endpoint), methods=["GET"])

    async def answer_page(request: Request, user: StoreUser) -> Response:
        context = user.context
        answer_id = request.path_params["answer_id"]
        history = await run_in_threadpool(
            response_history, context.database, context.store_id, answer_id
        )
        if history is None:
            return pages.render("missing.html.j2", user, 404)
        shown = await run_in_threadpool(
            _shown_row, feed(context), history.response.responded_at, answer_id
        )
        customer = history.customer
        name = None
        if customer is not None and customer.redacted_at is None:
            name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
        return pages.render(
            "response.html.j2", user, history=history,
            segments=shown.segments if shown else (), theme=shown.theme if shown else None,
            email=shown_email(history.response.email, user), name=shown_name(name, user),
            ticket_url=_ticket_url(context.settings), back=request.query_params.get("back", ""),
        )  # fmt: skip

    return [
        Route("/responses", guard.signed_in(feed_page), methods=["GET"]),
        Route("/responses.json", guard.signed_in(feed_json), methods=["GET"]),
        export("csv"),
        export("jsonl"),
        Route("/responses/{answer_id:int}", guard.signed_in(answer_page), methods=["GET"]),
    ]


def _chunks(lines: Iterable[str], size: int = 65_536) -> Iterator[bytes]:
    """Lines joined into chunks of about ``size`` bytes: one write per chunk, not per row."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _shown_row(feed: Feed, responded_at: datetime, answer_id: int) -> FeedRow | None:
    """The answer as the feed shows it (segments, theme): the page after its own keyset."""
    page = feed.page(ResponseFilters(), (responded_at, answer_id + 1), limit=1)
    for row in page.rows:
        if row.id == answer_id:
            return row
    return None


def _shown(values: dict[str, object], user: SignedIn) -> dict[str, object]:
    if user.role == "owner":
        return values
    email = values.get("email")
    name = values.get("customer_name")
    return values | {
        "email": shown_email(email if isinstance(email, str) else None, user),
        "customer_name": shown_name(name if isinstance(name, str) else None, user),
    }


def _ticket_url(settings: object) -> str | None:
    """Where an agent opens a Zendesk ticket: ``{base}/agent/tickets/{id}``."""
    zendesk = getattr(settings, "zendesk", None)
    if zendesk is None:
        return None
    base = str(zendesk.base_url).rstrip("/") if zendesk.base_url else None
    return f"{base or f'https://{zendesk.subdomain}.zendesk.com'}/agent/tickets/"


def _cursor(value: str | None) -> Cursor | None:
    if not value:
        return None
    moment, _, answer_id = value.rpartition("_")
    try:
        at, position = datetime.fromisoformat(moment), int(answer_id)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise FilterError(f"after: '{value}' is not a page position")
    return (at, position)


def _cursor_text(cursor: Cursor | None) -> str | None:
    return None if cursor is None else f"{cursor[0].isoformat()}_{cursor[1]}"


def _empty(segments: list[tuple[str, str]], themes: list[tuple[str, str]]) -> dict[str, object]:
    return {
        "rows": [], "filters": ResponseFilters(), "query": {}, "next_after": None,
        "scanned_out": False, "categories": CATEGORIES, "segments": segments, "themes": themes,
        "ticket_url": None, "first_page": True,
    }  # fmt: skip
