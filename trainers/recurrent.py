"""LSTM and GRU layers with Keras' mathematics and weights, the input projection hoisted out of
the time loop.

Keras' cells multiply each step's input by the input kernel inside the loop: for the IMDB BiLSTM
(Embedding 256 -> 32 units) that is 8 of every 9 multiply-adds of a step, done 600 times as
small [32, 256] x [256, 128] products. Here the whole sequence is projected by one product
before the loop, which is left with the recurrent kernel (what cuDNN does on a GPU). With
`depth` > 0 the input is token ids standing for `depth`-wide one-hot vectors, whose projection
one_hot(id) @ kernel is the kernel's row `id`: gathered, never built.

The LSTM's time loop is TF's fused kernel `BlockLSTM` (one op runs every step in C++, where
Keras' loop is a tf.while_loop of a dozen small ops a step): the IMDB LSTM classifiers train
at 1.4-1.6x the examples/s (docs/benchmarks.md). The GRU has no such kernel and keeps Keras' loop.

Same weights (names and shapes) as keras.layers.LSTM / GRU (reset_after=True): a model's weights
load into either, and tests/test_sequence_inputs.py compares outputs and gradients. No dropout
inside the cells (the classifiers do not use it).
"""
from __future__ import annotations

import keras
import tensorflow as tf
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


def fused_lstm_loop(projected, initial_state, mask, recurrent_kernel, go_backwards: bool,
                    zero_output_for_mask: bool):
  """What keras.backend.rnn returns for _ProjectedLSTMCell (last output, outputs, [h, c]), from
  one BlockLSTM op. A mask must be right padding (each row's first steps): a masked row then
  runs its real steps only, read at its own last step; go_backwards reverses each row's real
  steps, so its padding comes first, as in Keras, and outputs zeros."""
  h0, c0 = initial_state
  units = recurrent_kernel.shape[0]
  steps = tf.shape(projected)[1]
  lengths = None
  if mask is not None:
    mask = tf.cast(mask, tf.bool)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    tf.debugging.assert_equal(mask, tf.sequence_mask(lengths, steps), message=(
        "ProjectedRNN: a mask must cover each sequence's first steps (padding at the end)"))
  x = projected
  if go_backwards:
    x = (tf.reverse(x, [1]) if lengths is None
         else tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0))
  # x is already x_t @ kernel + bias: an identity block passes it through the op's own product.
  # BlockLSTM (V1) orders the gates i, c, f, o, Keras i, f, c, o: the identity and the recurrent
  # kernel's columns are permuted. (BlockLSTMV2 has Keras' order, but TF registers V1's gradient
  # for it, which reads its gates in the wrong order.)
  icfo = [*range(units), *range(2 * units, 3 * units), *range(units, 2 * units),
          *range(3 * units, 4 * units)]
  weights = tf.gather(tf.concat([tf.eye(4 * units, dtype=x.dtype), recurrent_kernel], axis=0),
                      icfo, axis=1)
  no_peephole = tf.zeros([units], x.dtype)
  _, cells, _, _, _, _, hidden = tf.raw_ops.BlockLSTM(
      seq_len_max=tf.cast(steps, tf.int64), x=tf.transpose(x, [1, 0, 2]), cs_prev=c0, h_prev=h0,
      w=weights, wci=no_peephole, wcf=no_peephole, wco=no_peephole,
      b=tf.zeros([4 * units], x.dtype), forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
  hidden, cells = tf.transpose(hidden, [1, 0, 2]), tf.transpose(cells, [1, 0, 2])
  if lengths is None:
    return hidden[:, -1], hidden, [hidden[:, -1], cells[:, -1]]
  has_steps = (lengths > 0)[:, None]
  last = tf.maximum(lengths - 1, 0)
  h_last = tf.gather(hidden, last, batch_dims=1)
  states = [tf.where(has_steps, h_last, h0),
            tf.where(has_steps, tf.gather(cells, last, batch_dims=1), c0)]
  real = tf.sequence_mask(lengths, steps)[:, :, None]
  if go_backwards:  # in Keras' order: the padding's zeros, then the real steps, last to first
    outputs = tf.reverse(tf.reverse_sequence(tf.where(real, hidden, 0.0), lengths, seq_axis=1,
                                             batch_axis=0), [1])
  else:  # a padded step outputs zeros or repeats the last real step's output
    fill = 0.0 if zero_output_for_mask else tf.where(has_steps, h_last, 0.0)[:, None]
    outputs = tf.where(real, hidden, fill)
  return outputs[:, -1], outputs, states


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

  def inner_loop(self, sequences, initial_state, mask, training=False):
    if self.cell_name != "lstm" or self.unroll:
      return super().inner_loop(sequences, initial_state, mask, training=training)
    return fused_lstm_loop(sequences, initial_state, mask, self.cell.recurrent_kernel,
                           self.go_backwards, self.zero_output_for_mask)

  def get_config(self):
    config = super().get_config()
    config.pop("cell")
    return {**config, "units": self.units, "cell": self.cell_name, "depth": self.depth}

  @classmethod
  def from_config(cls, config, custom_objects=None):
    return cls(**config)
