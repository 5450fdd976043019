"""Embedding providers: text in, L2-normalised vectors out.

The default runs all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) in-process, fully
offline; the alternative calls any OpenAI-compatible embeddings endpoint. Which one
is used, with which model and dimensions, comes from settings (EMBEDDING_*).
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np
import numpy.typing as npt
from django.conf import settings


class EmbeddingError(Exception):
    """The provider could not embed (bad model file, HTTP failure, wrong shape)."""


class EmbeddingProvider(Protocol):
    model_id: str
    dimensions: int

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One normalised row per text, in order."""
        ...


_provider: EmbeddingProvider | None = None
_lock = threading.Lock()


def get_provider() -> EmbeddingProvider:
    """The configured provider, built once per process (the model loads once)."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = _build()
        return _provider


def _build() -> EmbeddingProvider:
    if settings.EMBEDDING_PROVIDER == "openai":
        from memory.embeddings.openai import OpenAIEmbeddings

        return OpenAIEmbeddings(
            base_url=settings.EMBEDDING_BASE_URL,
            api_key=settings.EMBEDDING_API_KEY,
            model=settings.EMBEDDING_MODEL,
            dimensions=settings.EMBEDDING_DIMENSIONS,
        )
    from memory.embeddings.local import LocalMiniLM

    return LocalMiniLM(threads=settings.EMBEDDING_THREADS)


def normalise(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return result
