"""SMTP errors in the shared tree (``connectors.errors``)::

    TransientError
     |-- SmtpTransient        a 4xx reply or a dropped connection; retried by the retry policy
     |-- SmtpDeferred         this recipient still gets 4xx after the retries (greylisting, full
     |                        mailbox): nothing was accepted; try this invite again next run
     `-- SmtpUnavailable      the server cannot be reached or keeps failing: nothing was accepted;
                              stop the batch, every invite waits for the next run
    AuthenticationError
     `-- SmtpAuthenticationFailed   wrong username or password: stop, tell the owner
    RequestRejected
     `-- SmtpSenderRefused    5xx to MAIL FROM: this server will not send as ``email.from``

A 5xx to RCPT is not an error but a result: ``SendResult(bounced=True)``.
"""

from __future__ import annotations

from connectors.errors import AuthenticationError, RequestRejected, TransientError

SYSTEM = "smtp"


class SmtpTransient(TransientError):
    pass


class SmtpDeferred(TransientError):
    pass


class SmtpUnavailable(TransientError):
    pass


class SmtpAuthenticationFailed(AuthenticationError):
    pass


class SmtpSenderRefused(RequestRejected):
    pass
