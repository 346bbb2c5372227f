"""The TFMA metric of the POS tagger: token accuracy over real words, from the per-sentence counts
(`correct`, `tokens`) that the tagger's `from_examples` signature returns (trainers.pos_tagger).

Summed over sentences, so a long sentence weighs by its words (not a mean of sentence
accuracies); words past the model's sequence length count as wrong. Used as
MetricConfig(class_name="TokenAccuracy", module="components.tagger_metrics"); computed per model,
so a baseline model gets its own value (for change thresholds).
"""
from __future__ import annotations

import functools
from typing import Dict, Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from components import metric_computations

CORRECT_KEY, TOKENS_KEY = "correct", "tokens"


class _TokenAccuracyCombiner(beam.CombineFn):

  def __init__(self, key: metric_types.MetricKey):
    self._key = key

  def create_accumulator(self):
    return [0.0, 0.0]

  def add_input(self, acc, element: metric_types.StandardMetricInputs):
    predictions = element.get_predictions(self._key.model_name, self._key.output_name)
    if not isinstance(predictions, dict) or not {CORRECT_KEY, TOKENS_KEY} <= set(predictions):
      raise ValueError(f"TokenAccuracy needs the predictions {CORRECT_KEY!r} and {TOKENS_KEY!r} "
                       "(the tagger's from_examples signature); got "
                       f"{sorted(predictions) if isinstance(predictions, dict) else predictions}")
    acc[0] += float(np.sum(predictions[CORRECT_KEY]))
    acc[1] += float(np.sum(predictions[TOKENS_KEY]))
    return acc

  def merge_accumulators(self, accumulators: Iterable[list]):
    correct, tokens = 0.0, 0.0
    for c, t in accumulators:
      correct, tokens = correct + c, tokens + t
    return [correct, tokens]

  def extract_output(self, acc) -> Dict[metric_types.MetricKey, float]:
    return {self._key: acc[0] / acc[1] if acc[1] else float("nan")}


class TokenAccuracy(metric_types.Metric):
  """Correctly tagged words / words over the evaluated sentences: the blessing metric."""

  def __init__(self, name: str = "token_accuracy"):
    super().__init__(metric_util.merge_per_key_computations(
        functools.partial(metric_computations.per_key, _TokenAccuracyCombiner)), name=name)


metric_types.register_metric(TokenAccuracy)
