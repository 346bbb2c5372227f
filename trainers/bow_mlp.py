"""Bag-of-words MLP (DLwP ch. 11): multi-hot or tf-idf vector -> Dense 16 relu -> Dropout -> sigmoid."""
from __future__ import annotations

import keras

from trainers import common, features


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
  config, strategy = common.setup(fn_args)
  tft_output = common.load_transform_output(fn_args)
  size = features.bow_input_size(config.feature, tft_output)
  featurize = features.bow_featurizer(config.feature, size)
  train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize)
  with strategy.scope():
    model = build_model(size, config.hidden_units, config.dropout, config.learning_rate)
  common.fit(model, train, val, config.epochs, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model
