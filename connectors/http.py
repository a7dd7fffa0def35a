"""HTTP defaults for every requests-based adapter: a session that always has a timeout and says
who we are."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

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


def request_id(response: requests.Response) -> str | None:
    """The vendor's request id, quoted in error messages so support can find the request."""
    for header in ("X-Request-Id", "X-Zendesk-Request-Id", "X-Shopify-Request-Id"):
        if header in response.headers:
            return response.headers[header]
    return None
