"""The tf.distribute strategy every trainer builds and trains its model under.

  mirrored      all visible GPUs; with none, `cpu_devices` logical CPU devices (1 = plain CPU)
  one_device    the first GPU, else the CPU
  multi_worker  MultiWorkerMirroredStrategy, cluster from $TF_CONFIG

Logical CPU devices can only be created before TensorFlow initialises its devices, so the CLI
calls `configure_devices` at process start; `make_strategy` calls it again and fails clearly if
it is too late.
"""
from __future__ import annotations

import logging
import os

import tensorflow as tf


def configure_devices(name: str, cpu_devices: int = 1) -> None:
  if name != "mirrored" or cpu_devices <= 1 or tf.config.list_physical_devices("GPU"):
    return
  cpu = tf.config.list_physical_devices("CPU")[0]
  current = tf.config.get_logical_device_configuration(cpu)
  if current and len(current) == cpu_devices:
    return
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)])
  except RuntimeError as e:
    have = len(tf.config.list_logical_devices("CPU"))
    if have < cpu_devices:
      raise RuntimeError(
          f"asked for {cpu_devices} logical CPU devices but TensorFlow was already initialised "
          f"with {have}; configure devices at process start (pipeline.cli does)") from e


_STRATEGIES: dict = {}


def make_strategy(name: str = "mirrored", cpu_devices: int = 1) -> tf.distribute.Strategy:
  """One strategy per (name, devices) per process: LocalDagRunner runs every Trainer in the
  same process, and a second MirroredStrategy there reuses collective instance keys of the
  first, failing with a collective shape mismatch."""
  key = (name, cpu_devices)
  if key not in _STRATEGIES:
    _STRATEGIES[key] = _new_strategy(name, cpu_devices)
  return _STRATEGIES[key]


def _new_strategy(name: str, cpu_devices: int) -> tf.distribute.Strategy:
  if name == "mirrored":
    if tf.config.list_physical_devices("GPU"):
      strategy = tf.distribute.MirroredStrategy()
    else:
      configure_devices(name, cpu_devices)
      cpus = [d.name for d in tf.config.list_logical_devices("CPU")][:max(cpu_devices, 1)]
      strategy = tf.distribute.MirroredStrategy(cpus)
  elif name == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  elif name == "multi_worker":
    # Needs one process per worker, each started with its TF_CONFIG before TensorFlow
    # initialises (an orchestrator's job: see the README); LocalDagRunner is one process.
    if "TF_CONFIG" not in os.environ:
      raise RuntimeError("strategy multi_worker needs $TF_CONFIG describing the cluster and this "
                         "worker; use `mirrored` for one machine")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from trainers import keras_multi_worker  # pylint: disable=import-outside-toplevel
    keras_multi_worker.install()  # Keras 3 fit()/evaluate() fail under it otherwise
  else:
    raise ValueError(f"unknown strategy {name!r}; valid names: mirrored, one_device, multi_worker")
  logging.info("strategy %s with %d replica(s)", type(strategy).__name__,
               strategy.num_replicas_in_sync)
  return strategy
