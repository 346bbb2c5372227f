"""Would one time loop for both directions of a BiLSTM train faster than Keras' two? A measured
"no", kept so the next person need not build it again.

keras.layers.Bidirectional runs two RNN loops, forward and backward. FusedBidirectional below
runs one: its state is [h_fwd | h_bwd], its recurrent kernel is block-diagonal, each gate's
columns are interleaved [gate_fwd | gate_bwd], and the masks of both directions ride along with
the projected inputs (masked steps keep their state and output zeros, as Bidirectional's layers
do). Same weights as Bidirectional(trainers.recurrent.ProjectedRNN), same outputs.

  python -m bench.fused_directions --check            -> max |difference| of outputs, gradients
  python -m bench.fused_directions --rounds 3         -> examples/s, both ways alternating

Speed: the IMDB BiLSTM's shape (ids [32, 600], Embedding 256, LSTM 32 per direction, Dropout,
Dense sigmoid; rmsprop), random ids, `fit` of 20 batches after 3 warm-up batches, each
measurement in its own process.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATES = {"lstm": 4, "gru": 3}


def fused_layer():
  """The FusedBidirectional class (Keras imported only where a measurement runs)."""
  # pylint: disable=import-outside-toplevel
  import keras
  from keras import ops
  from trainers import recurrent

  def interleave(a, b, gates, units):
    """[..., gates * units] twice -> [..., gates * 2 * units], each gate [a_g | b_g]."""
    lead = ops.shape(a)[:-1]
    a = ops.reshape(a, (*lead, gates, 1, units))
    b = ops.reshape(b, (*lead, gates, 1, units))
    return ops.reshape(ops.concatenate([a, b], axis=-2), (*lead, gates * 2 * units))

  class FusedBidirectional(keras.layers.Layer):
    def __init__(self, units, cell="lstm", return_sequences=False, **kwargs):
      super().__init__(**kwargs)
      self.units, self.cell_name, self.return_sequences = units, cell, return_sequences
      self.supports_masking = True
      self.forward_layer, self.backward_layer = (
          recurrent.ProjectedRNN(units, cell, return_sequences=return_sequences, name=name,
                                 go_backwards=name == "backward")
          for name in ("forward", "backward"))

    def build(self, shape):
      self.forward_layer.build(shape)
      self.backward_layer.build(shape)

    def compute_mask(self, inputs, mask=None):
      return mask if self.return_sequences else None

    def _project(self, cell, x):
      bias = cell.bias if self.cell_name == "lstm" else cell.bias[0]
      return ops.matmul(x, cell.kernel) + bias

    def call(self, x, mask=None):
      g, u, lstm = GATES[self.cell_name], self.units, self.cell_name == "lstm"
      fwd, bwd = self.forward_layer.cell, self.backward_layer.cell
      projected = interleave(self._project(fwd, x), ops.flip(self._project(bwd, x), axis=1), g, u)
      m = ops.ones(ops.shape(x)[:2]) if mask is None else ops.cast(mask, "float32")
      m = ops.concatenate([ops.repeat(m[..., None], u, -1),
                           ops.repeat(ops.flip(m, axis=1)[..., None], u, -1)], -1)
      zeros = ops.zeros((u, g * u))
      kernel = ops.concatenate([interleave(fwd.recurrent_kernel, zeros, g, u),
                                interleave(zeros, bwd.recurrent_kernel, g, u)], axis=0)
      rbias = None if lstm else interleave(fwd.bias[1], bwd.bias[1], g, u)

      def step(inputs, states):
        z, keep = inputs[:, :g * 2 * u], inputs[:, g * 2 * u:]
        h_tm1 = states[0]
        if lstm:
          i, f, c_in, o = ops.split(z + ops.matmul(h_tm1, kernel), 4, axis=1)
          c = ops.sigmoid(f) * states[1] + ops.sigmoid(i) * ops.tanh(c_in)
          h = ops.sigmoid(o) * ops.tanh(c)
          new = [keep * h + (1 - keep) * h_tm1, keep * c + (1 - keep) * states[1]]
        else:
          x_z, x_r, x_h = ops.split(z, 3, axis=-1)
          r_z, r_r, r_h = ops.split(ops.matmul(h_tm1, kernel) + rbias, 3, axis=-1)
          update, reset = ops.sigmoid(x_z + r_z), ops.sigmoid(x_r + r_r)
          h = update * h_tm1 + (1 - update) * ops.tanh(x_h + reset * r_h)
          new = [keep * h + (1 - keep) * h_tm1]
        return keep * new[0], new

      initial = [ops.zeros((ops.shape(x)[0], 2 * u))] * (2 if lstm else 1)
      # Keras 3 has no public rnn loop (keras.ops has none); a bench may use the private one.
      _, outputs, states = keras.src.backend.rnn(
          step, ops.concatenate([projected, m], -1), initial,
          return_all_outputs=self.return_sequences)
      if not self.return_sequences:
        return states[0]
      return ops.concatenate([outputs[..., :u], ops.flip(outputs[..., u:], axis=1)], -1)

  return FusedBidirectional


def check() -> dict:
  """Max |fused - Bidirectional| of outputs and weight gradients, lstm and gru, masked or not,
  last output or sequences, on padded random ids."""
  # pylint: disable=import-outside-toplevel
  import keras
  import numpy as np
  import tensorflow as tf
  from trainers import recurrent
  fused, rng, worst = fused_layer(), np.random.default_rng(0), {}
  for cell in GATES:
    for masked in (False, True):
      for sequences in (False, True):
        ids = np.zeros((5, 12), "int32")
        for row, n in zip(ids, rng.integers(1, 13, 5)):
          row[:n] = rng.integers(1, 50, n)
        embedding = keras.layers.Embedding(50, 16, mask_zero=masked)
        ref = keras.layers.Bidirectional(recurrent.ProjectedRNN(8, cell, return_sequences=sequences))
        new = fused(8, cell, return_sequences=sequences)
        x = embedding(ids)
        ref(x)
        new(x)
        new.forward_layer.set_weights(ref.forward_layer.get_weights())
        new.backward_layer.set_weights(ref.backward_layer.get_weights())
        with tf.GradientTape(persistent=True) as tape:
          x = embedding(ids)
          a, b = ref(x), new(x)
          weights = tf.constant(rng.normal(size=a.shape), tf.float32)
          loss_a, loss_b = tf.reduce_sum(a * weights), tf.reduce_sum(b * weights)
        grads = zip(tape.gradient(loss_a, ref.trainable_weights),
                    tape.gradient(loss_b, new.forward_layer.trainable_weights
                                  + new.backward_layer.trainable_weights))
        worst[f"{cell} masked={masked} sequences={sequences}"] = {
            "output": float(np.abs(a - b).max()),
            "gradient": max(float(np.abs(g - h).max()) for g, h in grads)}
  return worst


def speed(way: str, batches: int = 20, batch: int = 32, length: int = 600) -> float:
  """Training examples/s of the IMDB BiLSTM shape, `way` keras or fused."""
  # pylint: disable=import-outside-toplevel
  import keras
  import numpy as np
  from trainers import recurrent
  keras.utils.set_random_seed(0)
  ids = keras.Input((length,), dtype="int32")
  x = keras.layers.Embedding(20002, 256)(ids)
  layer = (keras.layers.Bidirectional(recurrent.ProjectedRNN(32)) if way == "keras"
           else fused_layer()(32))
  y = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dropout(0.5)(layer(x)))
  model = keras.Model(ids, y)
  model.compile("rmsprop", "binary_crossentropy")
  rng = np.random.default_rng(0)
  data = rng.integers(1, 20000, (batch * (batches + 3), length)).astype("int32")
  labels = rng.integers(0, 2, (len(data), 1)).astype("float32")
  model.fit(data[:3 * batch], labels[:3 * batch], batch_size=batch, verbose=0)
  start = time.perf_counter()
  model.fit(data[3 * batch:], labels[3 * batch:], batch_size=batch, verbose=0)
  return batch * batches / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--check", action="store_true")
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--one", choices=("keras", "fused"), help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.check:
    print(json.dumps(check(), indent=1))
  elif args.one:
    print(f"RESULT {speed(args.one):.1f}")
  else:
    results = {"keras": [], "fused": []}
    for _ in range(args.rounds):
      for way in results:
        out = subprocess.run([sys.executable, "-m", "bench.fused_directions", "--one", way],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        results[way].append(float(out.rsplit("RESULT ", 1)[1]))
        print(way, results[way][-1], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
  main()
