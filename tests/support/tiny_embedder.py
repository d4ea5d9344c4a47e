"""A tiny deterministic embedder for tests of index *mechanics* (crash loops, bookkeeping).

Each word maps to a fixed pseudo-random unit vector (seeded by its hash); a text is the normalised
sum of its words. Texts sharing words are similar, so search still means something. End-to-end
retrieval tests use the real MiniLM instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


class TinyEmbedder:
    max_tokens = 256

    def __init__(self, name: str = "tests/tiny-hash-embedder", dimension: int = 32) -> None:
        self.name = name
        self.dimension = dimension
        self.encode_calls = 0
        self.texts_embedded = 0
        self._cache: dict[str, np.ndarray] = {}

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(text)) for text in texts]

    def _word(self, word: str) -> np.ndarray:
        vector = self._cache.get(word)
        if vector is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            self._cache[word] = vector
        return vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.encode_calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row] += self._word(word)
            norm = float(np.linalg.norm(out[row]))
            out[row] = (
                out[row] / norm
                if norm
                else self._word("<empty>") / np.linalg.norm(self._word("<empty>"))
            )
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
