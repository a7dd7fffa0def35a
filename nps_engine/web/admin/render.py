"""The dashboard's templates: autoescaped Jinja2, one layout, the user and CSRF token on every
page, and small filters for dates and customers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from starlette.responses import HTMLResponse

from nps_engine.response_filters import mask_email
from nps_engine.store.dashboard_users import SignedIn
from nps_engine.web.admin.guard import StoreUser

TEMPLATES = Path(__file__).parent / "templates"


class AdminPages:
    def __init__(self, root: str, store_name: str, timezone: str) -> None:
        self.root = root
        self.store_name = store_name
        self.zone = ZoneInfo(timezone)
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html", "j2")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["local"] = self._local_in_page
        self.templates.filters["signed"] = _signed
        self.templates.filters["whole"] = _whole

    def local_time(
        self, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M", zone: ZoneInfo | None = None
    ) -> str:
        """``moment`` in the store's time zone (``zone``: the chosen store's, else this one's)."""
        return "" if moment is None else moment.astimezone(zone or self.zone).strftime(pattern)

    @pass_context
    def _local_in_page(
        self, page: Context, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M"
    ) -> str:
        return self.local_time(moment, pattern, page.get("zone"))

    def render(
        self, template: str, user: SignedIn | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        store = user.context if isinstance(user, StoreUser) else None
        page = self.templates.get_template(template).render(
            root=self.root,
            admin=f"{self.root}/admin",
            store_name=store.settings.store.name if store else self.store_name,
            store_id=store.store_id if store else None,
            stores=user.stores if isinstance(user, StoreUser) else (),
            zone=store.settings.store.tz if store else self.zone,
            user=user,
            csrf=user.csrf_token if user else values.pop("form_csrf", ""),
            **values,
        )
        return HTMLResponse(page, status_code=status)


def shown_email(email: str | None, user: SignedIn) -> str | None:
    """Owners see the address; viewers see it masked."""
    return email if user.role == "owner" else mask_email(email)


def shown_name(name: str | None, user: SignedIn) -> str | None:
    if name is None or user.role == "owner":
        return name
    return " ".join(f"{part[:1]}." for part in name.split())


def _signed(value: float | None) -> str:
    if value is None:
        return "–"
    whole = round(value)
    return "0" if whole == 0 else f"{whole:+d}".replace("-", "−")


def _whole(value: float | None) -> str:
    """Whole NPS points with a real minus sign (no "+": the headline is not a difference)."""
    return "–" if value is None else str(round(value)).replace("-", "−")
