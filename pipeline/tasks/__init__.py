"""The pipeline's tasks (seqio's task registry is the model): classification, char_lm, tagging,
translation, one module each. A task says how a corpus of its kind becomes examples (its
readers: a corpus entry names one, pipeline.corpora), what its Transform computes, what each
model trains and is evaluated on, how it is gated (the model-entry keys of its `Gate`) and how
the report shows it. Model families declare their task (trainers.families).

pipeline.pipeline, pipeline.config and pipeline.report go through this interface only; a task
outside this package joins with register().
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Optional

import pydantic

from components import fingerprint

BUILTIN = ("classification", "char_lm", "tagging", "translation")


class Gate(pydantic.BaseModel):
  """A task's blessing keys of a model entry (the Evaluator's thresholds), typed."""
  model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


@dataclasses.dataclass
class ModelInputs:
  """What a model's Trainer trains on and its Evaluator scores, and the components that make
  them (CharWindows for a char LM)."""
  train: Any
  eval: Any
  components: list = dataclasses.field(default_factory=list)


class Task:
  name: str = ""
  label: str = ""                 # the report's task column
  metric: str = ""                # the report's metric column
  value_key: str = ""             # the TFMA metric shown as the model's value
  lower_is_better: bool = False
  gate: type = Gate
  default_family: str = ""        # a model entry without `trainer`
  serving_text_feature: str = "text"  # the raw ExampleGen feature serving_default takes
  preprocessing_module: str = ""  # the Transform's preprocessing_fn module
  transform_splits: tuple = ("train", "eval")
  # reader name (a corpus entry's `reader`) -> (cfg, data_dir, **corpus settings) -> ExampleGen
  readers: dict = {}

  def check(self, cfg) -> Optional[str]:
    """An error text when the run's task settings are inconsistent."""
    return None

  def example_gen(self, cfg, corpus, data_dir: str):
    if corpus.reader not in self.readers:
      raise ValueError(f"corpus {corpus.name}: task {self.name} has no reader {corpus.reader!r}; "
                       f"valid readers: {', '.join(self.readers)}")
    return self.readers[corpus.reader](cfg, data_dir, **dict(corpus.settings))

  def transform_config(self, cfg) -> dict:
    return {}

  def transform(self, cfg, example_gen, schema_gen):
    from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
    custom = {**self.transform_config(cfg),
              fingerprint.KEY: fingerprint.of_modules(self.preprocessing_module)}
    # disable_statistics: no pre- and post-transform statistics. StatisticsGen has the raw
    # splits' already, and nothing here reads those of the transformed features.
    return tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        preprocessing_fn=f"{self.preprocessing_module}.preprocessing_fn", custom_config=custom,
        splits_config=tfx.proto.SplitsConfig(analyze=["train"],
                                             transform=list(self.transform_splits)),
        disable_statistics=True)

  def glove_embedding(self, transform, source: str):
    """The GloVe matrix of the Transform's word vocabulary (a task may choose other rows)."""
    from components.glove_embedding.component import GloveEmbedding  # pylint: disable=import-outside-toplevel
    return GloveEmbedding(transform_graph=transform.outputs["transform_graph"], source=source)

  def model_inputs(self, cfg, model, example_gen, transform) -> ModelInputs:
    """Default: the Trainer reads the transformed examples, the Evaluator the raw ones through
    the exported model (Transform graph included)."""
    return ModelInputs(train=transform.outputs["transformed_examples"],
                       eval=example_gen.outputs["examples"])

  def trainer_settings(self, cfg, model) -> dict:
    """Pipeline-set parameters of the family (its PIPELINE_KEYS beyond the common ones)."""
    return {}

  def eval_config(self, gate):
    raise NotImplementedError

  def run_eval_config(self, cfg, gate, data_dir: str):
    """The Evaluator's config for a model of this run (a task whose metrics depend on the data,
    as a multi-class corpus's per-class metrics do, overrides this)."""
    return self.eval_config(gate)

  def report_values(self, metrics: dict) -> dict:
    """The leaderboard's figures from the Evaluator's overall metrics."""
    return {"value": metrics.get(self.value_key)}


_REGISTERED: dict[str, Task] = {}


def register(task: Task) -> Task:
  _REGISTERED[task.name] = task
  return task


def names() -> list[str]:
  return list(BUILTIN) + [n for n in _REGISTERED if n not in BUILTIN]


def get(name: str) -> Task:
  if name in _REGISTERED:
    return _REGISTERED[name]
  if name not in BUILTIN:
    raise KeyError(f"unknown task {name!r}; valid names: {', '.join(names())}")
  task = importlib.import_module(f"pipeline.tasks.{name}").TASK
  _REGISTERED[name] = task
  return task


def gate_threshold(value_bound: dict, higher_is_better: bool = True):
  """Blessed only within value_bound and not worse than the baseline (the latest blessed model
  of the same name)."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  return tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(**value_bound),
      change_threshold=tfma.GenericChangeThreshold(
          direction=(tfma.MetricDirection.HIGHER_IS_BETTER if higher_is_better
                     else tfma.MetricDirection.LOWER_IS_BETTER),
          absolute={"value": -1e-10 if higher_is_better else 1e-10}))


def counted_metric_config(class_name: str, module: str, threshold):
  """An EvalConfig of one custom metric over the from_examples signature's outputs."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name=class_name, module=module, threshold=threshold)])])
