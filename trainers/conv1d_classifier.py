"""1-D convolutional text classifier (seed 004): embedded ids -> Conv1D(units, kernel_size, relu)
-> global max pooling. Padding positions are convolved like words (Conv1D takes no mask), so the
embedding's mask_zero is best left off for this model."""
from __future__ import annotations

import keras

from trainers import sequence


def body(x, config):
  x = keras.layers.Conv1D(config.units, config.kernel_size, activation="relu")(x)
  return keras.layers.GlobalMaxPooling1D()(x)


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body)
