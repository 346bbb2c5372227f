"""Serving signatures of the translators (the Transform graph inside: raw English in).

  serving_default  text [b] English                 -> translation [b] (greedy, standardised
                                                       words joined by spaces), token_ids [b, L]
  encode           text [b]                         -> encoder_outputs [b, Ls, D], source_ids
                                                       [b, Ls], state [b, S] (the decoder's
                                                       initial state; an LSTM's h and c
                                                       concatenated)
  decode_step      token_id [b], state, encoder_outputs, source_ids
                                                    -> log_probs [b, V] of the next word, state
  vocabulary       ()                               -> tokens [V]: target id -> word,
                                                       max_length []: decoding steps, and the
                                                       configured decoding: beam_width [],
                                                       length_alpha [], unk_penalty []
  from_examples    examples [b] raw tf.Examples     -> translation [b] (greedy), source [b],
                                                       reference [b] (the target, standardised):
                                                       what TFMA's BLEU metric reads
                                                       (components.translation_metrics)
Beam search (trainers.seq2seq_decoding) calls `encode` once per sentence, then `decode_step`
once per step for all live hypotheses.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from components import translation_preprocessing as tp
from trainers import serving


class TranslatorModule(tf.Module):

  def __init__(self, encoder: keras.Model, step_model: keras.Model, tf_transform_output,
               vocabulary: list[str], max_length: int, unk_penalty: float = 0.0,
               beam_width: int = 1, length_alpha: float = 1.0):
    """encoder, step_model: trainers.translator.inference_models of the trained model."""
    super().__init__()
    serving.hold_keras(self, encoder=encoder, step_model=step_model)
    self.tft_layer = tf_transform_output.transform_features_layer()
    self._raw_spec = tf_transform_output.raw_feature_spec()
    self._tokens = tf.constant(vocabulary)
    self._max_length = max_length
    self._unk_penalty = unk_penalty  # the in-graph greedy decoding's, as seq2seq_decoding's
    # What the config chose on the eval split; clients (textzoo translate) decode with it.
    self._beam_width, self._length_alpha = beam_width, length_alpha
    self._state_sizes = [s.shape[-1] for s in self.encoder.outputs[1:]]

  def _source_ids(self, text):
    """English strings -> source ids (the target, not an input to serving, a placeholder)."""
    return self.tft_layer(serving.raw_features_from_text(text, self._raw_spec, "source"))[
        "source_ids"]

  def _encode(self, text):
    source_ids = self._source_ids(text)
    encoder_outputs, *states = self.encoder(source_ids)
    # tf.identity drops the Keras padding mask riding on the outputs: the step model masks
    # attention with source_ids itself.
    return {"encoder_outputs": tf.identity(encoder_outputs), "source_ids": source_ids,
            "state": tf.concat(states, axis=-1)}

  def _step(self, token_id, state, encoder_outputs, source_ids):
    states = tf.split(state, self._state_sizes, axis=-1)
    probabilities, *states = self.step_model(
        [token_id[:, None], *states, encoder_outputs, source_ids])
    return tf.math.log(tf.maximum(probabilities, 1e-30)), tf.concat(states, axis=-1)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def encode(self, text):
    return self._encode(text)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="token_id"),
                                tf.TensorSpec([None, None], tf.float32, name="state"),
                                tf.TensorSpec([None, None, None], tf.float32,
                                              name="encoder_outputs"),
                                tf.TensorSpec([None, None], tf.int64, name="source_ids")])
  def decode_step(self, token_id, state, encoder_outputs, source_ids):
    log_probs, state = self._step(token_id, state, encoder_outputs, source_ids)
    return {"log_probs": log_probs, "state": state}

  def _greedy(self, text):
    """Greedy decoding in the graph: (translations [b], token ids [b, max_length])."""
    encoded = self._encode(text)
    batch = tf.shape(text)[0]
    token = tf.fill([batch], tf.constant(tp.START_ID, tf.int64))
    state, done = encoded["state"], tf.zeros([batch], tf.bool)
    # Added to every step's log-probabilities, as seq2seq_decoding._adjust does: pad and start
    # never, unknown words penalised.
    adjust = tf.scatter_nd([[tp.PAD_ID], [tp.START_ID], [tp.UNK_ID]],
                           tf.constant([-1e9, -1e9, -self._unk_penalty], tf.float32),
                           tf.shape(self._tokens)[:1])
    ids = tf.TensorArray(tf.int64, size=self._max_length)
    for i in tf.range(self._max_length):
      log_probs, state = self._step(token, state, encoded["encoder_outputs"],
                                    encoded["source_ids"])
      token = tf.argmax(log_probs + adjust, axis=-1)
      token = tf.where(done, tf.constant(tp.PAD_ID, tf.int64), token)
      ids = ids.write(i, token)
      done = done | tf.equal(token, tp.END_ID)
    token_ids = tf.transpose(ids.stack())
    keep = (token_ids >= len(tp.RESERVED)) | tf.equal(token_ids, tp.UNK_ID)
    words = tf.ragged.boolean_mask(tf.gather(self._tokens, token_ids), keep)
    return tf.strings.reduce_join(words, axis=1, separator=" "), token_ids

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve_text(self, text):
    """Greedy decoding in the graph, for TF Serving clients (no Python loop needed)."""
    tokens, token_ids = self._greedy(text)
    return {"translation": tp.detokenize(tokens), "tokens": tokens, "token_ids": token_ids}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve_examples(self, examples):
    spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ("source", "target")}
    raw = tf.io.parse_example(examples, spec)
    translation, _ = self._greedy(raw["source"])
    return {"translation": translation, "source": raw["source"],
            "reference": tp.standardize(raw["target"])}

  @tf.function(input_signature=[])
  def vocabulary(self):
    return {"tokens": self._tokens, "max_length": tf.constant(self._max_length, tf.int64),
            "beam_width": tf.constant(self._beam_width, tf.int64),
            "length_alpha": tf.constant(self._length_alpha, tf.float32),
            "unk_penalty": tf.constant(self._unk_penalty, tf.float32)}


def signatures(module: TranslatorModule) -> dict:
  return {"serving_default": module.serve_text.get_concrete_function(),
          "encode": module.encode.get_concrete_function(),
          "decode_step": module.decode_step.get_concrete_function(),
          "vocabulary": module.vocabulary.get_concrete_function(),
          "from_examples": module.serve_examples.get_concrete_function()}
