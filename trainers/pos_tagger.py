"""The BiGRU part-of-speech tagger (seed 003) over components.tagger_preprocessing's ids.

  word_ids [L] -> Embedding(embedding_dim, mask_zero) -> SpatialDropout1D(dropout)
    -> Bidirectional(GRU(units, return_sequences)) -> TimeDistributed(Dense(tags, softmax))

Seed 003's sizes: embedding_dim 128, units 256. Padding (word id 0) is masked from the embedding
on: the backward GRU starts at the last word, not in the padding, and the mask reaches the output,
where Keras drops padded steps from the loss (the mean is over real tokens). The metric,
`token_accuracy`, counts real tokens from the labels (tag id > 0) over the whole epoch: the seed's
"masked accuracy" took its mask from the predictions.

Serving signatures (the Transform graph inside):
  serving_default  text [batch] raw sentences, whitespace-split -> tags [batch, L] strings ("" past
                   the sentence or past L words), tag_ids [batch, L], words [batch, L]
  from_examples    examples [batch] raw treebank tf.Examples -> correct, tokens [batch]: a
                   sentence's correctly tagged words and its words (words past L count as wrong),
                   for TFMA's token accuracy (components.tagger_metrics)
"""
from __future__ import annotations

import keras
import tensorflow as tf

from components import tagger_preprocessing
from trainers import common, serving

WORDS_KEY, TAGS_KEY = "words", "tags"
FEATURE, LABEL = "word_ids", "tag_ids"


class TokenAccuracy(keras.metrics.Metric):
  """Correct tags / real tokens, where a real token has a label id > 0 (0 is padding)."""

  def __init__(self, name: str = "token_accuracy", **kwargs):
    super().__init__(name=name, **kwargs)
    self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
    self.tokens = self.add_variable(shape=(), initializer="zeros", name="tokens")

  def update_state(self, y_true, y_pred, sample_weight=None):
    y_true = keras.ops.cast(y_true, "int32")
    real = keras.ops.cast(y_true > 0, self.dtype)
    hit = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1) == y_true, self.dtype)
    self.correct.assign_add(keras.ops.sum(hit * real))
    self.tokens.assign_add(keras.ops.sum(real))

  def result(self):
    return keras.ops.divide_no_nan(self.correct, self.tokens)

  def reset_state(self):
    self.correct.assign(0.0)
    self.tokens.assign(0.0)


def build_model(config: common.TrainerConfig, vocab_size: int, num_tags: int,
                sequence_length: int) -> keras.Model:
  ids = keras.Input(shape=(sequence_length,), dtype="int64", name=FEATURE)
  x = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=config.mask_zero)(ids)
  x = keras.layers.SpatialDropout1D(config.dropout)(x)
  x = keras.layers.Bidirectional(keras.layers.GRU(config.units, return_sequences=True))(x)
  outputs = keras.layers.TimeDistributed(keras.layers.Dense(num_tags, activation="softmax"),
                                         name="tags")(x)
  model = keras.Model(ids, outputs)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[TokenAccuracy()])
  return model


def dataset(patterns, spec: dict, batch_size: int, shuffle: bool, seed: int,
            drop_remainder: bool) -> tf.data.Dataset:
  """Transformed TFRecords -> (word_ids, tag_ids) batches of a known count."""
  files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
  ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
  if shuffle:
    ds = ds.shuffle(20000, seed=seed, reshuffle_each_iteration=True)
  ds = common.with_known_batches(ds.batch(batch_size, drop_remainder=drop_remainder), files,
                                 batch_size, drop_remainder)
  ds = ds.map(lambda r: (lambda e: (e[FEATURE], e[LABEL]))(tf.io.parse_example(r, spec)),
              num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  return common.shard_by_batch(ds)


class TaggerModule(serving.ServingModule):
  """serving.ServingModule (model variables + Transform layer) with the tagger's signatures."""

  def __init__(self, model: keras.Model, tf_transform_output):
    super().__init__(model, tf_transform_output, featurize=lambda t: t[FEATURE],
                     output_name=TAGS_KEY)
    self._tags = tf.constant(tagger_preprocessing.tag_names(tf_transform_output))

  def _tag(self, raw: dict) -> dict:
    """Raw features -> predicted tag ids [batch, L] (0 past the sentence), and the transform."""
    transformed = self.tft_layer(raw)
    word_ids = transformed[FEATURE]
    probabilities = self.model(word_ids, training=False)
    # never predict padding (id 0) for a real word
    tag_ids = tf.argmax(probabilities[:, :, 1:], axis=-1) + 1
    return tf.where(word_ids > 0, tag_ids, tf.zeros_like(tag_ids)), transformed

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve_text(self, text):
    words = tf.strings.split(text)
    raw = serving.with_dummies({WORDS_KEY: words.to_sparse()}, self._raw_spec, tf.shape(text)[0])
    tag_ids, _ = self._tag(raw)
    length = tag_ids.shape[1]  # static: the Transform pads to L
    padded_words = words[:, :length].to_tensor(default_value="", shape=[None, length])
    return {TAGS_KEY: tf.gather(self._tags, tag_ids), "tag_ids": tag_ids, WORDS_KEY: padded_words}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve_examples(self, examples):
    raw = tf.io.parse_example(examples, {k: self._raw_spec[k] for k in (WORDS_KEY, TAGS_KEY)})
    raw = serving.with_dummies(raw, self._raw_spec, tf.shape(examples)[0])
    tag_ids, transformed = self._tag(raw)
    labels = transformed[LABEL]
    correct = tf.reduce_sum(tf.cast((tag_ids == labels) & (labels > 0), tf.float32), axis=1)
    words = raw[WORDS_KEY]
    tokens = tf.math.bincount(tf.cast(words.indices[:, 0], tf.int32),
                              minlength=tf.shape(examples)[0], dtype=tf.float32)
    return {"correct": correct, "tokens": tokens}


def signatures(module: TaggerModule) -> dict:
  return {"serving_default": module.serve_text.get_concrete_function(),
          "from_examples": module.serve_examples.get_concrete_function()}


def run_fn(fn_args) -> keras.Model:
  config, strategy = common.setup(fn_args)
  tft_output = common.load_transform_output(fn_args)
  spec = tft_output.transformed_feature_spec()
  missing = {FEATURE, LABEL} - set(spec)
  if missing:
    raise ValueError(f"model {config.model_name}: the Transform output has no {sorted(missing)}; "
                     "the tagger needs components.tagger_preprocessing.preprocessing_fn")
  spec = {k: spec[k] for k in (FEATURE, LABEL)}
  batch = config.batch_size * strategy.num_replicas_in_sync
  multi = strategy.num_replicas_in_sync > 1
  train = dataset(fn_args.train_files, spec, batch, shuffle=True, seed=config.seed,
                  drop_remainder=True)
  val = dataset(fn_args.eval_files, spec, batch, shuffle=False, seed=config.seed,
                drop_remainder=multi)
  num_tags = len(tagger_preprocessing.tag_names(tft_output))
  with strategy.scope():
    model = build_model(config, tagger_preprocessing.word_vocabulary_size(tft_output), num_tags,
                        spec[FEATURE].shape[0])
  model.summary(print_fn=lambda line: common.logging.info(line))
  common.fit(model, train, val, config.epochs, fn_args, monitor="val_token_accuracy")
  common.export_module(strategy, TaggerModule(model, tft_output), fn_args.serving_model_dir,
                       signatures)
  return model
