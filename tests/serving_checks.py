"""Test helper: every signature of an exported model run in TF Serving's session-based loader and
through tf.saved_model.load, on the same inputs, with equal outputs."""
from __future__ import annotations

from typing import Callable, Mapping, Union

import numpy as np
import tensorflow as tf

from components.serving_check import sessions

Feeds = Union[Mapping[str, object], Callable[[dict], Mapping[str, object]]]


def raw_example(**features) -> bytes:
  """A serialized tf.Example of string (or list-of-string) features."""
  def strings(value):
    values = [value] if isinstance(value, str) else value
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
  return tf.train.Example(features=tf.train.Features(
      feature={k: strings(v) for k, v in features.items()})).SerializeToString()


def _array(value):
  if isinstance(value, np.ndarray):
    return value
  array = np.asarray(value)
  return array.astype(object) if array.dtype.kind in "US" else array


def session_outputs(model_dir: str, feeds: Mapping[str, Feeds]) -> dict[str, dict]:
  """Runs each named signature (in order; a callable gets the outputs so far and returns the
  feeds) both ways and asserts equal outputs. `feeds` must name every signature the model has:
  a test of a model checks all of them. Returns the session outputs per signature."""
  outputs = {}
  with sessions.SessionModel(model_dir) as session:
    assert set(feeds) == set(session.signatures), (
        f"the test feeds {sorted(feeds)}; the model has {sorted(session.signatures)}")
    tf2 = sessions.Tf2Model(model_dir)
    for name, given in feeds.items():
      inputs = {k: _array(v) for k, v in (given(outputs) if callable(given) else given).items()}
      served = session.run(name, inputs)
      assert sessions.differences(tf2.run(name, inputs), served) == [], name
      outputs[name] = served
  return outputs
