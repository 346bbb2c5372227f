"""Encoder-decoder translators (seeds 002 and 003), trained with teacher forcing.

Variants (custom_config):
  cell lstm                                  (a) LSTM encoder -> LSTM decoder from its final state
  cell lstm, bidirectional                   (b) BiLSTM encoder; the decoder (2 x units) starts from
                                                 the forward and backward states concatenated
  cell lstm, bidirectional, attention        (c) (b) + Luong dot-product attention: each decoder
                                                 output queries the encoder outputs
                                                 (keras.layers.Attention, source padding masked);
                                                 the context is concatenated to it before the softmax
  cell gru                                   (d) the same with GRUs (seed 003's en->fr model)
  attention bahdanau                         (e) additive scores, v . tanh(W q + U k), in place of
                                                 the dot product (keras.layers.AdditiveAttention);
                                                 the query is the decoder output, as in (c)
  layers N                                   (f) N stacked RNN layers in the encoder and the
                                                 decoder, decoder layer i from encoder layer i
  clipnorm c                                 gradients clipped to norm c (seed 002)
Sizes: units, embedding_dim; vocabularies come from the Transform
(components.translation_preprocessing). The model takes any sequence length: training batches
hold sentences of similar length (tf.data bucketing), cut to their longest one, so a batch of
7-word sentences costs 8 decoder steps, not the Transform's 22 (Tatoeba's median is 7 words).

sampled_softmax k > 0: training never builds the full softmax over the target vocabulary; its
loss is TF's sampled_softmax_loss against k words drawn log-uniformly (the vocabulary is sorted
by frequency). The output layer dominates a step (the attention model's 1 024-wide features x
8 004 words), so this makes a step several times cheaper. Evaluation (val_loss, token accuracy)
and decoding use the full softmax; the training loss is the sampled estimate, and the training
token accuracy is not computed.

The source embedding masks padding (the encoder's final state is that of the last real word).
The decoder's does not need to: its padding only follows the sentence, so no real position sees
it; the loss and the token accuracy instead weigh target padding 0 (means over real tokens).
After training, run_fn exports the model with `encode` and `decode_step` signatures
(trainers.translator_serving) and scores greedy and beam decoding on the test split with
sacrebleu, written to <model_run_dir>/bleu.json.
"""
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import time
from typing import Literal, Union

import keras
import tensorflow as tf
from pydantic import Field
from tfx_bsl.public import tfxio

from components import bleu, translation_preprocessing as tp
from trainers import common, families, seq2seq_decoding, translator_serving

LABEL_KEY = "decoder_target_ids"
INPUT_KEYS = ("source_ids", "decoder_input_ids")
BLEU_FILE = "bleu.json"


class Params(common.TrainerParams):
  cell: Literal["lstm", "gru"] = "lstm"
  bidirectional: bool = False
  attention: Union[bool, Literal["luong", "bahdanau"]] = Field(
      False, description="attention over the encoder outputs, queried by each decoder output: "
      "luong (or true): dot-product scores (keras.layers.Attention); bahdanau: additive scores "
      "(keras.layers.AdditiveAttention)")
  layers: int = Field(1, ge=1, description="stacked RNN layers in the encoder and in the "
                      "decoder; decoder layer i starts from encoder layer i's final state")
  clipnorm: float = Field(0.0, ge=0, description="clip each gradient to this norm (the "
                          "optimizer's clipnorm); 0: no clipping")
  units: int = Field(256, ge=1, description="encoder units per direction; the decoder has "
                     "units x directions")
  embedding_dim: int = Field(128, ge=1)
  beam_width: int = Field(3, ge=2, description="bleu.json scores greedy and beam decoding of "
                          "this width; the served model's default decoding")
  length_alpha: float = Field(1.0, ge=0, description="beam score: log-probability / length ** "
                              "alpha")
  unk_penalty: float = Field(0.0, ge=0, description="subtracted from the unknown word's "
                             "log-probability at each step")
  max_decode_length: int = Field(0, ge=0, description="0: the Transform's target_length")
  bleu_examples: int = Field(1000, ge=0, description="unique test sources the Trainer decodes "
                             "for bleu.json (0: all)")
  sampled_softmax: int = Field(0, ge=0, description="training loss over this many sampled "
                               "target words (0: the full softmax)")


