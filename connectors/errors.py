"""The error tree every adapter raises, drawn once::

    ConnectorError                 .system, .status, .request_id; the request id is in the message
     |-- TransientError            retrying later may succeed (5xx, resets, timeouts, throttling)
     |    `-- RateLimited          the vendor asked us to wait .retry_after seconds
     `-- PermanentError            retrying will not help
          |-- AuthenticationError  bad or revoked token, missing scope: stop the run, tell the owner
          `-- RequestRejected      the vendor refused this request (validation, too costly, 4xx)

Each system subclasses these (``connectors.shopify.errors``, ``connectors.zendesk.errors``,
``connectors.email``), so a caller can catch "anything transient" or "anything from Zendesk".
Messages never contain secrets or full email addresses.
"""

from __future__ import annotations


class ConnectorError(Exception):
    transient = False

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.system = system
        self.status = status
        self.request_id = request_id
        parts = [f"{system}: {message}" if system else message]
        if status is not None:
            parts.append(f"(HTTP {status})")
        if request_id:
            parts.append(f"[request id {request_id}]")
        super().__init__(" ".join(parts))


class TransientError(ConnectorError):
    transient = True


class RateLimited(TransientError):
    def __init__(self, message: str, *, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    transient = False


class AuthenticationError(PermanentError):
    pass


class RequestRejected(PermanentError):
    pass
