"""TFMA metrics of the language models, computed from the per-window means that a char LM's
`from_windows` signature returns: `cross_entropy` (nats per character) and `next_char_accuracy`
(the share of characters that were the most probable next one).

Every window has the same number of characters, so the mean over windows is the mean over
characters. Used as MetricConfig(class_name="Perplexity", module="components.lm_metrics");
computed per model, so a baseline model gets its own value (for change thresholds).
"""
from __future__ import annotations

import functools
import math
from typing import Dict, Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from components import metric_computations

PREDICTION_KEY = "cross_entropy"
ACCURACY_KEY = "next_char_accuracy"
# unit -> (the from_windows output it averages, the function of that mean it reports)
_UNITS = {"nats": (PREDICTION_KEY, lambda x: x),
          "bits": (PREDICTION_KEY, lambda x: x / math.log(2)),
          "exp": (PREDICTION_KEY, math.exp),
          "accuracy": (ACCURACY_KEY, lambda x: x)}


class _MeanOutput(beam.CombineFn):

  def __init__(self, key: metric_types.MetricKey, unit: str):
    self._key, self._unit = key, unit
    self._output, self._transform = _UNITS[unit]

  def create_accumulator(self):
    return [0.0, 0]

  def add_input(self, acc, element: metric_types.StandardMetricInputs):
    predictions = element.get_predictions(self._key.model_name, self._key.output_name)
    if isinstance(predictions, dict):  # several outputs: pick ours
      predictions = predictions[self._output]
    values = np.asarray(predictions, np.float64).reshape(-1)
    acc[0] += float(values.sum())
    acc[1] += int(values.size)
    return acc

  def merge_accumulators(self, accumulators: Iterable[list]):
    total, count = 0.0, 0
    for t, c in accumulators:
      total, count = total + t, count + c
    return [total, count]

  def extract_output(self, acc) -> Dict[metric_types.MetricKey, float]:
    mean = acc[0] / acc[1] if acc[1] else float("nan")
    return {self._key: self._transform(mean)}


def _computations(unit: str):
  return metric_util.merge_per_key_computations(functools.partial(
      metric_computations.per_key, functools.partial(_MeanOutput, unit=unit)))


class CrossEntropy(metric_types.Metric):
  """Mean cross-entropy in nats per character."""

  def __init__(self, name: str = "cross_entropy"):
    super().__init__(_computations("nats"), name=name)


class BitsPerChar(metric_types.Metric):
  """Mean cross-entropy in bits per character."""

  def __init__(self, name: str = "bits_per_char"):
    super().__init__(_computations("bits"), name=name)


class Perplexity(metric_types.Metric):
  """exp(mean cross-entropy in nats per character): the blessing metric, lower is better."""

  def __init__(self, name: str = "perplexity"):
    super().__init__(_computations("exp"), name=name)


class NextCharAccuracy(metric_types.Metric):
  """The share of test characters that were the model's most probable next character (seed 002
  reports it beside the loss)."""

  def __init__(self, name: str = "next_char_accuracy"):
    super().__init__(_computations("accuracy"), name=name)


for _metric in (CrossEntropy, BitsPerChar, Perplexity, NextCharAccuracy):
  metric_types.register_metric(_metric)
