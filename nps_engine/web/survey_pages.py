"""The answer pages: ``GET /s/{token}/{score}`` shows, ``POST /s/{token}`` records; plus the
unsubscribe routes (``unsubscribe_pages``) sharing the same per-IP POST limit.

Bot-safe one-click (docs/architecture.md, section 4): mail scanners GET every link in an email,
so a GET records nothing. The page's script POSTs the score at once (and on every change); the
form POSTs score and comment and works without script. One response per invite; a later POST
updates it.

Forged or expired links get a friendly page in the customer's language, a 4xx status and nothing
recorded (400 forged, 410 expired, 404 unknown invite).

CSRF: there are no cookies or sessions at all, so a cross-site page has no ambient credentials to
ride on. What authorises a POST is (1) the signed token in the URL, a capability only the
customer's email holds, (2) a signed per-form nonce (purpose ``form``, bound to the same invite)
that only a page we rendered carries, and (3) the ``Origin`` header, when the browser sends one,
which must be our ``web.public_url`` origin (or ``null``, what browsers send under our
``no-referrer`` policy). POSTs are rate limited per client IP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from nps_engine.invite_tokens import Purpose, TokenError, TokenExpired
from nps_engine.records import Category
from nps_engine.scoring import InvalidScore, category_of, parse_score
from nps_engine.store.responses import (
    Answer,
    InvitePage,
    RecordedAnswer,
    cleaned_comment,
    invite_page_of,
)
from nps_engine.store.rewards import ShownReward, reward_for
from nps_engine.survey_texts import SurveyTexts
from nps_engine.web.answer_queue import AnswerQueue, QueueFull
from nps_engine.web.context import WebContext
from nps_engine.web.pages import Pages, build_pages
from nps_engine.web.rate_limit import RateLimiter
from nps_engine.web.unsubscribe_pages import UnsubscribePages

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 20_000


@dataclass(frozen=True)
class ScoreOption:
    score: int
    category: str
    label: str


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def routes(context: WebContext) -> list[BaseRoute]:
    pages = build_pages(context)
    limiter = RateLimiter(context.web.posts_per_minute_per_ip, time.monotonic)
    answers = _AnswerPages(pages, limiter, AnswerQueue(context.database))
    return [
        Route("/s/{token}/{score}", answers.show, methods=["GET"]),
        Route("/s/{token}", answers.record, methods=["POST"]),
        Route("/theme.css", answers.theme, methods=["GET"]),
        # One limiter for every POST a customer can make (answers and unsubscribes).
        *UnsubscribePages(pages, limiter, answers.answers).routes(),
    ]


class _AnswerPages:
    def __init__(self, pages: Pages, limiter: RateLimiter, answers: AnswerQueue) -> None:
        self.pages = pages
        self.limiter = limiter
        self.context = pages.context
        # No lock: answers queue up and are written in batches by one flush at a time.
        self.answers = answers
        self._words: dict[str, dict[str, object]] = {}

    async def show(self, request: Request) -> Response:
        """The question with the clicked score selected. Records nothing."""
        token = request.path_params["token"]
        try:
            invite = await self._invite(request, self._verified(request, token))
            score = parse_score(request.path_params["score"])
        except _Refusal as refusal:
            return refusal.response
        except InvalidScore:
            return self.pages.message(self.pages.texts_for_request(request), "invalid", 404)
        texts = self.pages.texts_for(invite.locale)
        return self._form(texts, token, invite.invite_id, score, invite.comment)

    async def record(self, request: Request) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            self._check_rate_and_origin(request)
            form = await self._form_data(request)
            token = request.path_params["token"]
            invite_id = self._verified(request, token)
            self._check_nonce(request, form, invite_id)
            answer = await self._save(request, token, invite_id, form)
        except _Refusal as refusal:
            if wants_json:
                return JSONResponse({"saved": False}, status_code=refusal.response.status_code)
            return refusal.response
        reward = await self._reward(answer)
        if wants_json:
            return JSONResponse({"saved": True, "score": answer.score, "category": answer.category})
        invite = await self._invite(request, invite_id)
        return self._thanks(self.pages.texts_for(invite.locale), token, answer, reward)

    async def theme(self, _request: Request) -> Response:
        colour = self.context.settings.store.brand_color  # validated as #rrggbb by the settings
        return Response(
            f":root {{ --brand: {colour}; }}\n",
            media_type="text/css",
            headers={"cache-control": "public, max-age=3600"},
        )

    def _verified(self, request: Request, token: str) -> int:
        """The invite id a survey token names; signature and age only, no database."""
        try:
            return self.pages.survey_tokens.verify(token, Purpose.SURVEY, self.context.clock())
        except TokenExpired:
            raise _Refusal(self._refuse(request, "expired", 410)) from None
        except TokenError:
            raise _Refusal(self._refuse(request, "invalid", 400)) from None

    async def _invite(self, request: Request, invite_id: int) -> InvitePage:
        key = {"store": self.context.store_id, "invite_id": invite_id}
        invite = invite_page_of(await self.answers.rows(self.answers.statements.page, key))
        if invite is None:
            raise _Refusal(self._refuse(request, "invalid", 404))
        return invite

    def _refuse(self, request: Request, kind: str, status: int) -> Response:
        return self.pages.message(self.pages.texts_for_request(request), kind, status)

    def _check_rate_and_origin(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not self.limiter.allow(client):
            texts = self.pages.texts_for_request(request)
            response = self.pages.message(texts, "too_many", 429)
            response.headers["retry-after"] = "60"
            raise _Refusal(response)
        # Our pages say Referrer-Policy: no-referrer, so browsers send "Origin: null" on the
        # form POST; only a real, foreign origin is refused (the nonce does the rest).
        origin = request.headers.get("origin")
        if origin is None or origin in (self.pages.origin, "null"):
            return
        if origin != f"{request.url.scheme}://{request.url.netloc}":  # parsed only when needed
            raise _Refusal(self._refuse(request, "invalid", 403))

    async def _form_data(self, request: Request) -> FormData:
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            raise _Refusal(self._refuse(request, "invalid", 413))
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            # Our form and script always send this; the standard library parses it several
            # times faster than the general multipart parser.
            body = await request.body()
            if len(body) > MAX_FORM_BYTES:
                raise _Refusal(self._refuse(request, "invalid", 413))
            try:
                pairs = parse_qsl(body.decode("utf-8", errors="replace"), max_num_fields=10)
            except ValueError:
                raise _Refusal(self._refuse(request, "invalid", 400)) from None
            fields: list[tuple[str, str | UploadFile]] = list(pairs)
            return FormData(fields)
        return await request.form(max_files=0, max_fields=10)

    def _check_nonce(self, request: Request, form: FormData, invite_id: int) -> None:
        nonce = form.get("nonce")
        nonce = nonce if isinstance(nonce, str) else ""
        try:
            issued_for = self.pages.survey_tokens.verify(nonce, Purpose.FORM, self.context.clock())
        except TokenExpired:
            texts = self.pages.texts_for_request(request)
            raise _Refusal(
                self.pages.message(texts, "expired", 400, body="form_expired_body")
            ) from None
        except TokenError:
            raise _Refusal(self._refuse(request, "invalid", 403)) from None
        if issued_for != invite_id:
            raise _Refusal(self._refuse(request, "invalid", 403))

    async def _save(
        self, request: Request, token: str, invite_id: int, form: FormData
    ) -> RecordedAnswer:
        """One statement finds the invite and stores the answer (404 when there is no invite)."""
        comment = form.get("comment")
        comment = comment if isinstance(comment, str) else None
        try:
            score = parse_score(form.get("score"))
        except InvalidScore:
            # An unknown invite is still a 404, whatever the score; else the form again.
            invite = await self._invite(request, invite_id)
            texts = self.pages.texts_for(invite.locale)
            error = texts("question")
            page = self._form(texts, token, invite_id, None, comment, error=error, status=400)
            raise _Refusal(page) from None
        answer = Answer(
            self.context.store_id, invite_id, score, cleaned_comment(comment), self.context.clock()
        )
        try:
            recorded = await self.answers.record(answer)
        except QueueFull:
            log.warning("answers are arriving faster than the database takes them")
            raise _Refusal(self._refuse(request, "too_many", 503)) from None
        if recorded is None:
            raise _Refusal(self._refuse(request, "invalid", 404))
        return recorded

    async def _reward(self, answer: RecordedAnswer) -> ShownReward | None:
        """A promoter's thank-you code: made now when rewards are on (the push job catches up if
        Shopify does not answer in time), read from the store."""
        create = self.context.adapters.promoter_reward
        if create is None or answer.category is not Category.PROMOTER:
            return None
        return await run_in_threadpool(self._make_reward, create, answer.response_id)

    def _make_reward(
        self, create: Callable[[int, datetime], None], response_id: int
    ) -> ShownReward | None:
        try:
            create(response_id, self.context.clock())
        except Exception as error:  # noqa: BLE001 - the answer is saved; the code can wait
            log.warning("reward for response %s not created yet: %s", response_id, type(error))
        return reward_for(self.context.database, self.context.store_id, response_id)

    def _form(
        self,
        texts: SurveyTexts,
        token: str,
        invite_id: int,
        score: int | None,
        comment: str | None,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        nonce = self.pages.survey_tokens.issue(Purpose.FORM, invite_id, self.context.clock())
        return self.pages.render(
            "survey.html.j2",
            texts,
            status,
            action=f"{self.pages.root}/s/{token}",
            nonce=nonce,
            score=score,
            comment=comment,
            error=error,
            **self._question_words(texts),
        )

    def _question_words(self, texts: SurveyTexts) -> dict[str, object]:
        """The words of the question page in one language: the same for every page while the
        app serves, so worked out once (they were a fifth of a page's CPU)."""
        words = self._words.get(texts.language)
        if words is None:
            options = [
                ScoreOption(s, category_of(s).value, texts("score_label", score=s))
                for s in range(11)
            ]
            words = {
                "title": texts("page_title"),
                "question": texts("question"),
                "options": options,
                "scale_low": texts("scale_low"),
                "scale_high": texts("scale_high"),
                "comment_label": texts("comment_label"),
                "submit": texts("submit"),
                "saved_text": texts("saved"),
                "failed_text": texts("saving_failed"),
            }
            self._words[texts.language] = words
        return words

    def _thanks(
        self,
        texts: SurveyTexts,
        token: str,
        answer: RecordedAnswer,
        reward: ShownReward | None = None,
    ) -> Response:
        survey = self.context.settings.survey
        promoter = answer.category is Category.PROMOTER
        message = {
            Category.PROMOTER: "thanks_promoter" if survey.review_url else "thanks_promoter_plain",
            Category.PASSIVE: "thanks_passive",
            Category.DETRACTOR: "thanks_detractor",
        }[answer.category]
        return self.pages.render(
            "thanks.html.j2",
            texts,
            title=texts("thanks_title"),
            heading=texts("thanks_title"),
            category=answer.category.value,
            score=answer.score,
            your_score=texts("your_score"),
            message=texts(message),
            review_url=str(survey.review_url) if promoter and survey.review_url else None,
            review_button=texts("review_button"),
            referral_text=survey.referral_text if promoter else None,
            body=texts("thanks_body"),
            change_url=f"{self.pages.root}/s/{token}/{answer.score}",
            change_answer=texts("change_answer"),
            reward_code=reward.code if reward else None,
            reward_text=texts("reward_page", value=reward.offer, until=f"{reward.ends_at:%Y-%m-%d}")
            if reward
            else None,
            reward_minimum=texts("reward_minimum", minimum=reward.minimum_order)
            if reward and reward.minimum_order
            else None,
        )
