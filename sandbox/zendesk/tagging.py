"""How Zendesk stores tags: lower-case, no spaces, no duplicates, order kept.

Zendesk lower-cases tags and a space ends a tag (as typed in the agent UI), so ``"NPS Promoter"``
becomes the two tags ``nps`` and ``promoter``. Requests may send a list or a single string
(``"additional_tags": "a_new_tag"`` in the batch example of zendesk-notes 2.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class TagsInvalid(ValueError):
    """The ``tags`` value is neither a string nor a list of strings."""


def parse_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise TagsInvalid("tags must be a string or a list of strings")
    words = (word for tag in value for word in tag.split())
    return _unique(word.lower() for word in words)


def added(current: list[str], new: Iterable[str]) -> list[str]:
    return _unique([*current, *new])


def removed(current: list[str], gone: Iterable[str]) -> list[str]:
    dropped = set(gone)
    return [tag for tag in current if tag not in dropped]


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))
