"""Recurrent text classifiers (DLwP ch. 11, seeds 002/004): embedded ids -> [Bi]LSTM or GRU.

`cell` lstm | gru, `units` per direction, `bidirectional`, `layers` (all but the last return
sequences: the stacked BiLSTM); `units` as a list gives each stacked layer its own width (seed
004's BiLSTM 64 -> 32). The embedding and the head are trainers.sequence's. The layers
are trainers.recurrent's: Keras' LSTM and GRU with the input projection out of the time loop, and
for one-hot input (`embedding: onehot`, DLwP's first BiLSTM) the rows of the input kernel
gathered by id in place of a [batch, 20 002] one-hot vector per step.
"""
from __future__ import annotations

from typing import Literal, Union

import keras
from pydantic import Field, model_validator

from trainers import families, recurrent, sequence


class Params(sequence.Params):
  cell: Literal["lstm", "gru"] = "lstm"
  units: Union[int, list[int]] = Field(128, description="per direction; a list: one per "
                                       "stacked layer, first to last")
  bidirectional: bool = True
  layers: int = Field(1, ge=1, description="stacked recurrent layers (a list of units sets it)")

  @model_validator(mode="after")
  def _units_per_layer(self):
    widths = self.units if isinstance(self.units, list) else [self.units]
    if not widths or min(widths) < 1:
      raise ValueError(f"units must be >= 1 (a number, or a non-empty list); got {self.units}")
    if isinstance(self.units, list) and self.layers not in (1, len(widths)):
      raise ValueError(f"units {self.units} gives {len(widths)} layers, but layers is "
                       f"{self.layers}; leave layers out")
    return self

  def layer_units(self) -> list[int]:
    return list(self.units) if isinstance(self.units, list) else [self.units] * self.layers


def recurrent_layer(config, x, units: int, last: bool):
  depth = x.depth if isinstance(x, sequence.OneHotIds) else 0
  layer = recurrent.ProjectedRNN(units, config.cell, depth=depth, return_sequences=not last)
  layer = keras.layers.Bidirectional(layer) if config.bidirectional else layer
  return layer(x.ids if depth else x)


def body(x, config):
  widths = config.layer_units()
  for i, units in enumerate(widths):
    x = recurrent_layer(config, x, units, last=i == len(widths) - 1)
  return x


def run_fn(fn_args) -> keras.Model:
  return sequence.run(fn_args, body, Params, masks_padding=True)


FAMILY = families.Family("rnn_classifier", task="classification", params=Params,
                         module=__name__, describe=sequence.describe,
                         uses_glove=sequence.uses_glove, check_run=sequence.check_run)
