"""Grouping comment embeddings into themes: how many, which, and what fits none. Pure numpy.

Sentence embeddings of one model all point roughly the same way (two unrelated comments of one
language still reach a cosine of 0.88 with multilingual-e5-small), so vectors are first
*centred*: the mean comment is subtracted and the rest renormalised. What is left is what makes a
comment different from the average one, and cosines there spread from about -0.3 to 0.9.

Comments are centred *per language* (each language's mean comment subtracted): the model puts
French comments nearer each other than to English ones whatever they say, and this removes that
offset so "colis en retard" and "parcel arrived late" meet (docs/themes.md has the figures).
Languages with fewer than ``MIN_LANGUAGE_COMMENTS`` comments, and comments of no detected
language, use the mean of all comments.

The number of themes is chosen from the data: spherical k-means for each count from 2 to
sqrt(n) (at most ``max_themes``) on a seeded sample, scored by the silhouette (cosine distance);
the *largest* count within ``SILHOUETTE_SLACK`` of the best score wins. Well-separated groups
give one clear peak (a finer split scores far lower, so their number is found); comments, whose
topics overlap, give a flat curve, where the best score alone would pick 3 or 4 groups that mix
topics (the coarse praise/complaint split: purity 0.39 on our labelled sample) while the finest
split that scores as well reads as topics (docs/themes.md). Pinned
themes (the owner's, from example phrases) are centroids k-means never moves, placed at the mean
of the ``GROUNDING`` comments nearest to the examples: short example phrases sit apart from real
comments (held on the examples themselves, a pinned "delivery" theme took 3% of the delivery
comments of our sample and little else). A found theme that is the pinned one again (cosine
``PINNED_TWIN``) is dropped, so the owner's label wins. A comment far
from its nearest centroid, or in a theme too small to mean anything, is "other" (index -1).

Every result depends only on the vectors and the seed: same input, same themes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
OTHER = -1

# Below this many comments there is nothing to group (pinned themes still apply).
MIN_COMMENTS = 8
# A language needs this many comments to be centred on its own mean.
MIN_LANGUAGE_COMMENTS = 10
# Candidate counts are fitted on at most this many comments; the rest are assigned afterwards.
SAMPLE_SIZE = 4000
# The silhouette is computed on at most this many of them (a square matrix of cosines).
SILHOUETTE_SIZE = 1500
# The largest theme count whose silhouette is within this of the best is chosen.
SILHOUETTE_SLACK = 0.02
# A pinned theme starts from the mean of this many comments nearest to its examples.
GROUNDING = 10
# A found theme this close (cosine) to a pinned one is dropped in favour of the pinned one.
PINNED_TWIN = 0.5
# k-means runs per candidate count (the best is kept).
RESTARTS = 3
# A theme needs at least max(MIN_THEME_SIZE, MIN_THEME_SHARE of the comments); smaller ones are
# dissolved into "other".
MIN_THEME_SIZE = 3
MIN_THEME_SHARE = 0.01
# A member is "other" when its cosine to the centroid is this many standard deviations below the
# theme's mean cosine (and at least MIN_MARGIN below it: a theme of near-identical comments must
# still take a reworded one), or below FLOOR.
OUTLIER_SIGMAS = 2.0
MIN_MARGIN = 0.15
FLOOR = 0.05


@dataclass(frozen=True, slots=True)
class ThemeModel:
    """What a new comment is compared with: the centring vector and each theme's centroid."""

    mean: Vectors  # (d,) the mean of all comments
    language_means: dict[str, Vectors]  # languages with enough comments to have their own
    centroids: Vectors  # (k, d), unit length, in the centred space
    cutoffs: npt.NDArray[np.float64]  # (k,) the least cosine a member must have
    pinned: int  # the first ``pinned`` centroids are the owner's pinned themes, in config order

    @property
    def size(self) -> int:
        return int(self.centroids.shape[0])


@dataclass(frozen=True, slots=True)
class Grouping:
    model: ThemeModel
    themes: npt.NDArray[np.int64]  # (n,) centroid index per comment, OTHER for none
    similarity: npt.NDArray[np.float32]  # (n,) cosine to that centroid (to the nearest for OTHER)


def language_means(
    vectors: Vectors, languages: Sequence[str | None]
) -> tuple[Vectors, dict[str, Vectors]]:
    """The mean of all comments, and of each language with ``MIN_LANGUAGE_COMMENTS`` or more."""
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    overall = vectors.mean(axis=0) if len(vectors) else np.zeros(dim, np.float32)
    codes = np.array([language or "" for language in languages])
    means = {}
    for language in sorted(set(codes) - {""}):
        rows = codes == language
        if rows.sum() >= MIN_LANGUAGE_COMMENTS:
            means[str(language)] = vectors[rows].mean(axis=0).astype(np.float32)
    return overall.astype(np.float32), means


def centred_by_language(
    vectors: Vectors, languages: Sequence[str | None], mean: Vectors, means: dict[str, Vectors]
) -> Vectors:
    offsets = (
        np.stack([means.get(language or "", mean) for language in languages])
        if len(languages)
        else np.zeros_like(vectors)
    )
    return centred(vectors, offsets)


