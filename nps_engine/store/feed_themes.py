"""Comment themes as the feed shows and filters them: each answer's theme label, and the theme
filter as SQL.

An answer's theme is its ``comment_themes.theme_id`` followed through the owner's merges
(``theme_summary.shown_theme``) and shown under the owner's name for it; an assigned comment
that fits no theme is "Other"; an answer whose comment was never assigned (no comment, or
``nps themes`` not run since) has none. A store where themes were never computed has no theme
names: the feed then shows no theme and the dashboard hides the filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_

from nps_engine.store.database import Database
from nps_engine.store.models import CommentTheme
from nps_engine.store.theme_rows import theme_rows
from nps_engine.theme_summary import OTHER_LABEL, ThemeName, shown_theme

_ct = CommentTheme.__table__.c
OTHER = "other"  # the filter value of "fits no theme"


@dataclass(frozen=True)
class FeedThemes:
    names: Mapping[int, ThemeName] = field(default_factory=dict)

    @classmethod
    def of_store(cls, database: Database, store: str) -> FeedThemes:
        return cls(
            {
                row.id: ThemeName(row.shown_label, tuple(row.keywords), row.pinned, row.merged_into)
                for row in theme_rows(database, store)
            }
        )

    @property
    def available(self) -> bool:
        return bool(self.names)

    def label(self, theme_id: int | None, assigned: object) -> str | None:
        """The label an answer shows (``assigned``: its assignment time, None if never)."""
        if assigned is None or not self.names:
            return None
        shown = shown_theme(theme_id, self.names)
        return OTHER_LABEL if shown is None else self.names[shown].label

    def choices(self) -> list[tuple[str, str]]:
        """(filter value, label) of every theme an answer can show, by label, "Other" last."""
        shown = {
            theme_id for theme_id in self.names if shown_theme(theme_id, self.names) == theme_id
        }
        themes = sorted(shown, key=lambda theme_id: self.names[theme_id].label.lower())
        listed = [(str(theme_id), self.names[theme_id].label) for theme_id in themes]
        return [*listed, (OTHER, OTHER_LABEL)] if listed else []

    def value_of(self, wanted: str) -> str | None:
        """A filter value from a theme's id or label (any case), or ``other``; None if unknown."""
        text = wanted.strip().lower()
        for value, label in self.choices():
            if text in (value, label.lower()):
                return value
        return None

    def condition(self, value: str) -> ColumnElement[bool]:
        """The answers shown under the theme ``value`` (an id, or ``other``), on the feed's
        join of ``comment_themes``."""
        assigned = _ct.assigned_at.is_not(None)
        if value == OTHER:
            themed = [t for t in self.names if shown_theme(t, self.names) is not None]
            return and_(assigned, or_(_ct.theme_id.is_(None), _ct.theme_id.not_in(themed)))
        if not value.isdigit():
            return false()
        target = int(value)
        members = [t for t in self.names if shown_theme(t, self.names) == target]
        return and_(assigned, _ct.theme_id.in_(members)) if members else false()
