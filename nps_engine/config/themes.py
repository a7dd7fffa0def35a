"""``themes.*``: how survey comments are grouped into themes (docs/themes.md)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PinnedTheme(_Section):
    """A theme of the owner's own, found from a few example phrases (any language)."""

    label: Annotated[str, Field(min_length=1, max_length=80)]
    examples: Annotated[list[Annotated[str, Field(min_length=2)]], Field(min_length=1)]


class ThemesSettings(_Section):
    enabled: bool = True
    # The embedding model: "use" (Universal Sentence Encoder multilingual, the themes extra) or
    # "e5" (multilingual-e5-small, 20 times slower, the themes-e5 extra); docs/themes.md compares.
    model: Literal["use", "e5"] = "use"
    # Most themes found (pinned ones included); fewer when the comments do not support them.
    max_themes: Annotated[int, Field(ge=2, le=50)] = 20
    # Same seed, same themes.
    seed: int = 0
    # Recompute from scratch once the comments are this many times those of the last computation.
    rebuild_growth: Annotated[float, Field(ge=1.1)] = 2.0
    pinned: list[PinnedTheme] = []

    @field_validator("pinned")
    @classmethod
    def _distinct_labels(cls, value: list[PinnedTheme]) -> list[PinnedTheme]:
        labels = [p.label.casefold() for p in value]
        for label in labels:
            if labels.count(label) > 1:
                raise ValueError(f"pinned theme label '{label}' is used twice")
        return value
