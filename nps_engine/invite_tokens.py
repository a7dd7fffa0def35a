"""Signed, expiring tokens for survey links, unsubscribe links and answer forms.

A token names an invite and a purpose and carries its issue time, signed with HMAC-SHA256 under
``web.secret_key``: ``base64url("s.<invite id>.<issued, unix seconds>") + "." + base64url(mac)``.
The invite id inside is not a secret; the MAC is what makes a link impossible to guess or to
re-point at another invite, and the purpose is signed too, so an unsubscribe token cannot be used
as a score token. The signature is checked first (in constant time): a forged token is always
reported as forged, never as expired, and nothing about a forged token is trusted.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAC_BYTES = 16  # 128 bits: far beyond guessing, and keeps links short in plain-text email
# Clock skew between the sending host and the web host must not reject a fresh link.
FUTURE_TOLERANCE = timedelta(minutes=5)


class Purpose(enum.StrEnum):
    SURVEY = "s"
    UNSUBSCRIBE = "u"
    # The hidden field of the answer form: proves a POST comes from a page we rendered.
    FORM = "f"


class TokenError(ValueError):
    """A token that cannot be used; see the two subclasses."""


class TokenForged(TokenError):
    """Malformed, signed with another key, altered, or made for another purpose."""


class TokenExpired(TokenError):
    """Genuine but older than the allowed age."""

    def __init__(self, message: str, invite_id: int) -> None:
        super().__init__(message)
        self.invite_id = invite_id


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret_key: str
    max_age: timedelta

    def issue(self, purpose: Purpose, invite_id: int, now: datetime) -> str:
        if invite_id < 0:
            raise ValueError(f"invite id must be positive, got {invite_id}")
        payload = f"{purpose.value}.{invite_id}.{int(now.timestamp())}".encode()
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def verify(self, token: str, purpose: Purpose, now: datetime) -> int:
        """The invite id in ``token``, or :class:`TokenForged` / :class:`TokenExpired`."""
        payload = self._authentic_payload(token)
        fields = payload.decode("ascii", errors="replace").split(".")
        if len(fields) != 3 or fields[0] != purpose.value:
            raise TokenForged(f"this link is not a {purpose.name.lower()} link")
        if not (fields[1].isdigit() and fields[2].isdigit()):
            raise TokenForged("malformed link")
        invite_id, issued = int(fields[1]), datetime.fromtimestamp(int(fields[2]), UTC)
        if issued > now + FUTURE_TOLERANCE:
            raise TokenForged("link issued in the future")
        if now - issued > self.max_age:
            raise TokenExpired(
                f"link expired {(now - issued - self.max_age).days} days ago", invite_id
            )
        return invite_id

    def _authentic_payload(self, token: str) -> bytes:
        encoded_payload, _, encoded_mac = token.partition(".")
        try:
            payload, mac = _decode(encoded_payload), _decode(encoded_mac)
        except (binascii.Error, ValueError):
            raise TokenForged("malformed link") from None
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            raise TokenForged("link signature does not match")
        return payload

    def _mac(self, payload: bytes) -> bytes:
        key = self.secret_key.encode()
        return hmac.new(key, b"nps-loop/invite-token/v1|" + payload, hashlib.sha256).digest()[
            :MAC_BYTES
        ]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    if not text or len(text) > 200 or not text.isascii():
        raise ValueError("bad token part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
