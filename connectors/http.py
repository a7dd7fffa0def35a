"""HTTP defaults for every requests-based adapter: a session that always has a timeout and says
who we are."""

from __future__ import annotations

import socket
import ssl
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import requests


def _version() -> str:
    try:
        return version("nps-loop")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0"


USER_AGENT = f"nps-loop/{_version()} (+https://github.com/nps-loop/nps-loop)"


class TimeoutSession(requests.Session):
    """A ``requests.Session`` whose requests time out by default.

    ``requests`` waits forever without a timeout; a hung vendor must not hang a cron job.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def make_session(timeout: float) -> requests.Session:
    return TimeoutSession(timeout)


def no_answer(error: requests.RequestException) -> str:
    """``shop.example.com:443: Connection refused``: the host asked and the cause, from the
    bottom of the chain requests and urllib3 wrap it in (``ConnectionError`` alone says nothing
    a user can act on). No query string: it may carry a token."""
    request = error.request
    url = urlsplit(str(request.url)) if request is not None and request.url else None
    host = url.netloc.rpartition("@")[2] if url is not None else "the server"
    if isinstance(error, requests.Timeout):
        return f"{host}: no answer in time ({_cause(error)})"
    return f"{host}: {_cause(error)}"


def _cause(error: BaseException) -> str:
    """The innermost reason: an OSError's text (refused, unknown name, TLS), else the type."""
    seen: set[int] = set()
    current: BaseException | None = error
    best = type(error).__name__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            best = current.strerror
        elif isinstance(current, ssl.SSLError | socket.gaierror):
            best = str(current)
        reason = getattr(current, "reason", None)
        inner = current.args[0] if current.args else None
        following = reason if isinstance(reason, BaseException) else inner
        if not isinstance(following, BaseException):
            following = current.__cause__ or current.__context__
        current = following
    return best


def request_id(response: requests.Response) -> str | None:
    """The vendor's request id, quoted in error messages so support can find the request."""
    for header in ("X-Request-Id", "X-Zendesk-Request-Id", "X-Shopify-Request-Id"):
        if header in response.headers:
            return response.headers[header]
    return None
