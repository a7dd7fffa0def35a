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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from nps_engine.config import Settings
from nps_engine.ports import CommentEmbedder
from nps_engine.store import comment_themes as cache
from nps_engine.store.database import Database
from nps_engine.store.theme_rows import ThemeRow, save_themes, theme_rows
from nps_engine.theme_clusters import OTHER, PinnedExamples, ThemeModel, assign, group
from nps_engine.theme_keywords import keywords_per_theme, label_of
from nps_engine.theme_summary import carry_ids

# Distinct texts embedded and cached per batch: an interrupted run keeps what it embedded.
EMBED_BATCH = 512
# What the model reads of a comment, in characters (about 150 words, 150-250 tokens). The model's
# cost grows with the tokens, so one 5,000-character letter would cost as much as 250 usual
# comments (20 tokens; our labelled sample's longest comment has 71 characters), and its opening
# says what it is about: the theme, not every detail, is what is wanted here.
MAX_CHARS = 1000


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
    with one_blas_thread():
        return _update(settings, database, embedder, now, rebuild=rebuild)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread while themes are computed. The grouping multiplies small
    matrices (at most 4,000 x 384 by 20 centroids), where OpenBLAS's hand-offs between threads
    cost more than the second core gives: a 4,000 x 384 product by a vector took 47 ms wall and
    7.9 ms CPU on two threads, 7.7 ms and 0.7 ms on one, with the machine shared (load 11). The
    model has its own threads (OpenMP), which this leaves alone."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the themes extra brings it; without it, numpy's defaults
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _update(
    settings: Settings,
    database: Database,
    embedder: CommentEmbedder,
    now: datetime,
    *,
    rebuild: bool,
) -> ThemesRun:
    store = settings.store.id
    stale = cache.stale_comments(database, store, embedder.model_name)
    _embed_and_cache(database, store, embedder, stale)
    stored = cache.stored_model(database, store)
    total = cache.comment_count(database, store)
    reason = _rebuild_reason(settings, stored, embedder.model_name, total)
    if rebuild:
        reason = "asked (--rebuild)"
    if reason is None and stored is not None:
        # Only the waiting comments' vectors are read: at 100,000 comments all of them are 150 MB.
        waiting = cache.cached_comments(database, store, unassigned_only=True)
        assigned = _assign(database, store, stored.model, waiting, now)
        return ThemesRun(total, len(stale), assigned, False, "", _count(database, store))
    comments = cache.cached_comments(database, store)
    _recompute(settings, database, embedder, comments, now)
    return ThemesRun(total, len(stale), total, True, reason or "", _count(database, store))


def _embed_and_cache(
    database: Database, store: str, embedder: CommentEmbedder, stale: list[cache.Comment]
) -> None:
    """Embed each distinct text of ``stale`` once (comments repeat: "Parfait", "Great service",
    an answer re-submitted unchanged) and cache a vector and language per answer."""
    by_text: dict[str, list[cache.Comment]] = {}
    for comment in stale:
        by_text.setdefault(model_text(comment.text), []).append(comment)
    distinct = list(by_text)
    for start in range(0, len(distinct), EMBED_BATCH):
        texts = distinct[start : start + EMBED_BATCH]
        vectors = embedder.embed(texts)
        languages = embedder.languages(texts)
        answers = [c for text in texts for c in by_text[text]]
        rows = [row for row, text in enumerate(texts) for _ in by_text[text]]
        of_rows = [languages[row] for row in rows]
        cache.save_vectors(database, store, embedder.model_name, answers, vectors[rows], of_rows)


def model_text(comment: str) -> str:
    """What the model reads: the comment without outer blanks, cut at ``MAX_CHARS`` on a word
    boundary when longer."""
    text = comment.strip()
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS]
    return cut[: cut.rfind(" ")] if " " in cut else cut


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
    ids_by_position = {row.position: row.id for row in theme_rows(database, store)}
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
    old_rows = theme_rows(database, store)
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
        rows.append(ThemeRow(theme_id, label, words, is_pinned, position, None, None))
    save_themes(database, store, rows, now)
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
    old_rows: list[ThemeRow],
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
    return sum(row.position is not None for row in theme_rows(database, store))
