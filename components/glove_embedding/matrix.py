"""The EmbeddingMatrix artifact's files: matrix.npy (float32 [vocabulary_size + reserved, dim],
row id = the word id the Transform gives), coverage.json, and for a matrix of the source's own
words words.txt (row i + reserved holds word i); load_matrix and load_words read them."""
from __future__ import annotations

import io
import json
import os

from typing import Optional

import numpy as np
import tensorflow as tf

MATRIX_FILE, COVERAGE_FILE, WORDS_FILE = "matrix.npy", "coverage.json", "words.txt"


def _write_atomic(uri: str, name: str, data: bytes) -> None:
  tmp = os.path.join(uri, f".{name}.tmp")
  with tf.io.gfile.GFile(tmp, "wb") as f:
    f.write(data)
  tf.io.gfile.rename(tmp, os.path.join(uri, name), overwrite=True)


def write(uri: str, matrix: np.ndarray, coverage: dict, words: Optional[list[str]] = None) -> None:
  """matrix.npy (then words.txt), then coverage.json, each written to a temp name and renamed:
  coverage.json, written last, marks a complete artifact."""
  tf.io.gfile.makedirs(uri)
  buffer = io.BytesIO()
  np.save(buffer, np.asarray(matrix, np.float32))
  _write_atomic(uri, MATRIX_FILE, buffer.getvalue())
  if words is not None:
    _write_atomic(uri, WORDS_FILE, "".join(w + "\n" for w in words).encode("utf-8"))
  _write_atomic(uri, COVERAGE_FILE, json.dumps(coverage, indent=1).encode("utf-8"))


def read_coverage(uri: str) -> dict:
  with tf.io.gfile.GFile(os.path.join(uri, COVERAGE_FILE)) as f:
    return json.load(f)


def load_matrix(embedding_uri: str) -> np.ndarray:
  """The EmbeddingMatrix artifact at `embedding_uri` -> float32 [vocabulary_size + 2, dim]."""
  path = os.path.join(embedding_uri, MATRIX_FILE)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path}: no such file; is {embedding_uri} an EmbeddingMatrix "
                            "artifact (GloveEmbedding's output)?")
  with tf.io.gfile.GFile(path, "rb") as f:
    matrix = np.load(io.BytesIO(f.read()), allow_pickle=False)
  if matrix.ndim != 2 or matrix.dtype != np.float32:
    raise ValueError(f"{path}: {matrix.dtype} {matrix.shape}, expected float32 [rows, dim]")
  return matrix


def load_words(embedding_uri: str) -> list[str]:
  """The words of a source-words EmbeddingMatrix (GloveEmbedding without a Transform graph)."""
  path = os.path.join(embedding_uri, WORDS_FILE)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path}: no such file; the EmbeddingMatrix at {embedding_uri} was "
                            "built for a Transform vocabulary, not from the source's own words")
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read().decode("utf-8").split("\n")[:-1]
