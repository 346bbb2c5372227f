"""Plumbing every trainer shares: its config, tf.data input, fitting, curves, export."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Callable, ClassVar, Optional

import keras
import pydantic
import tensorflow as tf
import tensorflow_transform as tft
from pydantic import Field
from tfx_bsl.public import tfxio

from components import contract
from trainers import serving, strategy as strategy_lib

LABEL_KEY = "label"


class TrainerParams(pydantic.BaseModel):
  """The parameters of a model family, as a model entry of a run config gives them (the keys
  every family shares are here; a family's module subclasses this with its own). PIPELINE_KEYS
  are set by the pipeline in the Trainer's custom_config, never by a model entry."""

  model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
  PIPELINE_KEYS: ClassVar[tuple[str, ...]] = ("model_name", "seed", "strategy", "cpu_devices",
                                              "embedding_uri", "encoder_uri")

  model_name: str = ""
  seed: int = 42
  strategy: str = "mirrored"
  cpu_devices: int = 1
  embedding_uri: str = ""  # set by the EmbeddingTrainer: the GloVe matrix artifact
  encoder_uri: str = ""  # set by the EmbeddingTrainer: the SentenceEncoder's artifact

  epochs: int = Field(10, ge=1)
  batch_size: int = Field(32, ge=1, description="per replica; the global batch is batch_size x "
                          "replicas")
  learning_rate: float = Field(0.001, ge=0)
  patience: int = Field(0, ge=0, description="stop after this many epochs without a better eval "
                        "metric (keras EarlyStopping); 0: train every epoch. The best epoch's "
                        "weights are kept either way")
  reduce_lr_patience: int = Field(0, ge=0, description="multiply the learning rate by "
                                  "reduce_lr_factor after this many epochs without a better eval "
                                  "metric (keras ReduceLROnPlateau); 0: never")
  reduce_lr_factor: float = Field(0.5, gt=0, lt=1)

  @classmethod
  def user_keys(cls) -> list[str]:
    return [k for k in cls.model_fields if k not in cls.PIPELINE_KEYS]

  @classmethod
  def from_fn_args(cls, fn_args) -> "TrainerParams":
    """The Trainer's custom_config (without the pipeline's bookkeeping keys) as these params."""
    config = {k: v for k, v in (fn_args.custom_config or {}).items() if k not in BOOKKEEPING}
    try:
      return cls.model_validate(config)
    except pydantic.ValidationError as e:
      raise ValueError(f"custom_config of model {config.get('model_name')!r} does not fit "
                       f"{cls.__module__}.{cls.__name__}: {e}") from e


class ClassifierParams(TrainerParams):
  """What the classifier families (bag of words, sequence, hub) share: their input pipeline."""
  cache_input: bool = Field(True, description="keep the featurised train and eval splits in "
                            "memory after the first epoch (false for splits larger than memory)")


# Keys of a Trainer's custom_config that are for TFX's cache and the report, not the model.
BOOKKEEPING = ("family", "code_fingerprint")


def with_known_batches(ds: tf.data.Dataset, files: list, batch_size: int, drop_remainder: bool,
                       compression: str = "GZIP") -> tf.data.Dataset:
  """Gives a batched dataset of TFRecords its number of batches.

  Keras 3.15's evaluate() (and fit's validation) over a dataset of unknown cardinality counts one
  step too many in its loss and metric means: a 17-batch test split was reported as 1.547
  nats/char where the true mean is 1.638 (= 1.547 * 18 / 17). A known cardinality avoids it."""
  count = sum(1 for _ in tf.data.TFRecordDataset(files, compression_type=compression))
  batches = count // batch_size if drop_remainder else -(-count // batch_size)
  if batches == 0:
    raise ValueError(f"{files}: {count} records, fewer than one batch of {batch_size}; lower "
                     "the batch size")
  return ds.apply(tf.data.experimental.assert_cardinality(batches))


def steps_per_execution(configured: int, strategy) -> int:
  """Keras 3 cannot run more than one step per execution on more than one replica ("You must
  feed a value for placeholder tensor ... while/cond/Placeholder_1", keras-team/keras#19246)."""
  if configured > 1 and strategy.num_replicas_in_sync > 1:
    logging.info("steps_per_execution %d -> 1 on %d replicas (keras-team/keras#19246)",
                 configured, strategy.num_replicas_in_sync)
    return 1
  return configured


@dataclasses.dataclass(frozen=True)
class LengthBuckets:
  """Batches of examples of similar length, by the count of non-zero ids in `feature` (0 is the
  padding, at the end), each cut to its bucket's upper bound: a batch is as wide as the longest
  row its bucket may hold, so the train step sees BUCKETS + 1 shapes, not one per batch. The
  bounds are equal steps of the padded length."""
  feature: str
  padded_length: int

  BUCKETS: ClassVar[int] = 16

  @property
  def bounds(self) -> list[int]:
    """Exclusive upper bounds of the lengths of each bucket but the last (up to padded_length)."""
    return sorted({max(2, round(self.padded_length * (i + 1) / (self.BUCKETS + 1)))
                   for i in range(self.BUCKETS)})

  def select(self, features: dict, label):
    """Only the feature that is batched (padded_batch takes no sparse features)."""
    return {self.feature: features[self.feature]}, label

  def batch(self, ds: tf.data.Dataset, batch_size: int, drop_remainder: bool) -> tf.data.Dataset:
    return ds.bucket_by_sequence_length(
        lambda x, y: tf.math.count_nonzero(x[self.feature], dtype=tf.int32), self.bounds,
        [batch_size] * (len(self.bounds) + 1), drop_remainder=drop_remainder)

  def width(self, ids: tf.Tensor) -> tf.Tensor:
    """The narrowest bucket width that holds the longest row of [batch, padded_length] ids (for
    a batch of one bucket: that bucket's widest length)."""
    longest = tf.reduce_max(tf.math.count_nonzero(ids, axis=1, dtype=tf.int32))
    widths = tf.constant([b - 1 for b in self.bounds] + [self.padded_length], tf.int32)
    return widths[tf.argmax(widths >= longest, output_type=tf.int32)]

  def cut(self, ids: tf.Tensor) -> tf.Tensor:
    """[batch, padded_length] ids -> [batch, width(ids)]."""
    return ids[:, :self.width(ids)]


@dataclasses.dataclass(frozen=True)
class TextLengthBuckets:
  """LengthBuckets for a raw-text feature (a sentence encoder pads each batch to its longest
  text): batches of texts of similar length in characters, in buckets doubling from 64."""
  feature: str

  BOUNDS: ClassVar[tuple[int, ...]] = (64, 128, 256, 512, 1024, 2048, 4096)

  def select(self, features: dict, label):
    return {self.feature: features[self.feature]}, label

  def batch(self, ds: tf.data.Dataset, batch_size: int, drop_remainder: bool) -> tf.data.Dataset:
    return ds.bucket_by_sequence_length(
        lambda x, y: tf.strings.length(tf.reshape(x[self.feature], []), unit="UTF8_CHAR"),
        list(self.BOUNDS), [batch_size] * (len(self.BOUNDS) + 1), drop_remainder=drop_remainder)


SHUFFLE_BUFFER = 20000
READ_BATCH = 512  # records parsed at once when the featurised examples are cached


def dataset(fn_args, files, tf_transform_output, batch_size: int,
            featurize: Callable[[dict], tf.Tensor], shuffle: bool, seed: int,
            drop_remainder: bool, cache: bool = False,
            buckets: Optional[LengthBuckets | TextLengthBuckets] = None) -> tf.data.Dataset:
  """Transformed TFRecords -> (model input, float label) batches, featurised in tf.data.

  cache: the parsed examples are kept in memory after the first pass (parsing the records again
  costs more than a bag-of-words training step), then shuffled (seeded, a new order each epoch),
  batched and featurised; otherwise tfxio shuffles and batches the records it reads.
  buckets: given, only its feature is kept and examples of similar length are batched together
  (tf.data bucketing), so that `featurize` can cut each batch short (LengthBuckets.cut).
  drop_remainder: Keras 3 under MirroredStrategy with more than one replica fails on a final
  batch that splits unevenly across replicas, so that batch (< one global batch; with buckets,
  each bucket's) is dropped.
  """
  per_example = cache or buckets is not None
  options = tfxio.TensorFlowDatasetOptions(
      batch_size=READ_BATCH if per_example else batch_size, label_key=LABEL_KEY, num_epochs=1,
      shuffle=shuffle and not per_example, shuffle_seed=seed, shuffle_buffer_size=SHUFFLE_BUFFER,
      drop_final_batch=drop_remainder and not per_example)
  ds = fn_args.data_accessor.tf_dataset_factory(
      files, options, tf_transform_output.transformed_metadata.schema)
  if per_example:  # the parsed examples; featurised per batch below
    ds = ds.unbatch()
    if buckets is not None:
      ds = ds.map(buckets.select)
    if cache:
      ds = ds.cache()
    if shuffle:
      ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if buckets is None:
      ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    else:
      ds = buckets.batch(ds, batch_size, drop_remainder)
  ds = ds.map(lambda x, y: (featurize(x), tf.cast(tf.reshape(y, [-1]), tf.float32)),
              num_parallel_calls=tf.data.AUTOTUNE)
  if buckets is None:
    ds = with_known_batches(ds, [f for p in files for f in tf.io.gfile.glob(p)], batch_size,
                            drop_remainder)
  else:
    ds = with_counted_batches(ds, files, batch_size)
  return shard_by_batch(ds.prefetch(tf.data.AUTOTUNE))


def with_counted_batches(ds: tf.data.Dataset, files: list, batch_size: int) -> tf.data.Dataset:
  """with_known_batches for a bucketed dataset: its batches are counted by one pass (the count
  per bucket does not depend on the order)."""
  batches = int(ds.reduce(0, lambda count, _: count + 1))
  if batches == 0:
    raise ValueError(f"{files}: fewer examples than one batch of {batch_size} in every length "
                     "bucket; lower the batch size")
  return ds.apply(tf.data.experimental.assert_cardinality(batches))


def train_and_eval(fn_args, config: ClassifierParams, strategy, tf_transform_output,
                   featurize: Callable[[dict], tf.Tensor],
                   buckets: Optional[LengthBuckets | TextLengthBuckets] = None):
  """The train and eval datasets of a classifier, in global batches of the strategy: train is
  shuffled and drops its last partial batch; eval drops it only with more than one replica.
  buckets (see dataset()): the train split is batched by length, dropping each bucket's partial
  batch only with more than one replica (then up to BUCKETS x (batch - 1) examples an epoch,
  other ones each epoch); so is the eval split on one replica (on more, it would lose as many)."""
  batch = config.batch_size * strategy.num_replicas_in_sync
  multi = strategy.num_replicas_in_sync > 1
  train = dataset(fn_args, fn_args.train_files, tf_transform_output, batch, featurize,
                  shuffle=True, seed=config.seed, drop_remainder=buckets is None or multi,
                  cache=config.cache_input, buckets=buckets)
  val = dataset(fn_args, fn_args.eval_files, tf_transform_output, batch, featurize,
                shuffle=False, seed=config.seed, drop_remainder=multi, cache=config.cache_input,
                buckets=None if multi else buckets)
  return train, val


def shard_by_batch(ds: tf.data.Dataset) -> tf.data.Dataset:
  """Multi-worker input: every worker takes its slice of each global batch.

  The default (AUTO) shards by file when there are enough files: each worker then reads other
  files, whose record counts differ, so the workers' epochs differ in length and the global
  batches are not those one worker would see. Sharding by data gives every worker the same steps
  over the same global batches, at the cost of each worker reading all files (which counts only
  at scale; see the README). One-worker strategies ignore it."""
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
  return ds.with_options(options)


def fit(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset, config: TrainerParams,
        fn_args, monitor: str = "val_loss", mode: str = "min", callbacks=()) -> dict:
  """Trains config.epochs epochs, or fewer with config.patience, and keeps the weights of the
  epoch with the best `monitor` (the seeds' ModelCheckpoint(save_best_only)); with
  config.reduce_lr_patience, lowers the learning rate when `monitor` stalls. The chief alone
  writes TensorBoard logs, history.json and the curves (workers of a multi-worker cluster share
  fn_args.model_run_dir)."""
  best = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, restore_best_weights=True,
                                       patience=config.patience or config.epochs)
  plateau = [keras.callbacks.ReduceLROnPlateau(
      monitor=monitor, mode=mode, factor=config.reduce_lr_factor,
      patience=config.reduce_lr_patience, verbose=1)] if config.reduce_lr_patience else []
  chief = is_chief(model.distribute_strategy)
  callbacks = [*callbacks, *plateau, best] + (
      [keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)] if chief else [])
  start = time.monotonic()
  history = model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks,
                      verbose=2)
  epochs = len(history.epoch)
  summary = {"history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
             "epochs": epochs, "best_epoch": best.best_epoch + 1,
             "replicas": model.distribute_strategy.num_replicas_in_sync,
             "train_seconds": round(time.monotonic() - start, 1)}
  logging.info("trained %d epochs in %.1fs%s; kept epoch %d (%s %.4f)", epochs,
               summary["train_seconds"], " (stopped early)" if best.stopped_epoch else "",
               best.best_epoch + 1, monitor, best.best)
  if chief:
    save_history(summary, fn_args.model_run_dir)
    write_hparams(fn_args)
  return summary


