"""A SavedModel run the way TF Serving runs it, beside the TF2 load, and the two compared.

TF Serving, `saved_model_cli run` and TF1/C++ SavedModelBundle clients load a model into a
session: they import the MetaGraph, run its restore op (which assigns only the tf.Variables the
exported object tracks) and its init op (tables), then `Session.run` a SignatureDef's tensors by
name. `tf.saved_model.load` instead rebuilds the Python objects and restores them one by one,
which hides a model whose variables the restore op never creates. `SessionModel` is the first
way, `Tf2Model` the second, and `check` runs a model's signatures both ways on the same inputs.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf
# Registers the tensorflow_text ops (WordPiece) a transform graph may hold, before any load.
import tensorflow_text  # noqa: F401

SERVE_TAG = "serve"
# Both loaders run the same graph functions on the same CPU; the tolerance only absorbs a
# different kernel order, not a different model.
RTOL, ATOL = 1e-5, 1e-6


def _first_line(error: BaseException) -> str:
  """The line of an error that says what is wrong (a session error starts with a generic
  'Graph execution error:' and ends with node names)."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  telling = [l for l in lines if not l.endswith(":") and not l.startswith(("[[", "Detected at"))]
  return f"{type(error).__name__}: {(telling or lines or [''])[0]}"


class SessionModel:
  """A SavedModel loaded into a TF1 session (tf.compat.v1.saved_model.loader.load)."""

  def __init__(self, model_dir: str):
    self.model_dir = model_dir
    self._graph = tf.Graph()
    self._session = tf.compat.v1.Session(graph=self._graph)
    with self._graph.as_default():
      meta_graph = tf.compat.v1.saved_model.loader.load(self._session, [SERVE_TAG], model_dir)
    # Without the loader's own entries (`__saved_model_init_op`): it has run them already.
    self.signatures = {k: v for k, v in meta_graph.signature_def.items()
                       if not k.startswith("__")}

  def inputs(self, signature: str) -> dict:
    return dict(self.signatures[signature].inputs)

  def run(self, signature: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    definition = self.signatures[signature]
    missing = set(definition.inputs) - set(feeds)
    if missing:
      raise ValueError(f"{self.model_dir}: signature {signature} needs inputs {sorted(missing)}")
    names = sorted(definition.outputs)
    values = self._session.run([definition.outputs[n].name for n in names],
                               {definition.inputs[k].name: v for k, v in feeds.items()})
    return dict(zip(names, values))

  def close(self) -> None:
    self._session.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


class Tf2Model:
  """The same SavedModel through tf.saved_model.load."""

  def __init__(self, model_dir: str):
    self.model_dir = model_dir
    self._loaded = tf.saved_model.load(model_dir)

  def run(self, signature: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    outputs = self._loaded.signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
    return {k: v.numpy() for k, v in outputs.items()}


def differences(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray]) -> list:
  """What differs between two signature results: keys, dtypes, shapes, then values (floats
  within RTOL/ATOL, everything else exactly)."""
  found = []
  if set(expected) != set(actual):
    found.append(f"outputs {sorted(actual)} != {sorted(expected)}")
  for key in sorted(set(expected) & set(actual)):
    a, b = np.asarray(expected[key]), np.asarray(actual[key])
    if a.shape != b.shape or a.dtype != b.dtype:
      found.append(f"{key}: {b.dtype}{list(b.shape)} != {a.dtype}{list(a.shape)}")
    elif np.issubdtype(a.dtype, np.floating):
      if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
        found.append(f"{key}: max |difference| {float(np.nanmax(np.abs(a - b))):.3g}")
    elif not np.array_equal(a, b):
      found.append(f"{key}: {int(np.sum(a != b))} of {a.size} values differ")
  return found


def max_abs_difference(expected: Mapping, actual: Mapping) -> float:
  diffs = [float(np.max(np.abs(np.asarray(expected[k], np.float64) - actual[k])))
           for k in expected if k in actual and np.issubdtype(np.asarray(expected[k]).dtype,
                                                              np.floating)
           and np.shape(expected[k]) == np.shape(actual[k]) and np.size(expected[k])]
  return max(diffs, default=0.0)


@dataclasses.dataclass
class CheckResult:
  ok: bool
  reason: str  # why not, or what was checked
  signatures: list  # the signatures run both ways
  max_abs_difference: float
  seconds: float


def feeds_for(inputs: Sequence[str], signature: str, texts: Sequence[str],
              examples: Sequence[bytes]) -> Optional[dict]:
  """The check's inputs of a signature, or None where it has none to give: `text` takes the raw
  texts, a signature without inputs (a vocabulary) runs as it is, and `from_examples` takes the
  serialized raw examples. Others (a decoder step, char windows) need another signature's outputs
  or another artifact, and are covered by the tests."""
  inputs = set(inputs)
  if not inputs:
    return {}
  if inputs == {"text"}:
    return {"text": np.array(texts, dtype=object)}
  if inputs == {"examples"} and signature == "from_examples" and examples:
    return {"examples": np.array(examples, dtype=object)}
  return None


def check(model_dir: str, texts: Sequence[str], examples: Sequence[bytes] = ()) -> CheckResult:
  """Loads model_dir with the session-based loader and tf.saved_model.load and requires equal
  outputs of serving_default on `texts` and of every other signature feeds_for can feed."""
  start = time.monotonic()

  def result(ok, reason, checked=(), diff=0.0):
    return CheckResult(ok, reason, list(checked), diff, round(time.monotonic() - start, 2))

  if not texts:
    return result(False, "no raw text to check the model with")
  try:
    session = SessionModel(model_dir)
  except Exception as e:  # pylint: disable=broad-except
    return result(False, f"the session-based loader (TF Serving's) cannot load it: "
                  f"{_first_line(e)}")
  with session:
    if "serving_default" not in session.signatures:
      return result(False, f"no serving_default signature (has {sorted(session.signatures)})")
    if set(session.inputs("serving_default")) != {"text"}:
      return result(False, "serving_default does not take raw strings as `text` (inputs "
                    f"{sorted(session.inputs('serving_default'))})")
    try:
      tf2 = Tf2Model(model_dir)
    except Exception as e:  # pylint: disable=broad-except
      return result(False, f"tf.saved_model.load cannot load it: {_first_line(e)}")
    checked, worst = [], 0.0
    for name in ["serving_default"] + sorted(set(session.signatures) - {"serving_default"}):
      feeds = feeds_for(session.inputs(name), name, texts, examples)
      if feeds is None:
        continue
      try:
        served = session.run(name, feeds)
      except Exception as e:  # pylint: disable=broad-except
        return result(False, f"signature {name} fails in the session-based loader: "
                      f"{_first_line(e)}", checked, worst)
      expected = tf2.run(name, feeds)
      problems = differences(expected, served)
      worst = max(worst, max_abs_difference(expected, served))
      if problems:
        return result(False, f"signature {name}: session outputs differ from the TF2 load's: "
                      + "; ".join(problems), checked, worst)
      checked.append(name)
  return result(True, f"{len(texts)} raw inputs through {', '.join(checked)}: session outputs "
                f"equal the TF2 load's (rtol {RTOL:g}, atol {ATOL:g})", checked, worst)
