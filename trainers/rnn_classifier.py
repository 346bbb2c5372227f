"""Recurrent text classifiers (DLwP ch. 11, seeds 002/004): embedded ids -> [Bi]LSTM or GRU.

`cell` lstm | gru, `units` per direction, `bidirectional`, `layers` (all but the last return
sequences: the stacked BiLSTM). The embedding and the head are trainers.sequence's.
"""
from __future__ import annotations

from typing import Literal

import keras
from pydantic import Field

from trainers import families, sequence

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


class Params(sequence.Params):
  cell: Literal["lstm", "gru"] = "lstm"
  units: int = Field(128, ge=1, description="per direction")
  bidirectional: bool = True
  layers: int = Field(1, ge=1, description="stacked recurrent layers")


def body(x, config):
  for i in range(config.layers):
    layer = CELLS[config.cell](config.units, return_sequences=i < config.layers - 1)
    x = keras.layers.Bidirectional(layer)(x) if config.bidirectional else layer(x)
  return x


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body, Params)


FAMILY = families.Family("rnn_classifier", task="classification", params=Params,
                         module=__name__, describe=sequence.describe,
                         uses_glove=sequence.uses_glove, check_run=sequence.check_run)
