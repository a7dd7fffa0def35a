"""Keeping a store's comment themes up to date: embed what is new, then assign or recompute.

A new day's comments cost only themselves: their vectors are cached per answer and they are
assigned to the current themes without moving anyone else's. The themes are recomputed from
scratch when asked (``--rebuild``), when there is no model yet, when the embedding model or the
pinned themes changed, or when the comments have grown ``themes.rebuild_growth`` times since the
last computation. A recompute keeps theme ids (and so the owner's renames and merges) for the
themes it finds again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from nps_engine.config import Settings
from nps_engine.ports import CommentEmbedder
from nps_engine.store import comment_themes as cache
from nps_engine.store.database import Database
from nps_engine.theme_clusters import OTHER, PinnedExamples, ThemeModel, assign, group
from nps_engine.theme_keywords import keywords_per_theme, label_of
from nps_engine.theme_summary import carry_ids

# Comments embedded and cached per batch: an interrupted run keeps what it embedded.
EMBED_BATCH = 512


@dataclass(frozen=True, slots=True)
class ThemesRun:
    comments: int
    embedded: int
    assigned: int
    rebuilt: bool
    reason: str
    themes: int


def update_themes(
    settings: Settings,
    database: Database,
    embedder: CommentEmbedder,
    now: datetime,
    *,
    rebuild: bool = False,
) -> ThemesRun:
    store = settings.store.id
    stale = cache.stale_comments(database, store, embedder.model_name)
    for start in range(0, len(stale), EMBED_BATCH):
        batch = stale[start : start + EMBED_BATCH]
        # Short comments repeat ("Parfait", "Great service"): each distinct text is embedded once.
        texts = [comment.text.strip() for comment in batch]
        distinct = list(dict.fromkeys(texts))
        row_of = {text: row for row, text in enumerate(distinct)}
        vectors = embedder.embed(distinct)
        languages = embedder.languages(distinct)
        rows = [row_of[text] for text in texts]
        cache.save_vectors(
            database, store, embedder.model_name, batch, vectors[rows], [languages[r] for r in rows]
        )
    stored = cache.stored_model(database, store)
    comments = cache.cached_comments(database, store)
    reason = _rebuild_reason(settings, stored, embedder.model_name, len(comments.response_ids))
    if rebuild:
        reason = "asked (--rebuild)"
    if reason is None and stored is not None:
        waiting = cache.cached_comments(database, store, unassigned_only=True)
        assigned = _assign(database, store, stored.model, waiting, now)
        return ThemesRun(
            len(comments.response_ids), len(stale), assigned, False, "", _count(database, store)
        )
    _recompute(settings, database, embedder, comments, now)
    return ThemesRun(
        len(comments.response_ids),
        len(stale),
        len(comments.response_ids),
        True,
        reason or "",
        _count(database, store),
    )


def pinned_key(settings: Settings) -> str:
    document = [[p.label, p.examples] for p in settings.themes.pinned]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:16]


def _rebuild_reason(
    settings: Settings, stored: cache.StoredModel | None, embedder: str, comments: int
) -> str | None:
    if stored is None:
        return "first computation"
    if stored.embedder != embedder:
        return f"embedding model changed ({stored.embedder} -> {embedder})"
    if stored.pinned_key != pinned_key(settings) or stored.seed != settings.themes.seed:
        return "themes.pinned or themes.seed changed"
    if comments >= settings.themes.rebuild_growth * max(stored.comments, 1) and comments >= 8:
        return f"comments grew from {stored.comments} to {comments}"
    return None


def _assign(
    database: Database, store: str, model: ThemeModel, waiting: cache.CachedComments, now: datetime
) -> int:
    if len(waiting.response_ids) == 0:
        return 0
    positions, similarity = assign(model, waiting.vectors, waiting.languages)
    ids_by_position = {row.position: row.id for row in cache.theme_rows(database, store)}
    theme_ids = [None if p == OTHER else ids_by_position.get(int(p)) for p in positions]
    cache.save_assignments(
        database, store, waiting.response_ids.tolist(), theme_ids, similarity.tolist(), now
    )
    return len(theme_ids)


def _recompute(
    settings: Settings,
    database: Database,
    embedder: CommentEmbedder,
    comments: cache.CachedComments,
    now: datetime,
) -> None:
    store, config = settings.store.id, settings.themes
    pinned = [
        PinnedExamples(embedder.embed(p.examples), embedder.languages(p.examples))
        for p in config.pinned
    ]
    dim = (
        comments.vectors.shape[1]
        if len(comments.response_ids)
        else (pinned[0].vectors.shape[1] if pinned else 384)
    )
    vectors = comments.vectors if len(comments.response_ids) else np.zeros((0, dim), np.float32)
    grouping = group(
        vectors, comments.languages, seed=config.seed, pinned=pinned, max_themes=config.max_themes
    )
    model = grouping.model
    previous = cache.stored_model(database, store)
    old_rows = cache.theme_rows(database, store)
    texts = {c.response_id: c.text for c in cache.commented_answers(database, store)}
    ordered = [texts.get(int(i), "") for i in comments.response_ids]
    keywords = keywords_per_theme(
        ordered, comments.languages, grouping.themes.tolist(), language=settings.store.language
    )
    ids = _theme_ids(settings, model, previous, old_rows)
    rows = []
    for position, theme_id in enumerate(ids):
        words = keywords.get(position, [])
        is_pinned = position < model.pinned
        label = config.pinned[position].label if is_pinned else label_of(words)
        rows.append(cache.ThemeRow(theme_id, label, words, is_pinned, position, None, None))
    cache.save_themes(database, store, rows, now)
    theme_ids = [None if p == OTHER else ids[int(p)] for p in grouping.themes]
    cache.save_assignments(
        database,
        store,
        comments.response_ids.tolist(),
        theme_ids,
        grouping.similarity.tolist(),
        now,
    )
    cache.save_model(
        database,
        store,
        cache.StoredModel(
            model,
            embedder.model_name,
            len(comments.response_ids),
            config.seed,
            pinned_key(settings),
        ),
        now,
    )


def _theme_ids(
    settings: Settings,
    model: ThemeModel,
    previous: cache.StoredModel | None,
    old_rows: list[cache.ThemeRow],
) -> list[int]:
    """Ids for the new centroids: pinned ones keep the id of their label, found ones the id of the
    old theme they continue, the rest fresh ids."""
    next_id = max((row.id for row in old_rows), default=0) + 1
    pinned_ids = {row.label.casefold(): row.id for row in old_rows if row.pinned}
    old_centroids = {}
    if previous is not None:
        for row in old_rows:
            if row.position is not None and not row.pinned and row.position < previous.model.size:
                old_centroids[row.id] = previous.model.centroids[row.position].tolist()
    found = carry_ids(old_centroids, model.centroids[model.pinned :].tolist())
    ids: list[int] = []
    for position in range(model.size):
        if position < model.pinned:
            known = pinned_ids.get(settings.themes.pinned[position].label.casefold())
        else:
            known = found[position - model.pinned]
        if known is None:
            known, next_id = next_id, next_id + 1
        ids.append(known)
    return ids


def _count(database: Database, store: str) -> int:
    return sum(row.position is not None for row in cache.theme_rows(database, store))
