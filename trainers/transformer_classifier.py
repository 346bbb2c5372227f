"""Transformer encoder classifier (DLwP ch. 11): token embedding + learned position embedding ->
TransformerEncoder (multi-head self-attention + feed-forward, each with a residual and layer
norm; padding masked out of the attention) -> global max pooling over the real tokens (DLwP
pools over the padding too, which makes the prediction depend on it).

`embedding_dim` is the model width (DLwP: 256), `num_heads` (2), `hidden_units` the feed-forward
width (32). The token embedding is trainers.sequence's (learned or GloVe; mask_zero masks the
attention).
"""
from __future__ import annotations

import keras
from keras import ops
from typing import Literal

from pydantic import Field

from trainers import families, sequence


class Params(sequence.Params):
  embedding: Literal["learned", "glove"] = Field(
      "learned", description="learned, or glove (frozen rows from glove_source); onehot is "
      "rnn_classifier's")
  num_heads: int = Field(2, ge=1)
  hidden_units: int = Field(16, ge=1, description="the feed-forward width")


class PositionEmbedding(keras.layers.Layer):
  """Adds a learned embedding of each position (up to the Input's length; a batch cut to its
  longest review takes the first rows); passes the token mask on."""

  def build(self, input_shape):
    self.positions = self.add_weight(name="positions", shape=tuple(input_shape[1:]),
                                     initializer="uniform")

  def call(self, x):
    return x + self.positions[:ops.shape(x)[1]]

  def compute_mask(self, inputs, mask=None):
    return mask


class TransformerEncoder(keras.layers.Layer):

  def __init__(self, width: int, dense_dim: int, num_heads: int, **kwargs):
    super().__init__(**kwargs)
    self.supports_masking = True
    self.attention = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=width)
    self.dense_proj = keras.Sequential([keras.layers.Dense(dense_dim, activation="relu"),
                                        keras.layers.Dense(width)])
    self.norm_1 = keras.layers.LayerNormalization()
    self.norm_2 = keras.layers.LayerNormalization()

  def call(self, x, mask=None):
    attention_mask = None if mask is None else ops.expand_dims(mask, axis=1)  # [b, 1, keys]
    attended = self.attention(x, x, attention_mask=attention_mask)
    x = self.norm_1(x + attended)
    return self.norm_2(x + self.dense_proj(x))


class MaskedMaxPooling(keras.layers.Layer):
  """Max over time of the unmasked positions (Keras' GlobalMaxPooling1D ignores the mask)."""

  def call(self, x, mask=None):
    if mask is not None:
      x = ops.where(ops.expand_dims(mask, -1), x, ops.full_like(x, -1e9))
    return ops.max(x, axis=1)

  def compute_mask(self, inputs, mask=None):
    return None


def body(x, config):
  x = PositionEmbedding()(x)
  x = TransformerEncoder(x.shape[-1], config.hidden_units, config.num_heads)(x)
  return MaskedMaxPooling()(x)


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body, Params, masks_padding=True)


FAMILY = families.Family("transformer_classifier", task="classification", params=Params,
                         module=__name__, describe=sequence.describe,
                         uses_glove=sequence.uses_glove, check_run=sequence.check_run)
