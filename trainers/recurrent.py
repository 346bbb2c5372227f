"""LSTM and GRU layers with Keras' mathematics and weights, the input projection hoisted out of
the time loop.

Keras' cells multiply each step's input by the input kernel inside the loop: for the IMDB BiLSTM
(Embedding 256 -> 32 units) that is 8 of every 9 multiply-adds of a step, done 600 times as
small [32, 256] x [256, 128] products. Here the whole sequence is projected by one product
before the loop, which is left with the recurrent kernel (what cuDNN does on a GPU). With
`depth` > 0 the input is token ids standing for `depth`-wide one-hot vectors, whose projection
one_hot(id) @ kernel is the kernel's row `id`: gathered, never built.

Same weights (names and shapes) as keras.layers.LSTM / GRU (reset_after=True): a model's weights
load into either, and tests/test_sequence_inputs.py compares outputs and gradients. No dropout
inside the cells (the classifiers do not use it).
"""
from __future__ import annotations

import keras
from keras import ops


class _ProjectedLSTMCell(keras.layers.LSTMCell):
  """Its step input is x_t @ kernel + bias, computed by ProjectedRNN."""

  def call(self, projected, states, training=False):
    h_tm1, c_tm1 = states
    z = projected + ops.matmul(h_tm1, self.recurrent_kernel)
    c, o = self._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
    h = o * self.activation(c)
    return h, [h, c]


class _ProjectedGRUCell(keras.layers.GRUCell):
  """Its step input is x_t @ kernel + input bias, computed by ProjectedRNN (reset_after)."""

  def call(self, projected, states, training=False):
    h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
    inner = ops.matmul(h_tm1, self.recurrent_kernel)
    if self.use_bias:
      inner = inner + self.bias[1]
    x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
    r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
    z = self.recurrent_activation(x_z + r_z)
    r = self.recurrent_activation(x_r + r_r)
    hh = self.activation(x_h + r * r_h)
    h = z * h_tm1 + (1 - z) * hh
    return h, [h]


CELLS = {"lstm": _ProjectedLSTMCell, "gru": _ProjectedGRUCell}


@keras.saving.register_keras_serializable("textzoo")
class ProjectedRNN(keras.layers.RNN):
  """keras.layers.LSTM (`cell` lstm) or GRU (`cell` gru) of `units`, projecting all steps'
  inputs at once; `depth` > 0: the inputs are [batch, steps] ids of one-hot vectors."""

  def __init__(self, units: int, cell: str = "lstm", depth: int = 0, **kwargs):
    super().__init__(CELLS[cell](units), **kwargs)
    self.units, self.cell_name, self.depth = units, cell, depth

  def build(self, sequences_shape, initial_state_shape=None):
    self.cell.build((sequences_shape[0], self.depth or sequences_shape[-1]))
    super().build(sequences_shape, initial_state_shape)

  def call(self, sequences, initial_state=None, mask=None, training=False):
    if self.depth:
      projected = ops.take(self.cell.kernel, ops.cast(sequences, "int32"), axis=0)
    else:
      projected = ops.matmul(sequences, self.cell.kernel)
    if self.cell.use_bias:
      projected = projected + (self.cell.bias if self.cell_name == "lstm" else self.cell.bias[0])
    return super().call(projected, initial_state=initial_state, mask=mask, training=training)

  def get_config(self):
    config = super().get_config()
    config.pop("cell")
    return {**config, "units": self.units, "cell": self.cell_name, "depth": self.depth}

  @classmethod
  def from_config(cls, config, custom_objects=None):
    return cls(**config)