def centred(vectors: Vectors, mean: Vectors) -> Vectors:
    shifted = vectors.astype(np.float32, copy=False) - mean
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    result: Vectors = shifted / np.maximum(norms, 1e-12)
    return result


@dataclass(frozen=True, slots=True)
class PinnedExamples:
    """The owner's example phrases of one pinned theme, embedded, with their languages."""

    vectors: Vectors
    languages: Sequence[str | None]


def group(
    vectors: Vectors,
    languages: Sequence[str | None],
    *,
    seed: int,
    pinned: Sequence[PinnedExamples] = (),
    max_themes: int = 20,
) -> Grouping:
    """Themes of ``vectors`` (one row per comment, any scale; ``languages`` gives each one's
    language or None), with each of ``pinned`` as a fixed theme, in order."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = vectors.shape[0]
    mean, means = language_means(vectors, languages)
    fixed = _pinned_centroids(pinned, mean, means, vectors.shape[1] if vectors.ndim == 2 else 0)
    rng = np.random.default_rng(seed)
    points = centred_by_language(vectors, languages, mean, means)
    if n < MIN_COMMENTS:
        centroids = fixed
    else:
        sample = points[rng.permutation(n)[:SAMPLE_SIZE]] if n > SAMPLE_SIZE else points
        fixed = _grounded(fixed, sample)
        centroids = _best_centroids(sample, fixed, rng, max_themes, n)
        centroids = _lloyd(points, centroids, len(fixed), iterations=5)
        centroids = _without_pinned_twins(centroids, len(fixed))
    model = ThemeModel(mean, means, centroids, np.zeros(len(centroids)), len(fixed))
    themes, similarity = _nearest(points, centroids)
    model, themes = _trim(model, points, themes, similarity)
    return Grouping(model, themes, similarity)


def assign(
    model: ThemeModel, vectors: Vectors, languages: Sequence[str | None]
) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Themes of new comments under an existing model; centroids do not move."""
    vectors = np.asarray(vectors, dtype=np.float32)
    points = centred_by_language(vectors, languages, model.mean, model.language_means)
    themes, similarity = _nearest(points, model.centroids)
    fits = similarity >= model.cutoffs[np.maximum(themes, 0)] if model.size else themes < 0
    return np.where(fits, themes, OTHER), similarity


def _pinned_centroids(
    pinned: Sequence[PinnedExamples], mean: Vectors, means: dict[str, Vectors], dim: int
) -> Vectors:
    rows = [
        centred_by_language(np.asarray(p.vectors, np.float32), p.languages, mean, means).mean(0)
        for p in pinned
        if len(p.vectors)
    ]
    if not rows:
        return np.zeros((0, dim), np.float32)
    stacked = np.stack(rows)
    result: Vectors = stacked / np.maximum(np.linalg.norm(stacked, axis=1, keepdims=True), 1e-12)
    return result