def write_hparams(fn_args) -> None:
  """The model's parameters for TensorBoard's HParams dashboard, beside its epoch curves."""
  from tensorboard.plugins.hparams import api as hparams_api  # pylint: disable=import-outside-toplevel
  values = {k: v for k, v in (fn_args.custom_config or {}).items()
            if isinstance(v, (bool, int, float, str)) and k not in BOOKKEEPING + (
                "embedding_uri", "encoder_uri")}
  with tf.summary.create_file_writer(fn_args.model_run_dir).as_default():
    hparams_api.hparams(values, trial_id=str(values.get("model_name", "")))


def curve_panels(history: dict) -> list[str]:
  """One panel per metric, train and eval together; a metric logged for eval only (a
  translator's token accuracy under a sampled softmax) gets its own panel too."""
  train = [k for k in history if not k.startswith("val_")]
  return train + [k[len("val_"):] for k in history
                  if k.startswith("val_") and k[len("val_"):] not in history]


def save_history(summary: dict, out_dir: str) -> None:
  """history.json and training_curves.png (loss and metrics, train vs eval, per epoch)."""
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "history.json"), "w") as f:
    json.dump(summary, f, indent=1)
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  history = summary["history"]
  names = curve_panels(history)
  fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
  for ax, name in zip(axes[0], names):
    epochs = range(1, len(history.get(name, history.get(f"val_{name}"))) + 1)
    if name in history:
      ax.plot(epochs, history[name], "o-", label="train")
    if f"val_{name}" in history:
      ax.plot(epochs, history[f"val_{name}"], "s-", label="eval")
    ax.set(title=name, xlabel="epoch")
    ax.legend()
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, "training_curves.png"), dpi=80)
  plt.close(fig)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return resolver.task_type == "chief" or (
      resolver.task_type == "worker" and resolver.task_id == 0
      and "chief" not in resolver.cluster_spec().as_dict())


