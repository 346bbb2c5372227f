"""Training throughput (examples/s) of the BoW MLP and the masked BiLSTM:
the pipeline's way (transformed TFRecords via tfxio, featurised in tf.data, model built and fit
under MirroredStrategy on 1 or 2 logical CPU devices) vs the same Keras model with no strategy
on a plain in-memory tf.data input.

  python -m bench.train --cache DIR --model bow|bilstm --mode bare|mirrored --devices N
      [--input pipeline|memory] [--steps-per-execution K]
--input overrides the mode's usual input (bare: memory, mirrored: pipeline), which separates the
cost of the strategy from the cost of the input pipeline; `trainer` is the trainers' own input
(trainers.common.dataset: featurised once, cached in memory, shuffled each epoch). Run one configuration per process:
logical devices are fixed when TensorFlow starts.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import time

import tensorflow as tf

BATCH = 32  # per replica, as in the seeds


def build(model: str, bow_size: int, steps_per_execution: int = 1, dense: bool = False):
  import keras
  from trainers import bow_mlp
  if model == "bow":
    m = bow_mlp.build_model(bow_size, sparse=not dense)
    m.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
              steps_per_execution=steps_per_execution)
    return m
  inputs = keras.Input(shape=(600,), dtype="int64")
  x = keras.layers.Embedding(20002, 256, mask_zero=True)(inputs)
  x = keras.layers.Bidirectional(keras.layers.LSTM(32))(x)
  x = keras.layers.Dropout(0.5)(x)
  outputs = keras.layers.Dense(1, activation="sigmoid")(x)
  m = keras.Model(inputs, outputs)
  m.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
            steps_per_execution=steps_per_execution)
  return m


def _featurizer(model: str, size: int):
  """The trainers' own featurisation, so both inputs feed the model identical tensors."""
  from trainers import features
  return (features.bow_featurizer("unigram_multi_hot", size) if model == "bow"
          else lambda f: f["word_ids"])


def pipeline_dataset(cache: str, model: str, global_batch: int, size: int):
  import tensorflow_transform as tft
  from tfx_bsl.public import tfxio
  output = tft.TFTransformOutput(os.path.join(cache, "transform_fn"))
  source = tfxio.TFExampleRecord(glob.glob(os.path.join(cache, "transformed", "data*")),
                                 schema=output.transformed_metadata.schema)
  ds = source.TensorFlowDataset(tfxio.TensorFlowDatasetOptions(
      batch_size=global_batch, label_key="label", shuffle=False, drop_final_batch=True))
  featurize = _featurizer(model, size)
  return ds.map(lambda x, y: (featurize(x), tf.cast(tf.reshape(y, [-1]), tf.float32)),
                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).repeat()


def trainer_dataset(cache: str, model: str, global_batch: int, size: int):
  """The trainers' own input (trainers.common.dataset): tfxio, featurised, cached in memory
  after the first pass, shuffled each epoch."""
  import types
  import tensorflow_transform as tft
  from tfx_bsl.public import tfxio
  from trainers import common

  class _Accessor:  # what the TFX Trainer's fn_args.data_accessor does with these files
    @staticmethod
    def tf_dataset_factory(files, options, schema):
      return tfxio.TFExampleRecord(files, schema=schema).TensorFlowDataset(options)

  output = tft.TFTransformOutput(os.path.join(cache, "transform_fn"))
  files = sorted(glob.glob(os.path.join(cache, "transformed", "data*")))
  return common.dataset(types.SimpleNamespace(data_accessor=_Accessor()), files, output,
                        global_batch, _featurizer(model, size), shuffle=True, seed=0,
                        drop_remainder=True, cache=True).repeat()


def in_memory_dataset(cache: str, model: str, size: int, global_batch: int, n: int,
                      dense: bool = False):
  """The seeds' way: arrays in memory, tf.data.Dataset.from_tensor_slices (dense: the BoW
  vectors as the seed's dense multi-hot arrays, else as the trainers' sparse ones)."""
  spec = {"label": tf.io.FixedLenFeature([], tf.int64)}
  spec.update({"unigram_ids": tf.io.VarLenFeature(tf.int64)} if model == "bow" else
              {"word_ids": tf.io.FixedLenFeature([600], tf.int64)})
  files = glob.glob(os.path.join(cache, "transformed", "data*"))
  parsed = next(iter(tf.data.TFRecordDataset(files, compression_type="GZIP").batch(n)
                     .map(lambda r: tf.io.parse_example(r, spec))))
  x = _featurizer(model, size)(parsed)
  if dense and isinstance(x, tf.SparseTensor):
    x = tf.sparse.to_dense(x)
  y = tf.cast(parsed["label"], tf.float32)
  return (tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch, drop_remainder=True)
          .repeat())


class EpochTimer:
  def __init__(self):
    import keras

    class _T(keras.callbacks.Callback):
      def on_epoch_begin(s, epoch, logs=None):  # noqa: N805
        s.start = time.perf_counter()

      def on_epoch_end(s, epoch, logs=None):  # noqa: N805
        self.seconds.append(time.perf_counter() - s.start)
    self.seconds, self.callback = [], _T()


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--cache", required=True)
  parser.add_argument("--model", choices=["bow", "bilstm"], required=True)
  parser.add_argument("--mode", choices=["bare", "mirrored"], required=True)
  parser.add_argument("--devices", type=int, default=1)
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--input", choices=["pipeline", "memory", "trainer"])
  parser.add_argument("--steps-per-execution", type=int, default=1)
  parser.add_argument("--dense", action="store_true",
                      help="BoW: dense multi-hot arrays and a dense-input model (the seed's way)")
  args = parser.parse_args()
  data = args.input or ("memory" if args.mode == "bare" else "pipeline")
  from trainers import strategy as strategy_lib
  strategy_lib.configure_devices("mirrored", args.devices)
  import keras
  import tensorflow_transform as tft
  keras.utils.set_random_seed(0)
  from components import contract
  size = contract.bow_input_size(tft.TFTransformOutput(os.path.join(args.cache, "transform_fn")),
                                 contract.UNIGRAM_VOCAB)
  timer = EpochTimer()
  strategy = (strategy_lib.make_strategy("mirrored", args.devices) if args.mode == "mirrored"
              else tf.distribute.get_strategy())  # the default strategy: plain model.fit
  global_batch = BATCH * strategy.num_replicas_in_sync
  if args.dense and data != "memory":
    parser.error("--dense needs the in-memory input")
  if data == "memory":
    ds = in_memory_dataset(args.cache, args.model, size, global_batch, n=global_batch * args.steps,
                           dense=args.dense)
  elif data == "trainer":
    ds = trainer_dataset(args.cache, args.model, global_batch, size)
  else:
    ds = pipeline_dataset(args.cache, args.model, global_batch, size)
  with strategy.scope():
    model = build(args.model, size, args.steps_per_execution, args.dense)
  # Epoch 1 warms up (tracing, pipeline start); epoch 2 is measured.
  model.fit(ds, epochs=2, steps_per_epoch=args.steps, callbacks=[timer.callback], verbose=0)
  seconds = timer.seconds[-1]
  print("RESULT " + json.dumps({"examples_per_s": args.steps * global_batch / seconds,
                                "steps": args.steps, "global_batch": global_batch,
                                "seconds": seconds}))


if __name__ == "__main__":
  main()
