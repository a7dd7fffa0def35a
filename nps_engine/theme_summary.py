"""What the owner reads about themes: each theme's size, share of the comments with a 95% interval,
the NPS of its members, and shares per segment and per month. Pure: answers in, figures out.

A theme merged into another by the owner counts as that other one; "other" (comments that fit no
theme) is listed last. Shares use the Wilson score interval, which stays inside 0..1 and behaves
with small counts (a theme of 2 comments out of 10 is 20%, 95% interval 6% to 51%).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nps_engine.statistics import NpsFigure, Tally, nps_of

Z_95 = 1.959963984540054
OTHER_LABEL = "Other"


@dataclass(frozen=True, slots=True)
class ThemedAnswer:
    response_id: int
    theme_id: int | None  # None: "other"
    score: int
    month: str  # YYYY-MM, store time
    segments: frozenset[str]


@dataclass(frozen=True, slots=True)
class ThemeName:
    label: str
    keywords: tuple[str, ...]
    pinned: bool = False
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class ThemeFigure:
    theme_id: int | None
    label: str
    keywords: tuple[str, ...]
    pinned: bool
    size: int
    share: float
    share_ci95: tuple[float, float]
    nps: NpsFigure
    response_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ThemeShares:
    """The share of each theme's comments within one group (a segment, or a month)."""

    name: str
    comments: int
    shares: Mapping[int | None, tuple[float, tuple[float, float]]]


def wilson(count: int, total: int) -> tuple[float, float]:
    if total == 0:
        return (0.0, 0.0)
    p = count / total
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = Z_95 * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def shown_theme(theme_id: int | None, names: Mapping[int, ThemeName]) -> int | None:
    """The theme an answer counts under, following the owner's merges (cycles stop)."""
    seen: set[int] = set()
    while theme_id is not None and theme_id in names and theme_id not in seen:
        seen.add(theme_id)
        target = names[theme_id].merged_into
        if target is None or target not in names:
            return theme_id
        theme_id = target
    return theme_id if theme_id in names else None


def theme_figures(
    answers: Sequence[ThemedAnswer], names: Mapping[int, ThemeName]
) -> list[ThemeFigure]:
    """One figure per theme with members, largest first, "other" last."""
    members: dict[int | None, list[ThemedAnswer]] = defaultdict(list)
    for answer in answers:
        members[shown_theme(answer.theme_id, names)].append(answer)
    total = len(answers)
    figures = []
    for theme_id, group in members.items():
        name = names.get(theme_id) if theme_id is not None else None
        figures.append(
            ThemeFigure(
                theme_id,
                name.label if name else OTHER_LABEL,
                name.keywords if name else (),
                bool(name and name.pinned),
                len(group),
                len(group) / total,
                wilson(len(group), total),
                nps_of(Tally.of_scores(a.score for a in group)),
                tuple(sorted(a.response_id for a in group)),
            )
        )
    return sorted(figures, key=lambda f: (f.theme_id is None, -f.size, f.label))


def shares_by(answers: Iterable[ThemedAnswer], names: Mapping[int, ThemeName]) -> ThemeShares:
    answers = list(answers)
    counts = Counter(shown_theme(a.theme_id, names) for a in answers)
    total = len(answers)
    return ThemeShares(
        "",
        total,
        {theme: (n / total, wilson(n, total)) for theme, n in counts.items()} if total else {},
    )


def segment_shares(
    answers: Sequence[ThemedAnswer], names: Mapping[int, ThemeName], segments: Sequence[str]
) -> list[ThemeShares]:
    """Theme shares among the comments of each segment (an answer can be in several)."""
    result = []
    for segment in segments:
        inside = [a for a in answers if segment in a.segments]
        shares = shares_by(inside, names)
        result.append(ThemeShares(segment, shares.comments, shares.shares))
    return result


def monthly_shares(
    answers: Sequence[ThemedAnswer], names: Mapping[int, ThemeName], months: Sequence[str]
) -> list[ThemeShares]:
    by_month: dict[str, list[ThemedAnswer]] = defaultdict(list)
    for answer in answers:
        by_month[answer.month].append(answer)
    result = []
    for month in months:
        shares = shares_by(by_month.get(month, []), names)
        result.append(ThemeShares(month, shares.comments, shares.shares))
    return result


def carry_ids(
    old: Mapping[int, Sequence[float]], new: Sequence[Sequence[float]], *, least: float = 0.5
) -> list[int | None]:
    """For each new centroid, the id of the old theme it continues (cosine >= ``least``, best
    pairs first, one-to-one), or None for a theme seen for the first time. This is how a rename
    or a merge survives a recompute."""
    pairs = []
    for index, centroid in enumerate(new):
        for theme_id, previous in old.items():
            if len(previous) != len(centroid):
                continue
            dot = sum(a * b for a, b in zip(previous, centroid, strict=True))
            norm = math.sqrt(sum(a * a for a in previous) * sum(b * b for b in centroid)) or 1.0
            pairs.append((dot / norm, index, theme_id))
    result: list[int | None] = [None] * len(new)
    taken: set[int] = set()
    for cosine, index, theme_id in sorted(pairs, reverse=True):
        if cosine < least or result[index] is not None or theme_id in taken:
            continue
        result[index] = theme_id
        taken.add(theme_id)
    return result
