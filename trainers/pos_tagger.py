"""The BiGRU part-of-speech tagger (seed 003) over components.tagger_preprocessing's ids.

  word_ids [L] -> Embedding(embedding_dim, mask_zero)      \
  char_ids [L, C] -> Embedding(char_embedding_dim) -> Conv2D(char_filters, (1, 3), relu): a
                     Conv1D over each word's characters -> max over the characters (when
                     char_filters > 0)                                   -> concatenated
  glove_ids [L] -> frozen GloVe vectors (embedding learned+glove)                            /
    -> SpatialDropout1D(dropout) -> Bidirectional(GRU(units, return_sequences))
    -> Dense(tags, softmax) at each step

Seed 003's model is the first branch alone (embedding_dim 128, units 256). A word the train split
saw fewer than twice has the OOV id (components.tagger_preprocessing), 14 % of the test words:
the seed's model tags those 57 % right, as against 97 % for the others. Their characters and,
for nine in ten of them, a GloVe vector are what is left to go on.

Padding (word id 0) is masked from the word embedding on (with several parts, the word ids' mask
is given to the GRU): the backward GRU starts at the last word, not in the padding, and the mask
reaches the output, where Keras drops padded steps from the loss (the mean is over real tokens).
The metric, `token_accuracy`, counts real tokens from the labels (tag id > 0) over the whole
epoch: the seed's "masked accuracy" took its mask from the predictions.

Batches are cut to their longest sentence (common.LengthBuckets: sentences of similar length are
batched together, and each batch is as wide as its bucket's longest), when padding is masked and
on one replica: the model takes sentences of any length L, and gives a real word the same tags
and loss as in the padded batch. A batch's loss is then weighted by its real words over the
words a batch holds on average (token_weights), so that a word of a short sentence counts as
much as one of a long sentence, as in batches of mixed lengths (Keras's masked loss is a mean
over the batch's real words). On more replicas, each bucket's partial batch would be dropped
(Keras cannot split it unevenly): the longest sentences, in buckets smaller than a global
batch, would never be trained on, so batches stay padded. The Transform still pads to L; the
served model takes it so.

Serving signatures (the Transform graph inside):
  serving_default  text [batch] raw sentences, whitespace-split -> tags [batch, L] strings ("" past
                   the sentence or past L words), tag_ids [batch, L], words [batch, L]
  from_examples    examples [batch] raw treebank tf.Examples -> correct, tokens [batch]: a
                   sentence's correctly tagged words and its words (words past L count as wrong),
                   for TFMA's token accuracy (components.tagger_metrics)
"""
from __future__ import annotations

from typing import Literal, Optional

import keras
import numpy as np
import tensorflow as tf
from pydantic import Field

from components import tagger_preprocessing
from components.glove_embedding import load_matrix, load_words
from trainers import common, families, serving

WORDS_KEY, TAGS_KEY = "words", "tags"
FEATURE, CHARS, KEYS, LABEL = "word_ids", "char_ids", "word_keys", "tag_ids"
GLOVE_IDS = "glove_ids"  # word_keys through glove_lookup: the model's input, not the Transform's
CHAR_KERNEL = 3


class Params(common.TrainerParams):
  embedding: Literal["learned", "learned+glove"] = Field(
      "learned", description="learned+glove: the frozen GloVe vector of each lowercased word "
      "beside the learned one")
  embedding_dim: int = Field(16, ge=1)
  units: int = Field(128, ge=1, description="GRU units per direction")
  dropout: float = Field(0.5, ge=0, lt=1, description="SpatialDropout1D before the GRU")
  mask_zero: bool = True
  char_filters: int = Field(0, ge=0, description="a Conv1D of this many filters over each "
                            "word's characters (0: none)")
  char_embedding_dim: int = Field(32, ge=1)


def describe(params: Params) -> str:
  feature = f"word_ids, learned {params.embedding_dim}"
  if params.char_filters:
    feature += f" + char CNN {params.char_filters}"
  return feature + (" + GloVe" if uses_glove(params) else "")


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


def uses_glove(config: Params) -> bool:
  return config.embedding == "learned+glove"


def features(config: Params) -> tuple[str, ...]:
  """The Transform outputs the model reads."""
  return (FEATURE,) + ((CHARS,) if config.char_filters else ()) + (
      (KEYS,) if uses_glove(config) else ())


def _char_features(chars, char_vocab_size: int, config: Params):
  """[batch, L, C] char ids -> [batch, L, char_filters]: a Conv1D over each word's characters
  (a (1, 3) Conv2D over [words, characters], which takes any L), max-pooled (a word's best
  suffix, capital or digit detectors)."""
  x = keras.layers.Embedding(char_vocab_size, config.char_embedding_dim)(chars)
  x = keras.layers.Conv2D(config.char_filters, (1, CHAR_KERNEL), padding="same",
                          activation="relu", name="char_cnn")(x)
  return keras.ops.max(x, axis=2)