class MaskedSparseCrossentropy(keras.losses.SparseCategoricalCrossentropy):
  """Mean cross-entropy over the real target tokens: padding (id 0) weighs 0."""

  def __init__(self, name="masked_crossentropy"):
    super().__init__(reduction="mean_with_sample_weight", name=name)

  def __call__(self, y_true, y_pred, sample_weight=None):
    mask = keras.ops.cast(keras.ops.not_equal(y_true, tp.PAD_ID), "float32")
    return super().__call__(y_true, y_pred, sample_weight=mask)


class MaskedAccuracy(keras.metrics.Mean):
  """Token accuracy over the real target tokens (the labels' padding excluded)."""

  def __init__(self, name="token_accuracy", **kwargs):
    super().__init__(name=name, **kwargs)

  def update_state(self, y_true, y_pred, sample_weight=None):
    y_true = keras.ops.cast(y_true, "int64")
    correct = keras.ops.cast(keras.ops.equal(keras.ops.argmax(y_pred, axis=-1), y_true), "float32")
    mask = keras.ops.cast(keras.ops.not_equal(y_true, tp.PAD_ID), "float32")
    return super().update_state(correct, sample_weight=mask)


def _rnn(cell: str, units: int, name=None):
  if cell not in ("lstm", "gru"):
    raise ValueError(f"unknown cell {cell!r}; valid: lstm, gru")
  layer = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
  return layer(units, return_sequences=True, return_state=True, name=name)


def _stack(layers: dict, name: str) -> list:
  """The stacked RNN layers `name`, `name`_2, ... in order."""
  return [layers[name]] + [layers[f"{name}_{i}"] for i in range(2, len(layers) + 1)
                           if f"{name}_{i}" in layers]


def _encode(layers: dict, source_ids):
  """Encoder layers over source ids -> (the last layer's outputs [b, Ls, D], the decoder's
  initial states: each layer's, in order). A bidirectional layer's forward and backward states
  are concatenated."""
  sequence, states = layers["source_embedding"](source_ids), []
  for layer in _stack(layers, "encoder"):
    sequence, *layer_states = layer(sequence)
    if isinstance(layer, keras.layers.Bidirectional):
      half = len(layer_states) // 2  # forward (h[, c]) then backward (h[, c])
      layer_states = [keras.ops.concatenate([f, b], axis=-1)
                      for f, b in zip(layer_states[:half], layer_states[half:])]
    states += layer_states
  return sequence, states


def _decode(layers: dict, target_ids, states, encoder_outputs, source_ids):
  """Decoder layers over target ids from the given states -> (features, new states); the
  features (the last decoder layer's output, with the attention context if any) feed
  next_word."""
  decoders = _stack(layers, "decoder")
  per_layer = len(states) // len(decoders)
  sequence, new_states = layers["target_embedding"](target_ids), []
  for i, layer in enumerate(decoders):
    sequence, *layer_states = layer(sequence,
                                    initial_state=states[i * per_layer:(i + 1) * per_layer])
    new_states += layer_states
  states = new_states
  if "attention" in layers:
    source_mask = keras.ops.not_equal(source_ids, tp.PAD_ID)
    context = layers["attention"]([sequence, encoder_outputs], mask=[None, source_mask])
    sequence = keras.ops.concatenate([sequence, context], axis=-1)
  return sequence, states




