"""The store's side of comment themes: cached embeddings per answer, assignments, and the current
theme model. Vectors are float32 bytes. The themes' names, with the owner's renames and merges,
are in :mod:`nps_engine.store.theme_rows`, which loads no numpy."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, delete, func, insert, select, update

from nps_engine.store.database import Database
from nps_engine.store.models import CommentTheme, Response, ThemeModel
from nps_engine.theme_clusters import ThemeModel as Model

_ct: Table = CommentTheme.__table__  # type: ignore[assignment]
_models: Table = ThemeModel.__table__  # type: ignore[assignment]
_responses: Table = Response.__table__  # type: ignore[assignment]
_BATCH = 2_000


def text_hash(comment: str) -> str:
    return hashlib.sha256(comment.strip().encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Comment:
    response_id: int
    text: str


@dataclass(frozen=True, slots=True)
class CachedComments:
    response_ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    languages: list[str | None]
    assigned: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StoredModel:
    model: Model
    embedder: str
    comments: int
    seed: int
    pinned_key: str


def commented_answers(database: Database, store: str) -> list[Comment]:
    r = _responses.c
    query = select(r.id, r.comment).where(
        r.store == store, r.comment.is_not(None), func.length(func.trim(r.comment)) > 0
    )
    with database.engine.connect() as connection:
        return [Comment(int(i), str(c)) for i, c in connection.execute(query)]


def stale_comments(database: Database, store: str, embedder: str) -> list[Comment]:
    """Comments without a vector of ``embedder`` for their current text; cached rows of answers
    that no longer have a comment (redacted, emptied) are dropped on the way."""
    comments = commented_answers(database, store)
    c = _ct.c
    with database.engine.begin() as connection:
        cached = {
            int(response_id): (text, model)
            for response_id, text, model in connection.execute(
                select(c.response_id, c.text_hash, c.embedder).where(c.store == store)
            )
        }
        gone = set(cached) - {comment.response_id for comment in comments}
        for chunk in _chunks(sorted(gone)):
            connection.execute(delete(_ct).where(c.store == store, c.response_id.in_(chunk)))
    return [
        comment
        for comment in comments
        if cached.get(comment.response_id) != (text_hash(comment.text), embedder)
    ]


def save_vectors(
    database: Database,
    store: str,
    embedder: str,
    comments: Sequence[Comment],
    vectors: npt.NDArray[np.float32],
    languages: Sequence[str | None],
) -> None:
    """Cache (or replace) the vectors of ``comments``; they wait for an assignment."""
    c = _ct.c
    rows = [
        {
            "store": store,
            "response_id": comment.response_id,
            "embedder": embedder,
            "text_hash": text_hash(comment.text),
            "language": language,
            "vector": np.asarray(vector, np.float32).tobytes(),
            "theme_id": None,
            "similarity": None,
            "assigned_at": None,
        }
        for comment, vector, language in zip(comments, vectors, languages, strict=True)
    ]
    with database.engine.begin() as connection:
        ids = [comment.response_id for comment in comments]
        for chunk in _chunks(ids):
            connection.execute(delete(_ct).where(c.store == store, c.response_id.in_(chunk)))
        if rows:
            connection.execute(insert(_ct), rows)


def comment_count(database: Database, store: str) -> int:
    """How many answers of ``store`` have a cached vector (every comment, after embedding)."""
    query = select(func.count()).select_from(_ct).where(_ct.c.store == store)
    with database.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def cached_comments(
    database: Database, store: str, *, unassigned_only: bool = False
) -> CachedComments:
    c = _ct.c
    query = select(c.response_id, c.vector, c.language, c.assigned_at).where(c.store == store)
    if unassigned_only:
        query = query.where(c.assigned_at.is_(None))
    ids: list[int] = []
    vectors: list[bytes] = []
    languages: list[str | None] = []
    assigned: list[bool] = []
    with database.engine.connect() as connection:
        for response_id, vector, language, assigned_at in connection.execute(
            query.order_by(c.response_id)
        ):
            ids.append(int(response_id))
            vectors.append(bytes(vector))
            languages.append(language)
            assigned.append(assigned_at is not None)
    matrix = (
        np.frombuffer(b"".join(vectors), np.float32).reshape(len(ids), -1)
        if ids
        else np.zeros((0, 0), np.float32)
    )
    return CachedComments(np.array(ids, np.int64), matrix, languages, np.array(assigned, bool))


def save_assignments(
    database: Database,
    store: str,
    response_ids: Sequence[int],
    theme_ids: Sequence[int | None],
    similarity: Sequence[float],
    now: datetime,
) -> None:
    c = _ct.c
    statement = (
        update(_ct)
        .where(c.store == store, c.response_id == bindparam("rid"))
        .values(theme_id=bindparam("tid"), similarity=bindparam("sim"), assigned_at=now)
    )
    rows = [
        {"rid": int(r), "tid": None if t is None else int(t), "sim": float(s)}
        for r, t, s in zip(response_ids, theme_ids, similarity, strict=True)
    ]
    with database.engine.begin() as connection:
        for start in range(0, len(rows), _BATCH):
            connection.execute(statement, rows[start : start + _BATCH])


def stored_model(database: Database, store: str) -> StoredModel | None:
    m = _models.c
    query = select(m.embedder, m.parameters, m.comments, m.seed).where(m.store == store)
    with database.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    arrays = np.load(io.BytesIO(bytes(row[1])), allow_pickle=False)
    languages = [str(x) for x in arrays["languages"]]
    model = Model(
        arrays["mean"],
        {language: arrays[f"mean_{language}"] for language in languages},
        arrays["centroids"],
        arrays["cutoffs"],
        int(arrays["pinned"]),
    )
    return StoredModel(model, row[0], int(row[2]), int(row[3]), str(arrays["pinned_key"]))


def save_model(database: Database, store: str, stored: StoredModel, now: datetime) -> None:
    model = stored.model
    buffer = io.BytesIO()
    arrays: dict[str, npt.NDArray[Any]] = {
        "mean": model.mean,
        "centroids": model.centroids,
        "cutoffs": model.cutoffs,
        "pinned": np.array(model.pinned),
        "pinned_key": np.array(stored.pinned_key),
        "languages": np.array(sorted(model.language_means), dtype=str),
    }
    arrays |= {f"mean_{k}": v for k, v in model.language_means.items()}
    np.savez(buffer, allow_pickle=False, **arrays)
    values = {
        "embedder": stored.embedder,
        "parameters": buffer.getvalue(),
        "comments": stored.comments,
        "seed": stored.seed,
        "computed_at": now,
    }
    with database.engine.begin() as connection:
        connection.execute(delete(_models).where(_models.c.store == store))
        connection.execute(insert(_models).values(store=store, **values))


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]
