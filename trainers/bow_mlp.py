"""Bag-of-words MLP (DLwP ch. 11): multi-hot or tf-idf vector -> Dense 16 relu -> Dropout -> sigmoid."""
from __future__ import annotations

from typing import Literal

import keras
from pydantic import Field

from trainers import common, families, features


class Params(common.TrainerParams):
  feature: Literal["unigram_multi_hot", "bigram_multi_hot", "bigram_tfidf"] = Field(
      "unigram_multi_hot", description="the Transform's bag-of-words vector the model reads")
  hidden_units: int = Field(16, ge=1)
  dropout: float = Field(0.5, ge=0, lt=1)


def build_model(input_size: int, hidden_units: int = 16, dropout: float = 0.5,
                learning_rate: float = 0.001) -> keras.Model:
  inputs = keras.Input(shape=(input_size,), name="bag_of_words")
  x = keras.layers.Dense(hidden_units, activation="relu")(inputs)
  x = keras.layers.Dropout(dropout)(x)
  outputs = keras.layers.Dense(1, activation="sigmoid")(x)
  model = keras.Model(inputs, outputs)
  model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                metrics=["accuracy"])
  return model


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; the multi-worker test reads it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  size = features.bow_input_size(config.feature, tft_output)
  featurize = features.bow_featurizer(config.feature, size)
  train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize)
  with strategy.scope():
    model = build_model(size, config.hidden_units, config.dropout, config.learning_rate)
  common.fit(model, train, val, config.epochs, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model


FAMILY = families.Family("bow_mlp", task="classification", params=Params, module=__name__,
                         describe=lambda p: p.feature)
