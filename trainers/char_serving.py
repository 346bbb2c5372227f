"""Serving signatures of the character LMs (the Transform graph inside: raw text in).

  serving_default  text [batch] prompts (non-empty)  -> probabilities [batch, V] of the next
                                                       character, state [batch, units]
  step             char_id [batch] int64, state      -> probabilities, state (one more char)
  vocabulary       ()                                -> chars [V]: id -> character ("" = pad)
  from_windows     examples [batch] CharWindows tf.Examples -> cross_entropy [batch], the mean
                                                       nats/char of each window, and
                                                       next_char_accuracy [batch], its share of
                                                       characters that are the most probable
                                                       next one (for TFMA)
Generation primes with serving_default, then calls `step` once per sampled character.
"""
from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from trainers import serving


def _step_model(model: keras.Model) -> keras.Model:
  """The trained layers with the GRU state as an explicit input and output."""
  embedding, gru, dense = (model.get_layer(n) for n in ("embedding", "gru", "next_char"))
  ids = keras.Input(shape=(None,), dtype="int64")
  state = keras.Input(shape=(gru.cell.units,))
  x = embedding(ids)
  sequence, final_state = keras.layers.GRU(
      gru.cell.units, return_sequences=True, return_state=True, name="gru_step")(
          x, initial_state=state)
  step = keras.Model([ids, state], [dense(sequence), final_state])
  step.get_layer("gru_step").set_weights(gru.get_weights())
  return step


class CharLMModule(tf.Module):

  def __init__(self, model: keras.Model, tf_transform_output, vocabulary: list[str]):
    super().__init__()
    serving.hold_keras(self, step_model=_step_model(model))
    self.tft_layer = tf_transform_output.transform_features_layer()
    self._raw_spec = tf_transform_output.raw_feature_spec()
    self._chars = tf.constant(vocabulary)
    self._units = self.step_model.inputs[1].shape[-1]

  def _zeros(self, batch):
    return tf.zeros([batch, self._units])

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve_text(self, text):
    transformed = self.tft_layer(serving.raw_features_from_text(text, self._raw_spec))
    ids = tf.sparse.to_dense(transformed["char_ids"])  # right-padded with 0 (masked)
    lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
    tf.debugging.assert_positive(lengths, message="empty prompt: give at least one character")
    probabilities, state = self.step_model([ids, self._zeros(tf.shape(ids)[0])])
    last = tf.gather(probabilities, lengths - 1, batch_dims=1)
    return {"probabilities": last, "state": state}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="char_id"),
                                tf.TensorSpec([None, None], tf.float32, name="state")])
  def step(self, char_id, state):
    probabilities, state = self.step_model([char_id[:, None], state])
    return {"probabilities": probabilities[:, 0], "state": state}

  @tf.function(input_signature=[])
  def vocabulary(self):
    return {"chars": self._chars}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def from_windows(self, examples):
    spec = {"input": tf.io.VarLenFeature(tf.int64), "target": tf.io.VarLenFeature(tf.int64)}
    parsed = tf.io.parse_example(examples, spec)
    inputs, targets = (tf.sparse.to_dense(parsed[k]) for k in ("input", "target"))
    probabilities, _ = self.step_model([inputs, self._zeros(tf.shape(inputs)[0])])
    nats = keras.losses.sparse_categorical_crossentropy(targets, probabilities)
    hits = tf.cast(tf.equal(tf.argmax(probabilities, axis=-1), targets), tf.float32)
    return {"cross_entropy": tf.reduce_mean(nats, axis=1),
            "next_char_accuracy": tf.reduce_mean(hits, axis=1)}


def signatures(module: CharLMModule) -> dict:
  return {"serving_default": module.serve_text.get_concrete_function(),
          "step": module.step.get_concrete_function(),
          "vocabulary": module.vocabulary.get_concrete_function(),
          "from_windows": module.from_windows.get_concrete_function()}


def sampling_distribution(probabilities: np.ndarray, temperature: float = 1.0,
                          top_k: Optional[int] = None, top_p: Optional[float] = None,
                          banned=()) -> np.ndarray:
  """[V] next-char probabilities -> the distribution to sample from."""
  if temperature <= 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")
  if top_k is not None and top_p is not None:
    raise ValueError("give top_k or top_p, not both")
  p = np.asarray(probabilities, np.float64).copy()
  p[list(banned)] = 0.0
  p = np.power(np.maximum(p, 0.0), 1.0 / temperature)
  if top_k is not None:
    if top_k < 1:
      raise ValueError(f"top_k must be >= 1, got {top_k}")
    p[np.argsort(-p, kind="stable")[top_k:]] = 0.0
  p /= p.sum()
  if top_p is not None:
    if not 0 < top_p <= 1:
      raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    order = np.argsort(-p, kind="stable")
    keep = np.searchsorted(np.cumsum(p[order]), top_p) + 1  # smallest prefix reaching top_p
    p[order[keep:]] = 0.0
    p /= p.sum()
  return p


def sample(module, prompt: str, chars: int, rng: np.random.Generator, temperature: float = 1.0,
           top_k: Optional[int] = None, top_p: Optional[float] = None) -> str:
  """chars characters after prompt, sampled through serve_text then step, one call per
  character (the GRU state carried), never padding (id 0) or the unseen-character id (the
  last). module: a CharLMModule, or one loaded with tf.saved_model.load (pipeline.generate)."""
  if not prompt:
    raise ValueError("the prompt must have at least one character")
  vocabulary = [c.decode("utf-8") for c in module.vocabulary()["chars"].numpy().tolist()]
  banned = (0, len(vocabulary) - 1)
  out = module.serve_text(tf.constant([prompt]))
  generated = []
  for _ in range(chars):
    p = sampling_distribution(out["probabilities"].numpy()[0], temperature, top_k, top_p,
                              banned)
    next_id = int(rng.choice(len(p), p=p))
    generated.append(vocabulary[next_id])
    out = module.step(tf.constant([next_id], tf.int64), out["state"])
  return "".join(generated)
