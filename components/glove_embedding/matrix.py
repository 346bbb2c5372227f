"""The EmbeddingMatrix artifact's files: matrix.npy (float32 [vocabulary_size + reserved, dim],
row id = the word id the Transform gives) and coverage.json; load_matrix reads the matrix."""
from __future__ import annotations

import io
import json
import os

import numpy as np
import tensorflow as tf

MATRIX_FILE, COVERAGE_FILE = "matrix.npy", "coverage.json"


def _write_atomic(uri: str, name: str, data: bytes) -> None:
  tmp = os.path.join(uri, f".{name}.tmp")
  with tf.io.gfile.GFile(tmp, "wb") as f:
    f.write(data)
  tf.io.gfile.rename(tmp, os.path.join(uri, name), overwrite=True)


def write(uri: str, matrix: np.ndarray, coverage: dict) -> None:
  """matrix.npy, then coverage.json, each written to a temp name and renamed."""
  tf.io.gfile.makedirs(uri)
  buffer = io.BytesIO()
  np.save(buffer, np.asarray(matrix, np.float32))
  _write_atomic(uri, MATRIX_FILE, buffer.getvalue())
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
