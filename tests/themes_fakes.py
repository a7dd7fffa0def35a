"""A fake :class:`nps_engine.ports.CommentEmbedder`: topic words point along their topic's axis,
so tests know which comments belong together without loading a model."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

TOPICS = {
    "delivery": ("late", "retard", "parcel", "colis", "shipping", "livraison", "delivery"),
    "sizing": ("size", "taille", "small", "petit", "fit", "large"),
    "service": ("support", "service", "answer", "réponse", "agent", "conseiller"),
    "quality": ("quality", "qualité", "fabric", "tissu", "broke", "stitching"),
}
DIM = 16


class FakeCommentEmbedder:
    model_name = "fake-topics"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.embedded.extend(texts)
        rows = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            words = text.lower().replace(",", " ").replace(".", " ").split()
            for axis, cues in enumerate(TOPICS.values()):
                rows[row, axis] = sum(word in cues for word in words)
            digest = hashlib.sha256(text.encode()).digest()
            rows[row, 8:] = np.frombuffer(digest[:8], np.uint8) / 2550.0  # small, fixed noise
            rows[row, 4] = 0.3  # every comment shares a common direction, as real models do
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        result: NDArray[np.float32] = rows / np.maximum(norms, 1e-9)
        return result

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        french = ("colis", "taille", "qualité", "retard", "réponse", "tissu", "conseiller")
        return ["fr" if any(w in t.lower() for w in french) else "en" for t in texts]
