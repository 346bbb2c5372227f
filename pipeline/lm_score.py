"""Cross-entropy of a served character LM over a text read in order, the GRU state carried.

The Evaluator (TFMA) scores each 100-character test window from a zero state, so the first
characters of every window are predicted with little context. This reads the same test text
as a few long streams through the model's `step` signature instead (state carried from one
character to the next), the way a language model reads a text. Input: a split's text, from
the Transform's examples of the split (`split_ids`: the whole split, whatever layout the
model's windows have), or from a stateless CharWindows eval/test split (`text_ids`: its
windows are consecutive in text order, window k's last target window k+1's first input).
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import tensorflow as tf

from components.char_windows import executor as char_windows
from pipeline import serving_client


def split_ids(examples_pattern: str) -> np.ndarray:
  """The id stream of a split from the Transform's examples of it (offset + char_ids chunks)."""
  files = sorted(tf.io.gfile.glob(examples_pattern))
  if not files:
    raise FileNotFoundError(f"no transformed examples match {examples_pattern}")
  chunks = [char_windows.parse_chunk(r.numpy())
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
  if not chunks:
    raise ValueError(f"{examples_pattern}: no examples")
  return char_windows.text_ids(chunks)


def text_ids(windows_pattern: str) -> np.ndarray:
  """The id stream of a stateless eval/test windows file: [n + 1] ids, in text order."""
  files = sorted(tf.io.gfile.glob(windows_pattern))
  if not files:
    raise FileNotFoundError(f"no windows files match {windows_pattern}")
  spec = {"input": tf.io.VarLenFeature(tf.int64), "target": tf.io.VarLenFeature(tf.int64)}
  inputs, last = [], None
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    parsed = tf.io.parse_single_example(record, spec)
    window, target = (tf.sparse.to_dense(parsed[k]).numpy() for k in ("input", "target"))
    if last is not None and window[0] != last:
      raise ValueError(f"{windows_pattern}: window {len(inputs)} does not continue the one "
                       "before; give a stateless eval or test split (consecutive windows)")
    inputs.append(window)
    last = target[-1]
  if not inputs:
    raise ValueError(f"{windows_pattern}: no windows")
  return np.concatenate([*inputs, [last]])


def streamed_cross_entropy(model_path: str, ids: np.ndarray, streams: int = 16) -> dict:
  """Mean nats/char of predicting ids[1:] from everything before, in `streams` contiguous
  pieces read side by side (each starts from a zero state; the remainder is dropped)."""
  path = serving_client.resolve_version_dir(model_path)
  loaded = tf.saved_model.load(path)
  step = loaded.signatures["step"]
  units = loaded.signatures["serving_default"](text=tf.constant(["a"]))["state"].shape[-1]
  length = (len(ids) - 1) // streams
  if length < 1:
    raise ValueError(f"{len(ids)} ids are too few for {streams} streams")
  rows = np.arange(streams)[:, None] * length + np.arange(length + 1)[None, :]
  pieces = ids[rows]  # [streams, length + 1]
  state = tf.zeros([streams, units])
  nats = np.zeros(streams)
  start = time.monotonic()
  for t in range(length):
    out = step(char_id=tf.constant(pieces[:, t], tf.int64), state=state)
    probabilities, state = out["probabilities"].numpy(), out["state"]
    nats -= np.log(np.maximum(probabilities[np.arange(streams), pieces[:, t + 1]], 1e-30))
    if (t + 1) % 1000 == 0:
      logging.info("scored %d of %d characters per stream (%.0fs)", t + 1, length,
                   time.monotonic() - start)
  mean = float(nats.sum() / (streams * length))
  return {"model": path, "chars": streams * length, "streams": streams,
          "nats_per_char": mean, "bits_per_char": mean / math.log(2),
          "perplexity": math.exp(mean)}