class Seq2Seq(keras.Model):
  """body: (source_ids, decoder_input_ids) -> decoder features [b, Lt, D]; next_word: the
  softmax over the target vocabulary. Called in training with sampled > 0, it returns the
  features, and the loss is a sampled softmax over next_word's weights."""

  def __init__(self, body: keras.Model, next_word: keras.layers.Dense, sampled: int = 0,
               seed: int = 0, **kwargs):
    super().__init__(**kwargs)
    self.body, self.next_word, self.sampled, self.seed = body, next_word, sampled, seed
    # Set while tracing a call: whether it returned features (train_step's compute_metrics
    # then has no probabilities to score).
    self._returned_features = False

  def call(self, inputs, training=False):
    features = self.body(inputs, training=training)
    self._returned_features = bool(training and self.sampled)
    return features if self._returned_features else self.next_word(features)

  def get_layer(self, name=None, index=None):
    return self.next_word if name == self.next_word.name else self.body.get_layer(name, index)

  def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    if not self._returned_features:
      return super().compute_loss(x, y, y_pred, sample_weight, training)
    real = tf.not_equal(y, tp.PAD_ID)
    vocab = self.next_word.units
    losses = tf.nn.sampled_softmax_loss(
        tf.transpose(self.next_word.kernel), self.next_word.bias,
        tf.cast(tf.boolean_mask(y, real), tf.int64)[:, None], tf.boolean_mask(y_pred, real),
        num_sampled=min(self.sampled, vocab - 1), num_classes=vocab, seed=self.seed)
    loss = tf.math.divide_no_nan(tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32))
    # As Keras scales its losses: each replica's share of the summed gradient.
    return loss / tf.distribute.get_strategy().num_replicas_in_sync

  def compute_metrics(self, x, y, y_pred, sample_weight=None):
    if not self._returned_features:
      return super().compute_metrics(x, y, y_pred, sample_weight)
    if not self._compile_metrics.built:  # Keras builds them from probabilities, never seen here
      probabilities = keras.KerasTensor((*y_pred.shape[:-1], self.next_word.units))
      self._compile_metrics.build(y, probabilities)
    return {"loss": self._loss_tracker.result()}


def build_model(config: Params, source_vocab: int, target_vocab: int,
                learning_rate: float = 0.001, seed: int = 0) -> Seq2Seq:
  """(source_ids [b, Ls], decoder_input_ids [b, Lt]) -> next-word probabilities [b, Lt, V],
  any lengths Ls, Lt."""
  layers = {
      "source_embedding": keras.layers.Embedding(source_vocab, config.embedding_dim,
                                                 mask_zero=True, name="source_embedding"),
      "target_embedding": keras.layers.Embedding(target_vocab, config.embedding_dim,
                                                 name="target_embedding")}
  for i in range(1, config.layers + 1):
    suffix = "" if i == 1 else f"_{i}"
    layers[f"encoder{suffix}"] = (
        keras.layers.Bidirectional(_rnn(config.cell, config.units), name=f"encoder{suffix}")
        if config.bidirectional else _rnn(config.cell, config.units, name=f"encoder{suffix}"))
    layers[f"decoder{suffix}"] = _rnn(config.cell,
                                      config.units * (2 if config.bidirectional else 1),
                                      name=f"decoder{suffix}")
  if config.attention:
    layers["attention"] = (keras.layers.AdditiveAttention(name="attention")
                           if config.attention == "bahdanau"
                           else keras.layers.Attention(name="attention"))
  source_ids = keras.Input((None,), dtype="int64", name="source_ids")
  target_ids = keras.Input((None,), dtype="int64", name="decoder_input_ids")
  encoder_outputs, states = _encode(layers, source_ids)
  features, _ = _decode(layers, target_ids, states, encoder_outputs, source_ids)
  next_word = keras.layers.Dense(target_vocab, activation="softmax", name="next_word")
  next_word.build(features.shape)
  model = Seq2Seq(keras.Model([source_ids, target_ids], features, name="body"), next_word,
                  config.sampled_softmax, seed)
  model([source_ids, target_ids])
  model.compile(optimizer=keras.optimizers.Nadam(learning_rate, clipnorm=config.clipnorm or None),
                loss=MaskedSparseCrossentropy(),
                metrics=[MaskedAccuracy()])
  return model


def inference_models(model: keras.Model) -> tuple[keras.Model, keras.Model]:
  """The trained layers (shared, not copied) as
    encoder: source_ids [b, Ls] -> [encoder_outputs [b, Ls, D], *states [b, units]]
    step:    [token [b, 1], *states, encoder_outputs, source_ids] -> [probabilities [b, V],
             *states]  (one decoder step)."""
  layers = {l.name: l for l in model.body.layers} | {model.next_word.name: model.next_word}
  source_ids = keras.Input((None,), dtype="int64", name="source_ids")
  encoder_outputs, states = _encode(layers, source_ids)
  encoder = keras.Model(source_ids, [encoder_outputs, *states])
  token = keras.Input((1,), dtype="int64", name="token_id")
  state_inputs = [keras.Input((s.shape[-1],), name=f"state_{i}") for i, s in enumerate(states)]
  outputs_input = keras.Input(encoder_outputs.shape[1:], name="encoder_outputs")
  source_input = keras.Input((None,), dtype="int64", name="step_source_ids")
  features, new_states = _decode(layers, token, state_inputs, outputs_input, source_input)
  probabilities = layers["next_word"](features)
  step = keras.Model([token, *state_inputs, outputs_input, source_input],
                     [keras.ops.squeeze(probabilities, 1), *new_states])
  return encoder, step


