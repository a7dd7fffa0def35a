"""``GET /health``: the process is up and the database answers (for load balancers and monitors)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from nps_engine.web.context import WebContext


def routes(context: WebContext) -> list[BaseRoute]:
    def health(_request: Request) -> JSONResponse:
        # A plain function: Starlette runs it in its thread pool, off the event loop.
        try:
            with context.database.session() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": context.store_id})

    return [Route("/health", health, methods=["GET"])]