def _best_centroids(
    sample: Vectors, fixed: Vectors, rng: np.random.Generator, max_themes: int, n: int
) -> Vectors:
    """The centroids of the chosen candidate count (pinned ones first, unmoved)."""
    most = max(1, min(max_themes - len(fixed), len(sample) // 4, int(np.ceil(np.sqrt(n)))))
    least = min(most, 1 if len(fixed) else 2)
    probe = sample[rng.permutation(len(sample))[:SILHOUETTE_SIZE]]
    candidates: list[Vectors] = []
    scores: list[float] = []
    for free in range(least, most + 1):
        centroids = _kmeans(sample, fixed, free, rng)
        labels, _ = _nearest(probe, centroids)
        candidates.append(centroids)
        scores.append(_silhouette(probe, labels, len(centroids)))
    best = max(scores)
    chosen = max(i for i, score in enumerate(scores) if score >= best - SILHOUETTE_SLACK)
    return candidates[chosen]


def _kmeans(points: Vectors, fixed: Vectors, free: int, rng: np.random.Generator) -> Vectors:
    """Spherical k-means, the best of ``RESTARTS`` k-means++ seedings (highest total cosine of
    the points to their centroids), the ``fixed`` (pinned) centroids first."""
    best: tuple[float, Vectors] | None = None
    for _ in range(RESTARTS):
        centroids = _lloyd(points, _seeds(points, fixed, free, rng), len(fixed), iterations=25)
        fit = float(np.max(points @ centroids.T, axis=1).sum())
        if best is None or fit > best[0]:
            best = (fit, centroids)
    assert best is not None
    return best[1]


def _seeds(points: Vectors, fixed: Vectors, free: int, rng: np.random.Generator) -> Vectors:
    """k-means++ seeding in cosine distance, around the fixed centroids."""
    chosen = list(fixed)
    n = len(points)
    closest = np.max(points @ np.stack(chosen).T, axis=1) if chosen else np.full(n, -1.0)
    for _ in range(free):
        weights = np.clip(1.0 - closest, 0.0, None) ** 2
        total = weights.sum()
        pick = rng.choice(len(points), p=weights / total) if total > 0 else rng.integers(n)
        chosen.append(points[pick])
        closest = np.maximum(closest, points @ points[pick])
    return np.stack(chosen).astype(np.float32)


def _grounded(pinned: Vectors, points: Vectors) -> Vectors:
    """Each pinned centroid moved to the mean of the ``GROUNDING`` comments nearest to it: the
    owner's short example phrases point at a topic, and the comments near them say how customers
    really write about it."""
    if len(pinned) == 0 or len(points) < GROUNDING:
        return pinned
    nearest = np.argsort(-(points @ pinned.T), axis=0)[:GROUNDING]  # (GROUNDING, pinned)
    means = np.stack([points[nearest[:, k]].mean(axis=0) for k in range(len(pinned))])
    result: Vectors = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    return result.astype(np.float32)


def _without_pinned_twins(centroids: Vectors, fixed: int) -> Vectors:
    """Found themes that are the owner's pinned theme again are left to the pinned one: its
    comments are the owner's theme, under the owner's label."""
    if fixed == 0:
        return centroids
    twins = np.max(centroids[fixed:] @ centroids[:fixed].T, axis=1) >= PINNED_TWIN
    return np.concatenate([centroids[:fixed], centroids[fixed:][~twins]])


def _lloyd(points: Vectors, centroids: Vectors, fixed: int, *, iterations: int) -> Vectors:
    """Spherical Lloyd iterations; the first ``fixed`` centroids (pinned themes) stay put. Each
    step's member sums are one matrix product (a one-hot matrix of the labels times the points)
    rather than a boolean mask per theme: 100,000 comments cost one pass, not twenty."""
    centroids = centroids.copy()
    k = len(centroids)
    movable = np.arange(k) >= fixed
    for _ in range(iterations):
        labels = np.argmax(points @ centroids.T, axis=1)
        onehot = (labels[:, None] == np.arange(k)[None, :]).astype(np.float32)
        totals = onehot.T @ points
        norms = np.linalg.norm(totals, axis=1, keepdims=True)
        updated = totals / np.maximum(norms, 1e-12)
        keep = ~movable | (onehot.sum(axis=0) == 0)  # pinned, or no member: unmoved
        updated[keep] = centroids[keep]
        moved = not np.allclose(updated, centroids, atol=1e-6)
        centroids = updated.astype(np.float32)
        if not moved:
            break
    return centroids


def _nearest(points: Vectors, centroids: Vectors) -> tuple[npt.NDArray[np.int64], Vectors]:
    if len(centroids) == 0 or len(points) == 0:
        return np.full(len(points), OTHER, np.int64), np.zeros(len(points), np.float32)
    themes = np.empty(len(points), np.int64)
    similarity = np.empty(len(points), np.float32)
    for start in range(0, len(points), 20_000):  # bounded memory for 100,000+ comments
        cosines = points[start : start + 20_000] @ centroids.T
        themes[start : start + 20_000] = np.argmax(cosines, axis=1)
        similarity[start : start + 20_000] = np.max(cosines, axis=1)
    return themes, similarity


def _silhouette(points: Vectors, labels: npt.NDArray[np.int64], k: int) -> float:
    """Mean silhouette with cosine distance (1 - cosine); -1 when only one group is used."""
    if len(np.unique(labels)) < 2:
        return -1.0
    distance = 1.0 - points @ points.T
    onehot = np.zeros((len(points), k), np.float32)
    onehot[np.arange(len(points)), labels] = 1.0
    counts = onehot.sum(axis=0)
    sums = distance @ onehot
    own = counts[labels]
    a = sums[np.arange(len(points)), labels] / np.maximum(own - 1, 1)
    means = sums / np.maximum(counts, 1)
    means[:, counts == 0] = np.inf
    means[np.arange(len(points)), labels] = np.inf
    b = means.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def _trim(
    model: ThemeModel, points: Vectors, themes: npt.NDArray[np.int64], similarity: Vectors
) -> tuple[ThemeModel, npt.NDArray[np.int64]]:
    """Dissolve themes too small to mean anything (never pinned ones), set each cutoff, and
    mark the members below it as "other"."""
    n = len(points)
    least = max(MIN_THEME_SIZE, int(np.ceil(MIN_THEME_SHARE * n)))
    keep = [i for i in range(model.size) if i < model.pinned or np.sum(themes == i) >= least]
    centroids = model.centroids[keep]
    if len(keep) != model.size:
        themes, similarity[:] = _nearest(points, centroids)
    cutoffs = np.full(len(keep), FLOOR)
    for index in range(len(keep)):
        sims = similarity[themes == index]
        if len(sims) >= MIN_THEME_SIZE:
            spread = max(OUTLIER_SIGMAS * float(sims.std()), MIN_MARGIN)
            cutoffs[index] = max(FLOOR, float(sims.mean()) - spread)
    fits = similarity >= cutoffs[np.maximum(themes, 0)] if len(keep) else themes < 0
    themes = np.where(fits, themes, OTHER)
    return ThemeModel(model.mean, model.language_means, centroids, cutoffs, model.pinned), themes