def glove_lookup(words: list[str]) -> keras.layers.StringLookup:
  """Lowercased words -> GloVe row ids: "" 0, a word GloVe lacks 1, words[i] i + 2. The table is
  GloVe's words, not the train split's: a test word the train split never had has its row.

  Applied in the input pipeline and the serving module, not in the model: Keras 3.15's fit under
  a tf.distribute strategy averages the first batch's inputs across replicas to learn their
  shapes, which fails on a string input."""
  return keras.layers.StringLookup(vocabulary=words, mask_token="", num_oov_indices=1,
                                   name="glove_lookup")


def model_inputs(transformed: dict, names: tuple[str, ...],
                 lookup: Optional[keras.layers.StringLookup]):
  """The Transform's features `names` -> the model's inputs: the word ids alone for the seed's
  model, else a dict, word_keys replaced by glove_ids and char_ids [batch, L * C] shaped
  [batch, L, C]."""
  if names == (FEATURE,):
    return transformed[FEATURE]
  inputs = {k: transformed[k] for k in names}
  if CHARS in inputs:
    words = transformed[FEATURE]
    inputs[CHARS] = tf.reshape(inputs[CHARS], [tf.shape(words)[0], tf.shape(words)[1], -1])
  if lookup is not None:
    inputs[GLOVE_IDS] = lookup(inputs.pop(KEYS))
  return inputs


def _glove_features(ids, matrix: np.ndarray):
  """[batch, L] GloVe row ids -> [batch, L, dim] frozen vectors (zeros for padding and for a
  word GloVe lacks)."""
  return keras.layers.Embedding(matrix.shape[0], matrix.shape[1], trainable=False,
                                embeddings_initializer=keras.initializers.Constant(matrix),
                                name="glove")(ids)


def build_model(config: Params, vocab_size: int, num_tags: int, char_vocab_size: int = 0,
                glove_matrix: Optional[np.ndarray] = None,
                word_chars: int = tagger_preprocessing.DEFAULT_WORD_CHARS) -> keras.Model:
  """A model over sentences of any length. glove_matrix: row i + 2 the vector of GloVe word i,
  rows 0 and 1 zeros (components.glove_embedding without a Transform graph); needed for
  embedding learned+glove."""
  inputs = {FEATURE: keras.Input(shape=(None,), dtype="int64", name=FEATURE)}
  parts = [keras.layers.Embedding(vocab_size, config.embedding_dim,
                                  mask_zero=config.mask_zero)(inputs[FEATURE])]
  if config.char_filters:
    inputs[CHARS] = keras.Input(shape=(None, word_chars), dtype="int64", name=CHARS)
    parts.append(_char_features(inputs[CHARS], char_vocab_size, config))
  if uses_glove(config):
    if glove_matrix is None:
      raise ValueError(f"model {config.model_name}: embedding learned+glove needs the GloVe "
                       "words and matrix (the pipeline's GloveEmbedding output)")
    inputs[GLOVE_IDS] = keras.Input(shape=(None,), dtype="int64", name=GLOVE_IDS)
    parts.append(_glove_features(inputs[GLOVE_IDS], glove_matrix))
  x = parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)
  x = keras.layers.SpatialDropout1D(config.dropout)(x)
  # One part: its Embedding's mask flows on. Several: Concatenate would OR the word mask with
  # the unmasked parts' (every step real), so the word mask is handed to the GRU itself.
  mask = (keras.ops.not_equal(inputs[FEATURE], 0) if len(parts) > 1 and config.mask_zero
          else None)
  x = keras.layers.Bidirectional(keras.layers.GRU(config.units, return_sequences=True))(
      x, mask=mask)
  # Dense applies per step; Keras 3.15's TimeDistributed, retraced for a new L in predict(),
  # returns the width of a shorter batch (2 steps for 6 after 12).
  outputs = keras.layers.Dense(num_tags, activation="softmax", name="tags")(x)
  # A single input stays a tensor, not a one-key dict: the seed's model is called on the ids.
  model = keras.Model(inputs[FEATURE] if len(inputs) == 1 else inputs, outputs)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[TokenAccuracy()])
  return model


def mean_sentence_length(files: list, spec: dict) -> float:
  """Real words (word id > 0) per sentence over TFRecord files."""
  words = sentences = 0
  records = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1024)
  for batch in records:
    ids = tf.io.parse_example(batch, {FEATURE: spec[FEATURE]})[FEATURE]
    words += int(tf.math.count_nonzero(ids))
    sentences += int(ids.shape[0])
  return words / max(sentences, 1)


def token_weights(word_ids: tf.Tensor, mean_length: float) -> tf.Tensor:
  """[batch, L] sample weights of a batch of sentences of similar length: its real words over
  the words `batch` sentences of the split hold on average, the same at every step (Keras merges
  them with the mask step by step)."""
  rows = tf.cast(tf.shape(word_ids)[0], tf.float32)
  real = tf.cast(tf.math.count_nonzero(word_ids), tf.float32)
  return tf.fill(tf.shape(word_ids), real / (rows * mean_length))


