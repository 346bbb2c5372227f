"""Recurrent text classifiers (DLwP ch. 11, seeds 002/004): embedded ids -> [Bi]LSTM or GRU.

`cell` lstm | gru, `units` per direction, `bidirectional`, `layers` (all but the last return
sequences: the stacked BiLSTM). The embedding and the head are trainers.sequence's. The layers
are trainers.recurrent's: Keras' LSTM and GRU with the input projection out of the time loop, and
for one-hot input (`embedding: onehot`, DLwP's first BiLSTM) the rows of the input kernel
gathered by id in place of a [batch, 20 002] one-hot vector per step.
"""
from __future__ import annotations

from typing import Literal

import keras
from pydantic import Field

from trainers import families, recurrent, sequence


class Params(sequence.Params):
  cell: Literal["lstm", "gru"] = "lstm"
  units: int = Field(128, ge=1, description="per direction")
  bidirectional: bool = True
  layers: int = Field(1, ge=1, description="stacked recurrent layers")


def recurrent_layer(config, x, last: bool):
  depth = x.depth if isinstance(x, sequence.OneHotIds) else 0
  layer = recurrent.ProjectedRNN(config.units, config.cell, depth=depth,
                                 return_sequences=not last)
  layer = keras.layers.Bidirectional(layer) if config.bidirectional else layer
  return layer(x.ids if depth else x)


def body(x, config):
  for i in range(config.layers):
    x = recurrent_layer(config, x, last=i == config.layers - 1)
  return x


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body, Params, masks_padding=True)


FAMILY = families.Family("rnn_classifier", task="classification", params=Params,
                         module=__name__, describe=sequence.describe,
                         uses_glove=sequence.uses_glove, check_run=sequence.check_run)
