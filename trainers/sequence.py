"""What the sequence classifiers share: the id-sequence input, the embedding choice, and run_fn.

A model module (rnn_classifier, conv1d_classifier, transformer_classifier) supplies only its body,
`body(embedded, config) -> [batch, features]`, and its Params (a subclass of this module's, with
the body's own keys); this module puts the embedding in front and the head behind
([Dense(head_units, relu), as seed 004] -> Dropout -> Dense(1, sigmoid)), compiles it (rmsprop as
DLwP, or adam as seed 004; binary cross-entropy), trains it under the configured strategy and
exports it with raw text in.

Batches cut short: when the padding is masked all through the model (a body that masks,
`masks_padding`, with mask_zero and a learned or GloVe embedding), examples of similar length are
batched together and each batch is cut to the widest length of its bucket
(common.LengthBuckets), which gives the same outputs as the padded batch in a fraction of the
steps. The model takes any length up to sequence_length; the served model is fed the Transform's
padded ids as before.

Embeddings (`embedding` in the model config):
  onehot   the ids standing for their one-hot vectors (OneHotIds), for rnn_classifier, whose
           first layer takes a one-hot vector's input projection as its kernel's row (DLwP's
           first BiLSTM; trainers.recurrent); nothing to mask: padding is a one-hot too
  learned  Embedding(vocab, embedding_dim), masking padding when mask_zero
  glove    Embedding initialised from the GloVe matrix artifact and frozen (embedding_dim is the
           matrix's), masking padding when mask_zero
"""
from __future__ import annotations

import logging
from typing import Callable, Literal, NamedTuple, Optional

import keras
import numpy as np
from pydantic import Field, model_validator

from components import contract
from trainers import common



class Params(common.ClassifierParams):
  """What every sequence classifier reads; a body's module adds its own."""
  sequence_feature: Literal["word_ids", "subword_ids"] = Field(
      "word_ids", description="word_ids (needs sequence_length) or subword_ids (needs "
      "subword_vocab_size)")
  embedding: Literal["onehot", "learned", "glove"] = Field(
      "learned", description="onehot, learned, or glove (frozen rows from glove_source)")
  embedding_dim: int = Field(16, ge=1, description="learned embedding width")
  mask_zero: bool = Field(True, description="mask the padding")
  dropout: float = Field(0.5, ge=0, lt=1, description="before the output layer")
  head_units: int = Field(0, ge=0, description="a Dense relu layer of this width before the "
                          "output (0: none)")
  optimizer: Literal["rmsprop", "adam"] = "rmsprop"

  @model_validator(mode="after")
  def _glove_has_word_rows(self):
    if self.embedding == "glove" and self.sequence_feature != "word_ids":
      raise ValueError("GloVe rows exist for words, not subwords; use sequence_feature word_ids")
    return self


def describe(params: Params) -> str:
  width = f" {params.embedding_dim}" if params.embedding == "learned" else ""
  masked = ", masked" if params.mask_zero and params.embedding != "onehot" else ""
  return f"{params.sequence_feature}, {params.embedding}{width}{masked}"


def uses_glove(params: Params) -> bool:
  return params.embedding == "glove"


def check_run(params: Params, run) -> Optional[str]:
  """The run must give the Transform feature the model reads."""
  if params.sequence_feature == "word_ids" and run.sequence_length <= 0:
    return "reads word_ids; set sequence_length (> 0)"
  if params.sequence_feature == "subword_ids" and (
      run.subword_vocab_size <= 0 or (run.subword_sequence_length or run.sequence_length) <= 0):
    return ("reads subword_ids; set subword_vocab_size and subword_sequence_length (or "
            "sequence_length)")
  return None


def vocabulary_size(feature: str, tft_output) -> int:
  """Ids the sequence feature can hold: word_ids are unigram ids with the reserved ids
  (components.contract); the subword vocabulary holds its reserved tokens itself."""
  if feature == "word_ids":
    return contract.id_vocabulary_size(tft_output, contract.UNIGRAM_VOCAB)
  return tft_output.vocabulary_size_by_name(contract.SUBWORD_VOCAB)


