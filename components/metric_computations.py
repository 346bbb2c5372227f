"""The one computation shape of textzoo's TFMA metrics: a Beam combiner over the model's
(unbatched) predictions, one per model and output, keyed by the metric's name."""
from __future__ import annotations

from tensorflow_model_analysis.metrics import metric_types


def per_key(combiner_class, name: str, model_name: str = "", output_name: str = "",
            example_weighted: bool = False) -> metric_types.MetricComputations:
  """For metric_util.merge_per_key_computations(functools.partial(per_key, CombinerClass)):
  CombinerClass(key) gets StandardMetricInputs with the default inputs (predictions included)."""
  key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                               example_weighted=example_weighted)
  return [metric_types.MetricComputation(
      keys=[key],
      preprocessors=[metric_types.StandardMetricInputsPreprocessor(
          include_default_inputs=True, model_names=[model_name] if model_name else None,
          output_names=[output_name] if output_name else None)],
      combiner=combiner_class(key))]
