"""Character-level GRU language model (HOML ch. 16; seeds 002 and 003):
Embedding 16 -> GRU 128 (return_sequences) -> Dense softmax over the characters, nadam.

`stateful: true` trains the stateful variant on CharWindows' stateful layout (state carried from
batch to batch, reset at each epoch start and before each evaluation); it is exported as a
stateless copy with the same weights. Loss: nats/char; metrics: bits/char and next-character
accuracy (the share of characters that are the most probable next one).
"""
from __future__ import annotations

import logging
import math
import os
from typing import ClassVar, Literal

import keras
import numpy as np
import tensorflow as tf
from pydantic import Field, model_validator

from components import char_preprocessing
from trainers import char_serving, common, families


SAMPLES_FILE = "samples.txt"  # in the Trainer's model_run artifact


class Params(common.TrainerParams):
  PIPELINE_KEYS: ClassVar[tuple[str, ...]] = common.TrainerParams.PIPELINE_KEYS + (
      "window_length",)
  window_length: int = 100  # the run's text.window_length (the CharWindows the model reads)

  batch_size: int = Field(32, ge=1, description="per replica; stateful: the number of streams "
                          "(global)")
  stateful: bool = Field(False, description="carry the state from batch to batch (CharWindows' "
                         "stateful layout)")
  embedding_dim: int = Field(16, ge=1)
  units: int = Field(128, ge=1, description="GRU units")
  lr_decay: Literal["constant", "cosine"] = Field(
      "constant", description="cosine: decays to 0 over all training steps")
  sample_every: int = Field(0, ge=0, description="every this many epochs, sample text from the "
                            "model into the run's samples.txt (0: never)")
  sample_prompt: str = Field("The ", min_length=1, description="what the samples start from")
  sample_chars: int = Field(300, ge=1, description="characters sampled after the prompt")
  sample_temperature: float = Field(0.8, gt=0)

  @model_validator(mode="after")
  def _one_rate_policy(self):
    if self.lr_decay == "cosine" and self.reduce_lr_patience:
      raise ValueError("reduce_lr_patience needs lr_decay constant: a cosine schedule sets the "
                       "rate itself")
    return self


class BitsPerChar(keras.metrics.Mean):
  """Mean sparse categorical cross-entropy in bits per character."""

  def __init__(self, name="bits_per_char", **kwargs):
    super().__init__(name=name, **kwargs)

  def update_state(self, y_true, y_pred, sample_weight=None):
    nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return super().update_state(nats / math.log(2), sample_weight)


class ResetStates(keras.callbacks.Callback):
  """Stateful training: each epoch and each evaluation starts from a zero state."""

  def _reset(self):
    for layer in self.model.layers:
      if getattr(layer, "stateful", False):
        layer.reset_state()

  def on_epoch_begin(self, epoch, logs=None):
    self._reset()

  def on_test_begin(self, logs=None):
    self._reset()


class SampleText(keras.callbacks.Callback):
  """Every `every` epochs, text sampled from the model as it stands (seed 003 prints samples
  while it trains), through the serving module's own prime-and-step path (char_serving.sample),
  appended to `path` and logged. Seeded: the same run gives the same samples."""

  def __init__(self, tft_output, vocabulary: list, config: Params, path: str):
    super().__init__()
    self._tft_output, self._vocabulary, self._config, self._path = (
        tft_output, vocabulary, config, path)
    self._rng = np.random.default_rng(config.seed)

  def on_epoch_end(self, epoch, logs=None):
    c = self._config
    if (epoch + 1) % c.sample_every:
      return
    module = char_serving.CharLMModule(self.model, self._tft_output, self._vocabulary)
    text = c.sample_prompt + char_serving.sample(module, c.sample_prompt, c.sample_chars,
                                                 self._rng, c.sample_temperature)
    with open(self._path, "a", encoding="utf-8") as f:
      f.write(f"--- epoch {epoch + 1}, temperature {c.sample_temperature} ---\n{text}\n\n")
    logging.info("epoch %d sample: %r", epoch + 1, text[:120])


