"""trainers.common.fit: early stopping and the learning rate cut on a plateau, on a model whose
eval loss can only rise (its eval labels are the train labels flipped)."""
import json
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from trainers import common


def _fit(tmp_path, **params):
  keras.utils.set_random_seed(0)
  x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
  y = (x[:, 0] > 0).astype("float32")
  train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
  val = tf.data.Dataset.from_tensor_slices((x, 1 - y)).batch(16)
  model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
  model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
  config = common.TrainerParams(**params)
  fn_args = types.SimpleNamespace(model_run_dir=str(tmp_path), custom_config={})
  summary = common.fit(model, train, val, config, fn_args)
  with open(os.path.join(tmp_path, "history.json")) as f:
    assert json.load(f)["epochs"] == summary["epochs"]
  return summary


def test_the_rate_is_cut_after_reduce_lr_patience_epochs_without_a_lower_eval_loss(tmp_path):
  summary = _fit(tmp_path, epochs=5, reduce_lr_patience=1, reduce_lr_factor=0.5)
  rates = summary["history"]["learning_rate"]
  val_loss = summary["history"]["val_loss"]
  assert all(later > earlier for earlier, later in zip(val_loss, val_loss[1:]))
  # The rate each epoch trained at: epoch 1 is the best, and from the end of epoch 2 on each
  # epoch without a lower eval loss halves the next one's.
  assert rates == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.00625])


def test_without_reduce_lr_patience_the_rate_stays_and_patience_stops_the_run(tmp_path):
  summary = _fit(tmp_path, epochs=10, patience=2)
  assert summary["epochs"] == 3 and summary["best_epoch"] == 1
  assert "learning_rate" not in summary["history"] or set(
      summary["history"]["learning_rate"]) == {pytest.approx(0.05)}