# Upper bounds (exclusive) of the target lengths (words + end) batched together.
LENGTH_BUCKETS = (6, 8, 10, 12, 15, 18)


def dataset(fn_args, patterns, tft_output, batch_size: int, shuffle: bool, seed: int,
            drop_remainder: bool) -> tf.data.Dataset:
  """Transformed TFRecords -> ((source_ids, decoder_input_ids), decoder_target_ids) batches of
  pairs of similar target length (LENGTH_BUCKETS), cut to the batch's longest source and target.
  drop_remainder drops each bucket's last partial batch."""
  options = tfxio.TensorFlowDatasetOptions(
      batch_size=1024, label_key=LABEL_KEY, num_epochs=1, shuffle=shuffle,
      shuffle_seed=seed, shuffle_buffer_size=20000)
  ds = fn_args.data_accessor.tf_dataset_factory(
      patterns, options, tft_output.transformed_metadata.schema)
  ds = ds.map(lambda x, y: (tuple(x[k] for k in INPUT_KEYS), y)).unbatch()
  ds = ds.bucket_by_sequence_length(
      lambda x, y: tf.math.count_nonzero(y, dtype=tf.int32), list(LENGTH_BUCKETS),
      [batch_size] * (len(LENGTH_BUCKETS) + 1), drop_remainder=drop_remainder)
  ds = ds.map(trim_padding, num_parallel_calls=tf.data.AUTOTUNE)
  # Keras needs the number of batches (see common.with_known_batches); the bucket sizes fix it
  # whatever the order.
  batches = int(ds.reduce(0, lambda count, _: count + 1))
  if batches == 0:
    raise ValueError(f"{_files(patterns)}: fewer pairs than one batch of {batch_size} in every "
                     "length bucket; lower the batch size")
  ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
  return common.shard_by_batch(ds.prefetch(tf.data.AUTOTUNE))


def trim_padding(inputs, target):
  """Cuts the columns that are padding in every row of a batch."""
  source, decoder_input = inputs
  source_length = tf.maximum(tf.reduce_max(tf.math.count_nonzero(source, axis=1)), 1)
  target_length = tf.reduce_max(tf.math.count_nonzero(target, axis=1))
  return ((source[:, :source_length], decoder_input[:, :target_length]),
          target[:, :target_length])


def _files(patterns) -> list[str]:
  return sorted(f for p in patterns for f in glob.glob(p))


def read_pairs(patterns) -> list[tuple[str, str]]:
  """The raw (source, target) strings the Transform passes through, in file order."""
  spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ("source", "target")}
  pairs = []
  for batch in tf.data.TFRecordDataset(_files(patterns), compression_type="GZIP").batch(1024):
    parsed = tf.io.parse_example(batch, spec)
    pairs += [(s.decode("utf-8"), t.decode("utf-8"))
              for s, t in zip(parsed["source"].numpy(), parsed["target"].numpy())]
  return pairs


def references_by_source(pairs, limit: int = 0) -> tuple[list[str], list[list[str]]]:
  """Unique sources (in a fixed order: by their sha256, so a limit takes an unbiased sample)
  and, for each, every target it has, as written."""
  targets: dict[str, list[str]] = {}
  for source, target in pairs:
    targets.setdefault(source, []).append(target)
  sources = sorted(targets, key=lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest())
  sources = sources[:limit] if limit else sources
  return sources, [targets[s] for s in sources]


def standardized(references: list[list[str]]) -> list[list[str]]:
  """Each source's references standardised as the model emits words (lowercase, punctuation
  split)."""
  flat = [t for group in references for t in group]
  if not flat:
    return [[] for _ in references]
  words = iter(t.decode("utf-8") for t in tp.standardize(tf.constant(flat)).numpy())
  return [[next(words) for _ in group] for group in references]