def glove_matrix(config: Params, rows: int) -> np.ndarray:
  if not config.embedding_uri:
    raise ValueError(f"model {config.model_name}: embedding 'glove' needs the GloVe matrix "
                     "artifact (the pipeline's GloveEmbedding output), and the Trainer got none")
  from components.glove_embedding import load_matrix  # pylint: disable=import-outside-toplevel
  matrix = load_matrix(config.embedding_uri)
  if matrix.shape[0] != rows:
    raise ValueError(f"model {config.model_name}: the GloVe matrix in {config.embedding_uri} has "
                     f"{matrix.shape[0]} rows, the {config.sequence_feature} vocabulary {rows}; "
                     "was it built from another Transform?")
  return matrix


class OneHotIds(NamedTuple):
  """Token ids standing for their `depth`-wide one-hot vectors, which are never built."""
  ids: keras.KerasTensor
  depth: int


def embed(ids, config: Params, vocab_size: int):
  if config.embedding == "onehot":
    return OneHotIds(ids, vocab_size)
  if config.embedding == "learned":
    return keras.layers.Embedding(vocab_size, config.embedding_dim,
                                  mask_zero=config.mask_zero)(ids)
  matrix = glove_matrix(config, vocab_size)
  return keras.layers.Embedding(
      vocab_size, matrix.shape[1], mask_zero=config.mask_zero, trainable=False,
      embeddings_initializer=keras.initializers.Constant(matrix), name="glove")(ids)


def build_model(body: Callable, config: Params, vocab_size: int, sequence_length: int,
                classes: Optional[list] = None) -> keras.Model:
  ids = keras.Input(shape=(sequence_length,), dtype="int64", name=config.sequence_feature)
  x = body(embed(ids, config, vocab_size), config)
  if config.head_units:
    x = keras.layers.Dense(config.head_units, activation="relu")(x)
  x = keras.layers.Dropout(config.dropout)(x)
  outputs = common.classifier_output(x, classes)
  model = keras.Model(ids, outputs)
  # Batches cut short (common.LengthBuckets) are narrower than the Input.
  model.input_spec = keras.InputSpec(shape=(None, None))
  optimizer = keras.optimizers.get({"class_name": config.optimizer,
                                    "config": {"learning_rate": config.learning_rate}})
  model.compile(optimizer=optimizer, loss=common.classifier_loss(classes), metrics=["accuracy"])
  return model


def trims_batches(config: Params, masks_padding: bool) -> bool:
  """Whether cutting the padding off a batch leaves the model's outputs as they are."""
  return masks_padding and config.mask_zero and config.embedding != "onehot"


def run(fn_args, body: Callable, params_class: type, masks_padding: bool) -> keras.Model:
  """The run_fn of a sequence classifier with the given body and its Params. masks_padding: the
  body keeps masked positions out of its output (then batches are cut, see trims_batches)."""
  config, strategy = common.setup(fn_args, params_class)
  tft_output = common.load_transform_output(fn_args)
  feature = config.sequence_feature
  spec = tft_output.transformed_feature_spec().get(feature)
  if spec is None:
    raise ValueError(f"model {config.model_name}: the Transform output has no {feature!r}; set "
                     "sequence_length (and subword_vocab_size for subword_ids) in the run config")
  vocab_size = vocabulary_size(feature, tft_output)
  if trims_batches(config, masks_padding):
    buckets = common.LengthBuckets(feature, spec.shape[0])
    logging.info("model %s: batches of similar length, cut to widths %s", config.model_name,
                 [b - 1 for b in buckets.bounds] + [spec.shape[0]])
    train, val = common.train_and_eval(fn_args, config, strategy, tft_output,
                                       lambda t: buckets.cut(t[feature]), buckets=buckets)
  else:
    train, val = common.train_and_eval(fn_args, config, strategy, tft_output,
                                       lambda t: t[feature])
  with strategy.scope():
    model = build_model(body, config, vocab_size, spec.shape[0], contract.class_names(tft_output))
  model.summary(print_fn=logging.info)
  common.fit(model, train, val, config, fn_args)
  common.export(strategy, model, tft_output, lambda t: t[feature], fn_args.serving_model_dir)
  return model