def classifier_output(x, classes: Optional[list], **dense_kwargs):
  """The classifier families' output layer: one sigmoid unit for a binary 0/1 label, else a
  softmax over the label vocabulary's classes (components.contract.class_names)."""
  if classes is None:
    return keras.layers.Dense(1, activation="sigmoid", **dense_kwargs)(x)
  return keras.layers.Dense(len(classes), activation="softmax", **dense_kwargs)(x)


def classifier_loss(classes: Optional[list]) -> str:
  return "binary_crossentropy" if classes is None else "sparse_categorical_crossentropy"


def export(strategy, model, tf_transform_output, featurize, serving_model_dir: str,
           output_name: str = "probabilities") -> None:
  """Classifier export: raw text -> `output_name`, and `classes` for a multi-class label (see
  trainers.serving)."""
  module = serving.ServingModule(model, tf_transform_output, featurize, output_name,
                                 classes=contract.class_names(tf_transform_output))
  export_module(strategy, module, serving_model_dir, serving.signatures)


def export_module(strategy, module: tf.Module, serving_model_dir: str, signatures_fn) -> None:
  """Only the chief writes serving_model_dir. The other workers save too (saving a distributed
  model may run collectives every worker must join), each into its own scratch dir, deleted."""
  if is_chief(strategy):
    serving.export(module, serving_model_dir, signatures_fn)
  else:
    resolver = strategy.cluster_resolver
    scratch = os.path.join(os.path.dirname(serving_model_dir),
                           f".worker-scratch-{resolver.task_type}-{resolver.task_id}")
    serving.export(module, scratch, signatures_fn)
    tf.io.gfile.rmtree(scratch)
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    # A barrier: no worker leaves while another still saves. The chief's coordination service
    # reports a worker that has exited as failed (heartbeat timeout) to those still running.
    strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)


def load_transform_output(fn_args) -> tft.TFTransformOutput:
  return tft.TFTransformOutput(fn_args.transform_output)


def setup(fn_args, params_class: type) -> tuple[TrainerParams, tf.distribute.Strategy]:
  """The family's params from fn_args, and the strategy. The strategy first:
  MultiWorkerMirroredStrategy must be created before other TF ops."""
  config = params_class.from_fn_args(fn_args)
  strategy = strategy_lib.make_strategy(config.strategy, config.cpu_devices)
  keras.utils.set_random_seed(config.seed)
  return config, strategy
