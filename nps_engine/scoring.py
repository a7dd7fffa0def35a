"""Scores and categories: 0-6 detractor, 7-8 passive, 9-10 promoter.

0 is a detractor (several tools got this wrong). Anything but an integer from 0 to 10 is refused
with a message that says what was received, so an import or a forged POST never stores a bad score.
"""

from __future__ import annotations

from nps_engine.records import Category


class InvalidScore(ValueError):
    """A score that is not an integer from 0 to 10."""


def parse_score(raw: object) -> int:
    """Return the integer score in ``raw`` or raise :class:`InvalidScore`.

    Accepts ints and strings of digits (CSV cells, form fields); refuses booleans, fractions
    ("7.5"), floats, words and anything outside 0-10.
    """
    if isinstance(raw, bool):
        raise InvalidScore(f"score must be an integer from 0 to 10, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        digits = raw.strip().lstrip("0") or "0"
        if len(digits) > 2:  # int() of thousands of digits is slow, then refused by Python
            raise InvalidScore(f"score must be an integer from 0 to 10, got {len(digits)} digits")
        value = int(digits)
    else:
        raise InvalidScore(f"score must be an integer from 0 to 10, got {_shown(raw)}")
    if not 0 <= value <= 10:
        raise InvalidScore(f"score must be an integer from 0 to 10, got {value}")
    return value


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def category_of(score: int) -> Category:
    parse_score(score)
    if score <= 6:
        return Category.DETRACTOR
    if score <= 8:
        return Category.PASSIVE
    return Category.PROMOTER
