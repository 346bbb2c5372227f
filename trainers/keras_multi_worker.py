"""Two fixes that let Keras 3 (3.15) fit() and evaluate() run under MultiWorkerMirroredStrategy.

Keras 3's TensorFlow trainer has two multi-worker paths that fail before the first step
(keras-team/keras#20585, tensorflow/tensorflow#72388; both open), each a reduce call that
MultiWorkerMirroredStrategy cannot serve:
  1. to build the model symbolically, fit()/evaluate() reduce the whole first batch -- a tuple of
     per-replica values -- in one strategy.reduce call; the strategy reduces one value at a time.
     Keras needs only the batch's shapes, so the build here takes the worker's own replica batch.
  2. each step's logs (scalar metric results) are reduced with strategy.reduce(..., axis=0),
     which has no axis 0 on a scalar. Scalars are reduced over replicas with axis=None (the same
     mean over replicas that single-worker Keras takes); tensors keep axis=0.
Both replace Keras functions in place when the first MultiWorkerMirroredStrategy is made
(trainers.strategy) and behave as Keras' own for every other strategy. The multi-worker test
(tests/test_multi_worker.py) checks that workers trained this way end with identical weights.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

_PATCHED = []


def _is_multi_worker(strategy) -> bool:
  return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def build_from_replica_batch(model: keras.Model, iterator) -> None:
  """Fix 1: Keras' symbolic build from the first batch of this worker's first replica.

  Also the fix for a model with string inputs under MirroredStrategy, whose first batch Keras
  would average over replicas (trainers.hub_classifier)."""
  strategy = model.distribute_strategy

  def local(value):
    if isinstance(value, tf.distribute.DistributedValues):
      return strategy.experimental_local_results(value)[0]
    return value

  for _, _, it in iterator:  # as Keras: the first batch of the epoch iterator
    data_batch = keras.tree.map_structure(local, next(it))
    break
  with strategy.scope():
    model._symbolic_build(data_batch=data_batch)  # pylint: disable=protected-access


def install() -> None:
  if _PATCHED:
    return
  keras_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build  # pylint: disable=protected-access
  keras_reduce = tf_trainer.reduce_per_replica

  def maybe_symbolic_build(self, iterator=None, data_batch=None):
    strategy = self._distribute_strategy  # pylint: disable=protected-access
    if strategy is None or not _is_multi_worker(strategy) or iterator is None:
      return keras_build(self, iterator=iterator, data_batch=data_batch)
    return build_from_replica_batch(self, iterator)

  def reduce_per_replica(values, strategy, reduction):
    if not _is_multi_worker(strategy) or reduction not in ("auto", "mean"):
      return keras_reduce(values, strategy, reduction)

    def reduce(value):
      if value is None:
        return value
      rank = strategy.experimental_local_results(value)[0].shape.rank
      return strategy.reduce("MEAN", value, axis=0 if rank else None)

    return keras.tree.map_structure(reduce, values)

  tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build  # pylint: disable=protected-access
  tf_trainer.reduce_per_replica = reduce_per_replica
  _PATCHED.append(True)
