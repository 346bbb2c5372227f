"""Character language modelling (Tiny Shakespeare, Alice): a char vocabulary from
components.char_preprocessing; CharWindows cuts each model's (input, target) windows from the
transformed char ids; the Evaluator scores the test windows (nats/char, bits/char, perplexity);
blessed at perplexity_ceiling or below."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from pipeline import corpora, tasks


class Gate(tasks.Gate):
  perplexity_ceiling: float = Field(6.0, gt=0, description="not blessed above this test "
                                    "perplexity (per character)")


def _text_files(cfg, data_dir: str, pattern: str, gutenberg: bool = False):
  from components.text_example_gen.component import TextExampleGen  # pylint: disable=import-outside-toplevel
  return TextExampleGen(input_base=data_dir, pattern=pattern, gutenberg=gutenberg,
                        collapse_whitespace=cfg.text.collapse_whitespace,
                        split_fractions=cfg.text.split_fractions,
                        chunk_chars=cfg.text.chunk_chars)


def _generic_text(cfg, data_dir: str, path: str, **_):
  """A corpus mapping `{format: text, path: ...}`: the user's plain UTF-8 book(s)."""
  return _text_files(cfg, data_dir, path)


class CharLM(tasks.Task):
  name = "char_lm"
  label = "char LM"
  metric = "test nats/char"
  value_key = "cross_entropy"
  lower_is_better = True
  gate = Gate
  default_family = "char_rnn"
  preprocessing_module = "components.char_preprocessing"
  # CharWindows cuts windows of all three splits from the transformed char ids.
  transform_splits = ("train", "eval", "test")
  readers = {"text_files": _text_files, corpora.GENERIC_READER: _generic_text}

  def check(self, cfg) -> Optional[str]:
    fractions = cfg.text.split_fractions
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
      return f"text.split_fractions must be 3 positive shares summing to 1, got {fractions}"
    return None

  def transform_config(self, cfg) -> dict:
    return {"lowercase": cfg.text.lowercase}

  def model_inputs(self, cfg, model, example_gen, transform) -> tasks.ModelInputs:
    from components.char_windows.component import CharWindows  # pylint: disable=import-outside-toplevel
    windows = CharWindows(
        examples=transform.outputs["transformed_examples"],
        mode="stateful" if model.params.stateful else "stateless",
        length=cfg.text.window_length, stride=cfg.text.train_stride,
        batch_size=model.params.batch_size, seed=cfg.seed,
    ).with_id(f"CharWindows.{model.name}")
    return tasks.ModelInputs(train=windows.outputs["windows"], eval=windows.outputs["windows"],
                             components=[windows])

  def trainer_settings(self, cfg, model) -> dict:
    return {"window_length": cfg.text.window_length}

  def eval_config(self, gate: Gate):
    import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
    threshold = tasks.gate_threshold({"upper_bound": {"value": gate.perplexity_ceiling}},
                                     higher_is_better=False)
    module = "components.lm_metrics"
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="from_windows", model_type=tfma.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="CrossEntropy", module=module),
            tfma.MetricConfig(class_name="BitsPerChar", module=module),
            tfma.MetricConfig(class_name="Perplexity", module=module, threshold=threshold),
            tfma.MetricConfig(class_name="NextCharAccuracy", module=module),
        ])])

  def report_values(self, metrics: dict) -> dict:
    return {"value": metrics.get("cross_entropy"), "perplexity": metrics.get("perplexity"),
            "bits_per_char": metrics.get("bits_per_char"),
            "next_char_accuracy": metrics.get("next_char_accuracy")}


TASK = CharLM()
