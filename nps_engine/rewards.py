"""Promoter rewards, the pure part: the code a response gets, and how its offer reads.

The code is derived from the response (an HMAC of the store and the response id under the
store's secret), so it is the same however many times a crashed run is retried, and it can be
looked up in Shopify to learn whether an interrupted attempt created it. It is not guessable
from the response id, although Shopify only lets the one customer use it anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from decimal import Decimal

from nps_engine.config.rewards import PromoterDiscount
from nps_engine.ports import PromoterCode

PROMOTER_MIN_SCORE = 9
CODE_LENGTH = 10
# Base32 without the letters and digits people confuse (0/O, 1/I/L).
_READABLE = str.maketrans({"0": "8", "1": "9", "O": "Q", "I": "J", "L": "K"})


def reward_code(key: str, store: str, response_id: int, prefix: str) -> str:
    """``PREFIX-XXXXXXXXXX``: always the same for one response of one store."""
    digest = hmac.new(key.encode(), f"{store}:{response_id}".encode(), hashlib.sha256).digest()
    body = base64.b32encode(digest).decode().translate(_READABLE)[:CODE_LENGTH]
    return f"{prefix}-{body}"


def offer_text(discount: PromoterDiscount, currency: str | None) -> str:
    """What the code gives, for the customer: ``10%`` or ``5.00 EUR``."""
    if discount.percentage is not None:
        return f"{_plain(discount.percentage)}%"
    assert discount.fixed_amount is not None
    return _money(discount.fixed_amount, currency)


def minimum_text(discount: PromoterDiscount, currency: str | None) -> str | None:
    if discount.minimum_order is None:
        return None
    return _money(discount.minimum_order, currency)


def promoter_code(
    discount: PromoterDiscount, code: str, customer_id: int, responded_at: datetime
) -> PromoterCode:
    """The discount to create: from the answer's time, for ``validity_days``."""
    return PromoterCode(
        code=code,
        customer_id=customer_id,
        title=discount.title,
        starts_at=responded_at,
        ends_at=ends_at(discount, responded_at),
        percentage=discount.percentage,
        fixed_amount=discount.fixed_amount,
        minimum_order=discount.minimum_order,
    )


def ends_at(discount: PromoterDiscount, responded_at: datetime) -> datetime:
    return responded_at + timedelta(days=discount.validity_days)


def _money(amount: Decimal, currency: str | None) -> str:
    text = f"{amount:.2f}"
    return f"{text} {currency}" if currency else text


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
