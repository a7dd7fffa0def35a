"""Zendesk's branch of the shared error tree (``connectors.errors``)::

    ZendeskError
     |-- ZendeskTransientError        5xx, 409 conflicts, resets, timeouts: our one policy retries
     |    `-- ZendeskRateLimited      429; ``budget_spent`` when zenpy's wait budget ran out
     `-- ZendeskPermanentError
          |-- ZendeskAuthenticationError   401/403: stop the run, tell the owner which key to fix
          `-- ZendeskRequestRejected       4xx about this request (validation, too many values)
               `-- ZendeskRecordNotFound   404: one item is gone; the others carry on

``ZendeskRateLimited(budget_spent=True)`` is what a job catches to end its run cleanly with the
cursor kept: zenpy already waited as long as it was allowed, so retrying now would only double
its 429 handling.
"""

from __future__ import annotations

from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentError,
    RateLimited,
    RequestRejected,
    TransientError,
)

SYSTEM = "zendesk"


class ZendeskError(ConnectorError):
    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None):
        super().__init__(message, system=SYSTEM, status=status, request_id=request_id)


class ZendeskTransientError(ZendeskError, TransientError):
    pass


class ZendeskRateLimited(ZendeskError, RateLimited):
    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        budget_spent: bool = False,
        status: int | None = 429,
        request_id: str | None = None,
    ) -> None:
        # RateLimited.__init__ sits next in the MRO; set its fields here instead.
        ConnectorError.__init__(self, message, system=SYSTEM, status=status, request_id=request_id)
        self.retry_after = retry_after
        self.budget_spent = budget_spent


class ZendeskPermanentError(ZendeskError, PermanentError):
    pass


class ZendeskAuthenticationError(ZendeskPermanentError, AuthenticationError):
    pass


class ZendeskRequestRejected(ZendeskPermanentError, RequestRejected):
    pass


class ZendeskRecordNotFound(ZendeskRequestRejected):
    pass
