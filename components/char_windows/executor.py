"""CharWindows executor: Beam gathers each split's chunks in offset order; tf.signal.frame cuts
the windows; one TFRecord file per split is written to a temp name and renamed."""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.metrics.metric import MetricsFilter
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

SPLITS = ("train", "eval", "test")
FILE_NAME = "windows.tfrecord.gz"
_NAMESPACE = "CharWindows"


def stateless_windows(ids: np.ndarray, length: int, stride: int) -> np.ndarray:
  """[n] ids -> [count, length + 1] windows starting every `stride` ids."""
  if len(ids) < length + 1:
    return np.zeros([0, length + 1], np.int64)
  return tf.signal.frame(tf.constant(ids, tf.int64), length + 1, stride).numpy()


def stateful_windows(ids: np.ndarray, length: int, batch_size: int) -> np.ndarray:
  """[n] ids -> [W * batch_size, length + 1]: the ids cut into batch_size contiguous streams
  (the remainder n mod batch_size dropped), each stream framed with stride `length`, then
  interleaved so that row i of batch k is window k of stream i."""
  stream_len = len(ids) // batch_size
  if stream_len < length + 1:
    return np.zeros([0, length + 1], np.int64)
  streams = tf.constant(ids[:batch_size * stream_len].reshape(batch_size, stream_len), tf.int64)
  frames = tf.signal.frame(streams, length + 1, length, axis=-1)  # [B, W, L + 1]
  return tf.reshape(tf.transpose(frames, [1, 0, 2]), [-1, length + 1]).numpy()


def split_windows(ids: np.ndarray, split: str, mode: str, length: int, stride: int,
                  batch_size: int, seed: int) -> np.ndarray:
  if mode == "stateful":
    return stateful_windows(ids, length, batch_size)
  if split != "train":  # evaluation: every character once, in text order
    return stateless_windows(ids, length, length)
  windows = stateless_windows(ids, length, stride)
  return windows[np.random.default_rng(seed).permutation(len(windows))]


def parse_chunk(record: bytes) -> tuple[int, np.ndarray]:
  """A transformed example -> (its offset in the split's text, its character ids)."""
  example = tf.train.Example.FromString(record)
  feature = example.features.feature
  return (int(feature["offset"].int64_list.value[0]),
          np.asarray(feature["char_ids"].int64_list.value, np.int64))


def text_ids(chunks: List[tuple[int, np.ndarray]]) -> np.ndarray:
  """A split's (offset, ids) chunks, in any order -> the split's ids in text order."""
  chunks = sorted(chunks, key=lambda c: c[0])
  return np.concatenate([c[1] for c in chunks]) if chunks else np.zeros([0], np.int64)


def _window_example(window: np.ndarray) -> bytes:
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values.tolist()))
  return tf.train.Example(features=tf.train.Features(feature={
      "input": ints(window[:-1]), "target": ints(window[1:])})).SerializeToString()


class _WriteSplit(beam.DoFn):
  """All chunks of one split -> the split's windows file (order matters in stateful mode, so
  one writer writes it)."""

  def __init__(self, split: str, out_dir: str, params: dict):
    self._split, self._out_dir, self._params = split, out_dir, params
    self._windows = beam.metrics.Metrics.counter(_NAMESPACE, f"windows_{split}")
    self._chars = beam.metrics.Metrics.counter(_NAMESPACE, f"chars_{split}")

  def process(self, chunks: List[tuple[int, np.ndarray]]):
    ids = text_ids(chunks)
    windows = split_windows(ids, self._split, **self._params)
    if len(windows) == 0:
      raise ValueError(
          f"CharWindows: split {self._split!r} has {len(ids)} characters, too few for one window "
          f"of {self._params['length'] + 1} in mode {self._params['mode']!r} (batch_size "
          f"{self._params['batch_size']}); use a shorter length or a smaller batch size")
    tf.io.gfile.makedirs(self._out_dir)
    tmp = os.path.join(self._out_dir, f".{FILE_NAME}.tmp")
    with tf.io.TFRecordWriter(tmp, options="GZIP") as writer:
      for window in windows:
        writer.write(_window_example(window))
    tf.io.gfile.rename(tmp, os.path.join(self._out_dir, FILE_NAME), overwrite=True)
    self._windows.inc(len(windows))
    self._chars.inc(len(ids))


class Executor(base_beam_executor.BaseBeamExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    examples = artifact_utils.get_single_instance(input_dict["examples"])
    windows = artifact_utils.get_single_instance(output_dict["windows"])
    available = artifact_utils.decode_split_names(examples.split_names)
    missing = [s for s in SPLITS if s not in available]
    if missing:
      raise ValueError(f"CharWindows: input examples at {examples.uri} lack split(s) {missing}; "
                       "Transform must transform train, eval and test")
    params = {k: int(exec_properties[k]) for k in ("length", "stride", "batch_size", "seed")}
    params["mode"] = exec_properties["mode"]
    windows.split_names = artifact_utils.encode_split_names(list(SPLITS))
    pipeline = self._make_beam_pipeline()
    for split in SPLITS:
      pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
      out_dir = artifact_utils.get_split_uri([windows], split)
      _ = (pipeline
           | f"Read[{split}]" >> beam.io.ReadFromTFRecord(pattern)
           | f"Parse[{split}]" >> beam.Map(parse_chunk)
           | f"Gather[{split}]" >> beam.combiners.ToList()
           | f"Write[{split}]" >> beam.ParDo(_WriteSplit(split, out_dir, params)))
    result = pipeline.run()
    result.wait_until_finish()
    for split in SPLITS:
      for what in ("windows", "chars"):
        query = result.metrics().query(MetricsFilter().with_namespace(_NAMESPACE)
                                       .with_name(f"{what}_{split}"))["counters"]
        count = int(sum(c.committed for c in query))
        windows.set_int_custom_property(f"{what}_{split}", count)
      logging.info("CharWindows (%s, length %d): %s: %d windows from %d characters",
                   params["mode"], params["length"], split,
                   windows.get_int_custom_property(f"windows_{split}"),
                   windows.get_int_custom_property(f"chars_{split}"))
    windows.set_string_custom_property("mode", params["mode"])
    windows.set_int_custom_property("length", params["length"])
    windows.set_int_custom_property("batch_size", params["batch_size"])
