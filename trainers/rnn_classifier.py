"""Recurrent text classifiers (DLwP ch. 11, seeds 002/004): embedded ids -> [Bi]LSTM or GRU.

`cell` lstm | gru, `units` per direction, `bidirectional`, `layers` (all but the last return
sequences: the stacked BiLSTM). The embedding and the head are trainers.sequence's.
"""
from __future__ import annotations

import keras

from trainers import sequence

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def body(x, config):
  for i in range(config.layers):
    layer = CELLS[config.cell](config.units, return_sequences=i < config.layers - 1)
    x = keras.layers.Bidirectional(layer)(x) if config.bidirectional else layer(x)
  return x


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body)