def dataset(patterns, spec: dict, batch_size: int, shuffle: bool, seed: int,
            drop_remainder: bool, lookup: Optional[keras.layers.StringLookup] = None,
            trim: bool = False) -> tf.data.Dataset:
  """Transformed TFRecords -> (model_inputs, tag_ids) batches of a known count. trim: sentences
  of similar length batched together, each batch cut to its bucket's width (common.LengthBuckets;
  drop_remainder then drops each bucket's last partial batch), with token_weights:
  (model_inputs, tag_ids, weights) batches."""
  files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
  ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
  if shuffle:
    ds = ds.shuffle(20000, seed=seed, reshuffle_each_iteration=True)
  names = tuple(k for k in spec if k != LABEL)
  buckets = common.LengthBuckets(FEATURE, spec[FEATURE].shape[0])
  mean_length = mean_sentence_length(files, spec) if trim else 0.0

  def split(records):
    examples = tf.io.parse_example(records, spec)
    if not trim:
      return model_inputs(examples, names, lookup), examples[LABEL]
    width = buckets.width(examples[FEATURE])
    examples = {k: v[:, :width * (v.shape[1] // spec[FEATURE].shape[0])]
                for k, v in examples.items()}  # char_ids: width words of C characters
    return (model_inputs(examples, names, lookup), examples[LABEL],
            token_weights(examples[FEATURE], mean_length))

  if trim:
    ds = ds.map(lambda r: (tf.io.parse_single_example(r, {FEATURE: spec[FEATURE]}), r),
                num_parallel_calls=tf.data.AUTOTUNE)
    ds = buckets.batch(ds, batch_size, drop_remainder)
    ds = common.with_counted_batches(ds.map(lambda _, r: r), files, batch_size)
  else:
    ds = common.with_known_batches(ds.batch(batch_size, drop_remainder=drop_remainder), files,
                                   batch_size, drop_remainder)
  ds = ds.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  return common.shard_by_batch(ds)


class TaggerModule(serving.ServingModule):
  """serving.ServingModule (model variables + Transform layer) with the tagger's signatures."""

  def __init__(self, model: keras.Model, tf_transform_output, feature_names: tuple[str, ...],
               lookup: Optional[keras.layers.StringLookup] = None):
    super().__init__(model, tf_transform_output,
                     featurize=lambda t: model_inputs(t, feature_names, lookup),
                     output_name=TAGS_KEY)
    self._tags = tf.constant(tagger_preprocessing.tag_names(tf_transform_output))
    self.glove_lookup = lookup  # tracked: its table goes into the SavedModel

  def _tag(self, raw: dict) -> dict:
    """Raw features -> predicted tag ids [batch, L] (0 past the sentence), and the transform."""
    transformed = self.tft_layer(raw)
    word_ids = transformed[FEATURE]
    probabilities = self.model(self._featurize(transformed), training=False)
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
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  spec = tft_output.transformed_feature_spec()
  names = features(config)
  missing = set(names + (LABEL,)) - set(spec)
  if missing:
    raise ValueError(f"model {config.model_name}: the Transform output has no {sorted(missing)}; "
                     "the tagger needs components.tagger_preprocessing.preprocessing_fn")
  spec = {k: spec[k] for k in names + (LABEL,)}
  lookup = matrix = None
  if uses_glove(config):
    if not config.embedding_uri:
      raise ValueError(f"model {config.model_name}: embedding learned+glove needs the GloVe "
                       "matrix artifact (the pipeline's GloveEmbedding output), and the Trainer "
                       "got none")
    words, matrix = load_words(config.embedding_uri), load_matrix(config.embedding_uri)
    lookup = glove_lookup(words)
    common.logging.info("GloVe: %d words, %d-d, from %s", len(words), matrix.shape[1],
                        config.embedding_uri)
  batch = config.batch_size * strategy.num_replicas_in_sync
  multi = strategy.num_replicas_in_sync > 1
  trim = config.mask_zero and not multi  # see the module docstring
  common.logging.info("batches %s", "cut to their longest sentence" if trim else
                      f"padded to {spec[FEATURE].shape[0]} words")
  train = dataset(fn_args.train_files, spec, batch, shuffle=True, seed=config.seed,
                  drop_remainder=not trim, lookup=lookup, trim=trim)
  val = dataset(fn_args.eval_files, spec, batch, shuffle=False, seed=config.seed,
                drop_remainder=multi, lookup=lookup, trim=trim)
  num_tags = len(tagger_preprocessing.tag_names(tft_output))
  with strategy.scope():
    model = build_model(config, tagger_preprocessing.word_vocabulary_size(tft_output), num_tags,
                        tagger_preprocessing.char_vocabulary_size(tft_output), matrix,
                        spec[CHARS].shape[0] // spec[FEATURE].shape[0] if CHARS in spec else 1)
  model.summary(print_fn=lambda line: common.logging.info(line))
  common.fit(model, train, val, config, fn_args, monitor="val_token_accuracy", mode="max")
  common.export_module(strategy, TaggerModule(model, tft_output, names, lookup),
                       fn_args.serving_model_dir, signatures)
  return model


FAMILY = families.Family("pos_tagger", task="tagging", params=Params, module=__name__,
                         describe=describe, uses_glove=uses_glove)
