"""The TFX pipeline: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform,
then per model: Trainer -> (baseline Resolver) -> Evaluator -> Pusher."""
from __future__ import annotations

import dataclasses
import os

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from components.atomic_pusher import executor as atomic_pusher
from components.imdb_example_gen.component import ImdbExampleGen
from pipeline.config import ModelConfig, RunConfig

PREPROCESSING_FN = "components.preprocessing.preprocessing_fn"


def _id(kind: str, model: ModelConfig) -> str:
  return f"{kind}.{model.name}"


def eval_config(model: ModelConfig) -> tfma.EvalConfig:
  """Test-split metrics; blessed only above the accuracy floor and not worse than the baseline."""
  accuracy_gate = tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(lower_bound={"value": model.accuracy_floor}),
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10}))
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", label_key="label",
                                  prediction_key="probabilities", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="AUC"),
          tfma.MetricConfig(class_name="BinaryAccuracy", threshold=accuracy_gate),
      ])])


# Model settings that do not change training; kept out of the Trainer's custom_config so that
# changing them does not invalidate the Trainer's cache.
_NOT_FOR_TRAINER = ("name", "accuracy_floor", "seed_figure")


def trainer_config(cfg: RunConfig, model: ModelConfig) -> dict:
  return {**{k: v for k, v in dataclasses.asdict(model).items() if k not in _NOT_FOR_TRAINER},
          "model_name": model.name, "seed": cfg.seed, "strategy": cfg.strategy.name,
          "cpu_devices": cfg.strategy.cpu_devices}


def create_pipeline(cfg: RunConfig, data_dir: str) -> tfx.dsl.Pipeline:
  example_gen = ImdbExampleGen(input_base=str(data_dir), split_seed=cfg.seed,
                               eval_percent=cfg.eval_percent)
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                        infer_feature_shape=True)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
      preprocessing_fn=PREPROCESSING_FN,
      custom_config={"unigram_top_k": cfg.unigram_top_k, "bigram_top_k": cfg.bigram_top_k},
      # Only what the Trainers read: the Evaluator scores the raw test split through the
      # exported model, Transform graph included.
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=["train", "eval"]))
  components = [example_gen, statistics_gen, schema_gen, example_validator, transform]

  for model in cfg.models:
    trainer = tfx.components.Trainer(
        run_fn=f"trainers.{model.trainer}.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(splits=["train"]),
        eval_args=tfx.proto.EvalArgs(splits=["eval"]),
        custom_config=trainer_config(cfg, model)).with_id(_id("Trainer", model))
    # The baseline is the latest blessed model of this model's own Trainer/Evaluator, not of
    # any model in the pipeline.
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model,
                              producer_component_id=trainer.id, output_key="model"),
        model_blessing=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ModelBlessing,
            producer_component_id=_id("Evaluator", model), output_key="blessing"),
    ).with_id(_id("Baseline", model))
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"], example_splits=["test"],
        eval_config=eval_config(model)).with_id(_id("Evaluator", model))
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=os.path.abspath(os.path.join(cfg.serving_dir, model.name)))),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    ).with_id(_id("Pusher", model))
    components += [trainer, baseline, evaluator, pusher]

  return tfx.dsl.Pipeline(
      pipeline_name=cfg.pipeline_name,
      pipeline_root=os.path.abspath(cfg.pipeline_root),
      components=components,
      enable_cache=cfg.enable_cache,
      metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
          os.path.abspath(cfg.metadata_path)),
      beam_pipeline_args=cfg.beam_args())
