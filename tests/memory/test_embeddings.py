"""Embedding providers: the offline MiniLM model and an OpenAI-compatible endpoint
(against a small local stand-in server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from memory.embeddings import EmbeddingError
from memory.embeddings.local import LocalMiniLM
from memory.embeddings.openai import OpenAIEmbeddings


@pytest.fixture(scope="module")
def model() -> LocalMiniLM:
    return LocalMiniLM()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_vectors_are_384_dimensional_and_normalised(model) -> None:
    vectors = model.embed(["Deploy with docker compose", "", "ünïcödé and emoji 🚀"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_meaning_is_closer_than_words(model) -> None:
    base, paraphrase, unrelated = model.embed(
        [
            "The staging database migration failed because of a missing index.",
            "Our migration on the staging DB broke: an index was absent.",
            "The marketing team is planning a launch party in June.",
        ]
    )
    assert cosine(base, paraphrase) > 0.6
    assert cosine(base, paraphrase) > cosine(base, unrelated) + 0.4


def test_batching_gives_the_same_vectors(model) -> None:
    texts = [f"note {i}: the worker retries failed tasks with backoff" for i in range(40)]
    together = model.embed(texts)
    alone = np.vstack([model.embed([t]) for t in texts[:3]])
    assert np.allclose(together[:3], alone, atol=1e-4)


def test_padding_never_changes_a_vector(model) -> None:
    # Batches group texts by token count; a short text padded next to a long one must
    # come out exactly as it does alone.
    texts = ["ok", "a much longer sentence about retries, backoff and idempotent Celery tasks " * 3, "short note"]
    together = model.embed(texts * 12)
    alone = np.vstack([model.embed([t]) for t in texts])
    assert np.allclose(together[:3], alone, atol=1e-4)
    assert np.allclose(together[33:36], alone, atol=1e-4)


def test_long_text_is_truncated_not_rejected(model) -> None:
    assert model.embed(["word " * 5000]).shape == (1, 384)


def test_a_model_file_with_the_wrong_checksum_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EmbeddingError, match="sha256"):
        LocalMiniLM(fake)


class _StandIn(BaseHTTPRequestHandler):
    """Answers like an OpenAI-compatible /embeddings endpoint."""

    requests: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _StandIn.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        dims = body["dimensions"]
        data = [{"index": i, "embedding": [float(len(text) % 7 + 1)] * dims} for i, text in enumerate(body["input"])]
        data.reverse()  # order must come from "index", not position
        payload = json.dumps({"data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _StandIn.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_provider(stand_in: str) -> None:
    provider = OpenAIEmbeddings(base_url=stand_in, api_key="sk-test", model="text-embedding-3-small", dimensions=8)
    vectors = provider.embed(["a", "bb", "ccc"])
    assert vectors.shape == (3, 8)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    request = _StandIn.requests[0]
    assert request["path"] == "/v1/embeddings" and request["auth"] == "Bearer sk-test"
    assert request["body"] == {"model": "text-embedding-3-small", "input": ["a", "bb", "ccc"], "dimensions": 8}


def test_openai_provider_errors_are_clear(stand_in: str) -> None:
    with pytest.raises(EmbeddingError, match="HTTP 500"):
        OpenAIEmbeddings(base_url=stand_in, api_key="", model="broken", dimensions=8).embed(["x"])
    with pytest.raises(EmbeddingError, match="unreachable"):
        OpenAIEmbeddings(base_url="http://127.0.0.1:1", api_key="", model="m", dimensions=8).embed(["x"])
    with pytest.raises(EmbeddingError, match="required"):
        OpenAIEmbeddings(base_url="", api_key="", model="m", dimensions=8)
