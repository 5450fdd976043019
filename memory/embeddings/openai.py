"""Any OpenAI-compatible embeddings endpoint (`POST {base_url}/embeddings`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import numpy.typing as npt

from memory.embeddings import EmbeddingError, normalise

TIMEOUT_SECONDS = 30
BATCH_SIZE = 64


class OpenAIEmbeddings:
    def __init__(self, *, base_url: str, api_key: str, model: str, dimensions: int) -> None:
        if not base_url or not model or dimensions <= 0:
            raise EmbeddingError("EMBEDDING_BASE_URL, EMBEDDING_MODEL and EMBEDDING_DIMENSIONS are required")
        if not base_url.startswith(("http://", "https://")):
            raise EmbeddingError("EMBEDDING_BASE_URL must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model_id = model
        self.dimensions = dimensions

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        rows = [self._embed_batch(texts[i : i + BATCH_SIZE]) for i in range(0, len(texts), BATCH_SIZE)]
        return np.vstack(rows)

    def _embed_batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        body = json.dumps({"model": self.model_id, "input": texts, "dimensions": self.dimensions}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = f"{self.base_url}/embeddings"  # http(s) only, checked in __init__
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise EmbeddingError(f"embeddings endpoint answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise EmbeddingError(f"embeddings endpoint unreachable or invalid: {type(exc).__name__}") from None
        try:
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError("embeddings endpoint returned an unexpected body") from exc
        if vectors.shape != (len(texts), self.dimensions):
            raise EmbeddingError(f"expected {len(texts)} vectors of {self.dimensions} dimensions, got {vectors.shape}")
        return normalise(vectors)
