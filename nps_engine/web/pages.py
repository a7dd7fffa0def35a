"""Rendering the survey pages: templates (overridable), the customer's language, signed tokens.

Shared by the answer and unsubscribe routes; built once per app by :func:`build_pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from nps_engine.config.texts import load_catalog
from nps_engine.invite_tokens import TokenSigner
from nps_engine.survey_texts import SurveyTexts, TextCatalog
from nps_engine.web.context import WebContext

TEMPLATES = Path(__file__).parent / "templates"
# An unsubscribe link must keep working long after the survey closed (RFC 8058 readers, and
# people who unsubscribe from an old email): ten years.
UNSUBSCRIBE_MAX_AGE = timedelta(days=3650)


@dataclass(frozen=True)
class Pages:
    context: WebContext
    catalog: TextCatalog
    templates: Environment
    survey_tokens: TokenSigner
    unsubscribe_tokens: TokenSigner
    root: str  # the path part of web.public_url ("" or e.g. "/nps") for links behind a proxy
    origin: str  # scheme://host[:port] of web.public_url, for the Origin check on POSTs

    def texts_for(self, locale: str | None) -> SurveyTexts:
        return self.catalog.for_locale(locale)

    def texts_for_request(self, request: Request) -> SurveyTexts:
        """For pages with no invite to go by (forged link): the browser's first language."""
        header = request.headers.get("accept-language", "")
        first = header.split(",")[0].split(";")[0].strip() or None
        return self.catalog.for_locale(first)

    def render(
        self, name: str, texts: SurveyTexts, status: int = 200, **values: Any
    ) -> HTMLResponse:
        store = self.context.settings.store
        page = self.templates.get_template(name).render(
            language=texts.language,
            store=store.name,
            logo_url=str(store.logo_url) if store.logo_url else None,
            static_root=self.root,
            **values,
        )
        return HTMLResponse(page, status_code=status)

    def message(
        self, texts: SurveyTexts, kind: str, status: int, *, body: str | None = None
    ) -> HTMLResponse:
        """A short page with a heading and one sentence (expired, invalid, too many, done)."""
        title = texts(f"{kind}_title")
        return self.render(
            "message.html.j2",
            texts,
            status,
            kind=kind,
            title=title,
            heading=title,
            message=texts(body or f"{kind}_body"),
        )


def build_pages(context: WebContext) -> Pages:
    web = context.web
    secret = web.secret_key.get_secret_value()
    loaders = []
    if context.settings.survey.templates_dir:
        loaders.append(FileSystemLoader(Path(context.settings.survey.templates_dir) / "pages"))
    loaders.append(FileSystemLoader(TEMPLATES))
    public = urlsplit(str(web.public_url))
    return Pages(
        context=context,
        catalog=load_catalog(context.settings),
        templates=Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
            undefined=StrictUndefined,
            # Templates are read once per process (a restart picks up an edited one): checking
            # the files' times on every page cost more than the rest of the page's logic.
            auto_reload=False,
        ),
        survey_tokens=TokenSigner(secret, timedelta(days=web.token_max_age_days)),
        unsubscribe_tokens=TokenSigner(secret, UNSUBSCRIBE_MAX_AGE),
        root=public.path.rstrip("/"),
        origin=f"{public.scheme}://{public.netloc}",
    )