def build_model(vocab_size: int, embedding_dim: int = 16, units: int = 128,
                stateful: bool = False, batch_size=None, learning_rate=0.001) -> keras.Model:
  """ids [batch, time] -> next-character probabilities [batch, time, vocab_size]. Stateful
  models need a fixed batch size (per replica). Id 0 (padding) is masked. learning_rate: a
  float or a keras LearningRateSchedule."""
  inputs = keras.Input(batch_shape=(batch_size if stateful else None, None), dtype="int64",
                       name="char_ids")
  x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
  x = keras.layers.GRU(units, return_sequences=True, stateful=stateful, name="gru")(x)
  outputs = keras.layers.Dense(vocab_size, activation="softmax", name="next_char")(x)
  model = keras.Model(inputs, outputs)
  model.compile(optimizer=keras.optimizers.Nadam(learning_rate), loss="sparse_categorical_crossentropy",
                metrics=[BitsPerChar(),
                         keras.metrics.SparseCategoricalAccuracy(name="next_char_accuracy")])
  return model


def windows_dataset(patterns, length: int, batch_size: int, shuffle: bool,
                    seed: int) -> tf.data.Dataset:
  """CharWindows TFRecords -> (input [batch, length], target [batch, length]); full batches
  only (stateful layers need them; MirroredStrategy needs even splits)."""
  files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
  spec = {"input": tf.io.FixedLenFeature([length], tf.int64),
          "target": tf.io.FixedLenFeature([length], tf.int64)}
  ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
  if shuffle:
    ds = ds.shuffle(50000, seed=seed, reshuffle_each_iteration=True)
  ds = common.with_known_batches(ds.batch(batch_size, drop_remainder=True), files, batch_size,
                                 drop_remainder=True)
  ds = ds.map(lambda r: (lambda e: (e["input"], e["target"]))(tf.io.parse_example(r, spec)),
              num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  return common.shard_by_batch(ds)


def learning_rate(config, steps_per_epoch: int):
  """The configured rate, constant or decayed along a cosine to 0 over all training steps."""
  if config.lr_decay == "cosine":
    return keras.optimizers.schedules.CosineDecay(config.learning_rate,
                                                  decay_steps=config.epochs * steps_per_epoch)
  return config.learning_rate


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; tests read it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  vocab = char_preprocessing.vocabulary(tft_output)
  replicas = strategy.num_replicas_in_sync
  if config.stateful:
    if config.batch_size % replicas:
      raise ValueError(f"stateful: batch_size {config.batch_size} (the number of streams) must "
                       f"divide evenly over {replicas} replicas")
    global_batch = config.batch_size  # = CharWindows' stream count
  else:
    global_batch = config.batch_size * replicas
  length = config.window_length
  train = windows_dataset(fn_args.train_files, length, global_batch,
                          shuffle=not config.stateful, seed=config.seed)
  val = windows_dataset(fn_args.eval_files, length, global_batch, shuffle=False, seed=config.seed)
  with strategy.scope():
    model = build_model(len(vocab), config.embedding_dim, config.units, config.stateful,
                        batch_size=global_batch // replicas,
                        learning_rate=learning_rate(config, int(train.cardinality())))
  callbacks = [ResetStates()] if config.stateful else []
  if config.sample_every and common.is_chief(strategy):
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    callbacks.append(SampleText(tft_output, vocab, config,
                                os.path.join(fn_args.model_run_dir, SAMPLES_FILE)))
  summary = common.fit(model, train, val, config, fn_args, monitor="val_loss",
                       mode="min", callbacks=callbacks)
  # The test split, read the way the model was trained (state carried when stateful).
  test_files = [p.replace("Split-eval", "Split-test") for p in fn_args.eval_files]
  test = windows_dataset(test_files, length, global_batch, shuffle=False, seed=config.seed)
  test_loss = model.evaluate(test, callbacks=callbacks, verbose=0, return_dict=True)["loss"]
  logging.info("test loss %.4f nats/char (%.4f bits/char)%s", test_loss,
               test_loss / math.log(2), " with state carried" if config.stateful else "")
  summary["test_loss_nats"] = test_loss
  if common.is_chief(strategy):
    common.save_history(summary, fn_args.model_run_dir)
  if config.stateful:  # serve a stateless copy: any batch size, state passed explicitly
    stateless = build_model(len(vocab), config.embedding_dim, config.units)
    stateless.set_weights(model.get_weights())
    model = stateless
  module = char_serving.CharLMModule(model, tft_output, vocab)
  common.export_module(strategy, module, fn_args.serving_model_dir, char_serving.signatures)
  return model


FAMILY = families.Family("char_rnn", task="char_lm", params=Params, module=__name__,
                         describe=lambda p: "stateful" if p.stateful else "stateless")