def evaluate_bleu(translator: seq2seq_decoding.Translator, pairs, beam_width: int = 3,
                  alpha: float = 1.0, unk_penalty: float = 0.0, limit: int = 0) -> dict:
  """Corpus BLEU (sacrebleu) of greedy and beam decoding over held-out pairs: one segment per
  unique source, every target of that source a reference. `bleu` is on the model's own
  tokenization (lowercase, punctuation split), as the Evaluator's; `standard_bleu` is the
  detokenized output against the raw references with sacrebleu's defaults (13a, cased), and
  `standard_bleu_lowercase` the same ignoring case."""
  sources, raw_references = references_by_source(pairs, limit)
  references = standardized(raw_references)
  result = {"sources": len(sources), "references": sum(len(r) for r in references),
            "samples": []}
  decoded = {}
  for name, beam in (("greedy", 1), (f"beam{beam_width}", beam_width)):
    start = time.monotonic()
    decoded[name] = translator.translate(sources, beam=beam, alpha=alpha,
                                         unk_penalty=unk_penalty)
    seconds = round(time.monotonic() - start, 1)
    score = bleu.corpus_bleu(decoded[name], references)
    detokenized = [t.decode("utf-8") for t in tp.detokenize(tf.constant(decoded[name])).numpy()]
    standard, signature = bleu.standard_bleu(detokenized, raw_references)
    lowercase, _ = bleu.standard_bleu(detokenized, raw_references, lowercase=True)
    result[name] = {"bleu": round(score.score, 2), "beam": beam, "seconds": seconds,
                    "details": str(score), "standard_bleu": round(standard.score, 2),
                    "standard_bleu_lowercase": round(lowercase.score, 2),
                    "standard_signature": signature}
    logging.info("BLEU %s over %d sources: %s", name, len(sources), score)
  result["samples"] = [{"source": s, **{n: d[i] for n, d in decoded.items()},
                        "references": references[i]} for i, s in enumerate(sources[:10])]
  return result


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; tests read it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  spec = tft_output.transformed_feature_spec()
  target_length = spec[LABEL_KEY].shape[0]
  batch = config.batch_size * strategy.num_replicas_in_sync
  multi = strategy.num_replicas_in_sync > 1
  train = dataset(fn_args, fn_args.train_files, tft_output, batch, shuffle=True,
                  seed=config.seed, drop_remainder=True)
  val = dataset(fn_args, fn_args.eval_files, tft_output, batch, shuffle=False,
                seed=config.seed, drop_remainder=multi)
  with strategy.scope():
    model = build_model(config, tp.vocabulary_size(tft_output, "source"),
                        tp.vocabulary_size(tft_output, "target"), config.learning_rate,
                        config.seed)
  model.summary(print_fn=lambda line: logging.info(line))
  summary = common.fit(model, train, val, config, fn_args, monitor="val_loss",
                       mode="min")
  module = translator_serving.TranslatorModule(
      *inference_models(model), tft_output, tp.vocabulary(tft_output, "target"),
      config.max_decode_length or target_length, config.unk_penalty, config.beam_width,
      config.length_alpha)
  common.export_module(strategy, module, fn_args.serving_model_dir, translator_serving.signatures)
  if common.is_chief(strategy):
    test_files = [p.replace("Split-eval", "Split-test") for p in fn_args.eval_files]
    translator = seq2seq_decoding.Translator(module.encode, module.decode_step,
                                             tp.vocabulary(tft_output, "target"),
                                             config.max_decode_length or target_length)
    result = evaluate_bleu(translator, read_pairs(test_files), config.beam_width,
                           config.length_alpha, config.unk_penalty, config.bleu_examples)
    result["train_seconds"] = summary["train_seconds"]
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    with open(os.path.join(fn_args.model_run_dir, BLEU_FILE), "w") as f:
      json.dump(result, f, indent=1, ensure_ascii=False)
  return model


def _attention_name(p: Params) -> str:
  if not p.attention:
    return ""
  return " + Bahdanau attention" if p.attention == "bahdanau" else " + attention"


FAMILY = families.Family(
    "translator", task="translation", params=Params, module=__name__,
    describe=lambda p: (f"{'bi' if p.bidirectional else ''}{p.cell} encoder"
                        f"{'' if p.layers == 1 else f' x {p.layers}'}"
                        f"{_attention_name(p)}, {p.units} units"))
