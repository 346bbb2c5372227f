"""1-D convolutional text classifier (seed 004): embedded ids -> Conv1D(units, kernel_size, relu)
-> global max pooling (DLwP) or global average pooling (seed 004's subword model). Padding
positions are convolved like words (Conv1D takes no mask), so the embedding's mask_zero is best
left off for this model."""
from __future__ import annotations

from typing import Literal

import keras
from pydantic import Field

from trainers import families, sequence


class Params(sequence.Params):
  embedding: Literal["learned", "glove"] = Field(
      "learned", description="learned, or glove (frozen rows from glove_source); onehot is "
      "rnn_classifier's")
  units: int = Field(128, ge=1, description="filters")
  kernel_size: int = Field(5, ge=1)
  pooling: Literal["max", "average"] = Field("max", description="global pooling over positions")


POOLING = {"max": keras.layers.GlobalMaxPooling1D, "average": keras.layers.GlobalAveragePooling1D}


def body(x, config):
  x = keras.layers.Conv1D(config.units, config.kernel_size, activation="relu")(x)
  return POOLING[config.pooling]()(x)


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body, Params, masks_padding=False)


FAMILY = families.Family("conv1d_classifier", task="classification", params=Params,
                         module=__name__, describe=sequence.describe,
                         uses_glove=sequence.uses_glove, check_run=sequence.check_run)
