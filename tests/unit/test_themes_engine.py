"""The pure parts of comment themes: grouping on synthetic vectors, keywords, shares and ids."""

from __future__ import annotations

import numpy as np
import pytest

from nps_engine.theme_clusters import OTHER, PinnedExamples, assign, group
from nps_engine.theme_keywords import keywords_per_theme, label_of
from nps_engine.theme_summary import (
    ThemedAnswer,
    ThemeName,
    carry_ids,
    shown_theme,
    theme_figures,
    wilson,
)


def blobs(seed: int, per: int = 40, topics: int = 4, dim: int = 24) -> np.ndarray:
    """``topics`` well-separated groups of ``per`` vectors, plus a shared offset."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim)) * 3
    points = np.concatenate([c + rng.normal(size=(per, dim)) for c in centres])
    return (points + 10).astype(np.float32)  # every vector shares one direction


def test_separated_groups_are_found_with_their_number() -> None:
    vectors = blobs(0)
    grouping = group(vectors, [None] * len(vectors), seed=1)
    assert grouping.model.size == 4
    truth = np.repeat(np.arange(4), 40)
    for topic in range(4):
        found = grouping.themes[truth == topic]
        assert np.mean(found == np.bincount(found[found >= 0]).argmax()) >= 0.95


def test_same_seed_same_result_and_other_seeds_agree_on_groups() -> None:
    vectors = blobs(3)
    a = group(vectors, [None] * len(vectors), seed=5)
    b = group(vectors, [None] * len(vectors), seed=5)
    assert np.array_equal(a.themes, b.themes)
    assert np.array_equal(a.model.centroids, b.model.centroids)


def test_an_outlier_is_other() -> None:
    vectors = blobs(1)
    far = np.full((1, vectors.shape[1]), -50.0, np.float32)
    grouping = group(np.concatenate([vectors, far]), [None] * (len(vectors) + 1), seed=0)
    assert grouping.themes[-1] == OTHER


@pytest.mark.parametrize("count", [0, 1, 7])
def test_too_few_comments_are_all_other_without_pinned(count: int) -> None:
    vectors = blobs(2)[:count] if count else np.zeros((0, 24), np.float32)
    grouping = group(vectors, [None] * count, seed=0)
    assert grouping.model.size == 0
    assert list(grouping.themes) == [OTHER] * count


def test_pinned_theme_applies_even_to_few_comments_and_to_new_ones() -> None:
    vectors = blobs(4)
    pinned = PinnedExamples(vectors[:3], [None] * 3)  # examples from the first group
    few = group(vectors[:5], [None] * 5, seed=0, pinned=[pinned])
    assert few.model.pinned == 1
    assert list(few.themes[:3]) == [0, 0, 0]
    full = group(vectors, [None] * len(vectors), seed=0, pinned=[pinned])
    assert np.mean(full.themes[:40] == 0) >= 0.95
    themes, _ = assign(full.model, vectors[40:45], [None] * 5)
    assert 0 not in set(themes.tolist())


def test_keywords_come_from_the_store_language_and_skip_stop_words() -> None:
    texts = ["Colis en retard", "colis arrivé en retard", "Le colis est en retard",
             "Parcel arrived late", "late parcel again", "Taille trop petite",
             "la taille est petite", "taille petite"]  # fmt: skip
    languages = ["fr", "fr", "fr", "en", "en", "fr", "fr", "fr"]
    themes = [0, 0, 0, 0, 0, 1, 1, 1]
    keywords = keywords_per_theme(texts, languages, themes, language="fr")
    assert set(keywords[0][:2]) == {"colis", "retard"}
    assert "parcel" not in keywords[0]
    assert set(keywords[1][:2]) == {"taille", "petite"}
    assert label_of(keywords[1][:2]) in ("Taille · petite", "Petite · taille")
    assert label_of([]) == "Unlabelled"


def test_wilson_interval_contains_the_share_and_stays_in_bounds() -> None:
    low, high = wilson(2, 10)
    assert 0.05 < low < 0.2 < high < 0.52
    assert wilson(0, 5)[0] == 0.0
    assert wilson(5, 5)[1] == 1.0
    assert wilson(0, 0) == (0.0, 0.0)


def test_merges_are_followed_and_cycles_stop() -> None:
    names = {
        1: ThemeName("A", ()), 2: ThemeName("B", (), merged_into=1),
        3: ThemeName("C", (), merged_into=4), 4: ThemeName("D", (), merged_into=3),
    }  # fmt: skip
    assert shown_theme(2, names) == 1
    assert shown_theme(None, names) is None
    assert shown_theme(3, names) in (3, 4)
    answers = [ThemedAnswer(i, t, s, "2026-01", frozenset()) for i, (t, s) in
               enumerate([(1, 10), (2, 9), (None, 0), (1, 3)])]  # fmt: skip
    figures = theme_figures(answers, names)
    assert [(f.label, f.size) for f in figures] == [("A", 3), ("Other", 1)]
    assert figures[0].nps.nps == pytest.approx(100 * (2 - 1) / 3)


def test_ids_carry_over_to_the_nearest_new_centroid_one_to_one() -> None:
    old = {7: [1.0, 0.0], 8: [0.0, 1.0]}
    assert carry_ids(old, [[0.1, 1.0], [1.0, 0.05], [-1.0, 0.0]]) == [8, 7, None]
    assert carry_ids(old, [[1.0, 0.0], [0.99, 0.1]]) == [7, None]
