"""The TFMA metric of the translators: sacrebleu corpus BLEU of greedy decoding over the evaluated
pairs, from the `translation`, `source` and `reference` strings that the translator's
`from_examples` signature returns (trainers.translator_serving).

As in the Trainer's bleu.json (trainers.translator.evaluate_bleu): one segment per unique source
sentence, every target of that source a reference (Tatoeba often has several translations of one
sentence). Used as MetricConfig(class_name="MultiReferenceBleu",
module="components.translation_metrics"); computed per model, so a baseline model gets its own
value (for change thresholds).

Not TFMA's own `Bleu`: it scores every example as a segment of its own with the example's label
as the only reference, so a source with three translations would be three segments, and a
correct translation matching one of them would be scored against the other two as well.
"""
from __future__ import annotations

import functools
from typing import Dict, Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from components import bleu, metric_computations

KEYS = ("translation", "source", "reference")


def _text(value) -> str:
  """One example's string (TFMA unbatches before the metrics: arrays of one value)."""
  value = np.asarray(value).reshape(-1)
  if value.size != 1:
    raise ValueError(f"Bleu expects one string per example, got {value.size}")
  value = value[0]
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class _BleuCombiner(beam.CombineFn):
  """Accumulator: source -> [hypothesis, [references]]."""

  def __init__(self, key: metric_types.MetricKey):
    self._key = key

  def create_accumulator(self) -> dict:
    return {}

  def add_input(self, acc: dict, element: metric_types.StandardMetricInputs) -> dict:
    predictions = element.get_predictions(self._key.model_name, self._key.output_name)
    if not isinstance(predictions, dict) or not set(KEYS) <= set(predictions):
      raise ValueError(f"Bleu needs the predictions {list(KEYS)} (the translator's "
                       "from_examples signature); got "
                       f"{sorted(predictions) if isinstance(predictions, dict) else predictions}")
    source = _text(predictions["source"])
    entry = acc.setdefault(source, [_text(predictions["translation"]), []])
    entry[1].append(_text(predictions["reference"]))
    return acc

  def merge_accumulators(self, accumulators: Iterable[dict]) -> dict:
    merged: dict = {}
    for acc in accumulators:
      for source, (hypothesis, references) in acc.items():
        merged.setdefault(source, [hypothesis, []])[1].extend(references)
    return merged

  def extract_output(self, acc: dict) -> Dict[metric_types.MetricKey, float]:
    if not acc:
      return {self._key: float("nan")}
    sources = sorted(acc)
    score = bleu.corpus_bleu([acc[s][0] for s in sources],
                                  [sorted(acc[s][1]) for s in sources])
    return {self._key: float(score.score)}


class MultiReferenceBleu(metric_types.Metric):
  """Corpus BLEU (0-100) of the greedy translations: the translators' blessing metric."""

  def __init__(self, name: str = "bleu"):
    super().__init__(metric_util.merge_per_key_computations(
        functools.partial(metric_computations.per_key, _BleuCombiner)), name=name)


metric_types.register_metric(MultiReferenceBleu)
