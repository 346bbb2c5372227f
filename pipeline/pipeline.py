"""The TFX pipeline: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform
[-> GloveEmbedding, once, when a model uses GloVe] [SentenceEncoder, once per packaged encoder a
model reads], then per model: [the task's inputs, e.g.
CharWindows ->] Trainer -> (baseline Resolver) -> Evaluator, ServingCheck -> Pusher (pushes only a
model both bless).

The corpus (pipeline.corpora) says the task; the task (pipeline.tasks) says which ExampleGen reads
the corpus, what the Transform computes, what each model trains and is evaluated on and its
blessing gate; the model's family (trainers.families) says whose run_fn trains it and with which
parameters. Nothing here names a corpus, a task or a family. ServingCheck runs the candidate in
TF Serving's session-based loader on raw test inputs before the Pusher may publish it.

Caching: every component whose code TFX cannot see (a run_fn or preprocessing_fn named by module
path, our executors) carries a fingerprint of that code (components.fingerprint), so an edit
reruns what it affects and an unchanged rerun is fully cached.
"""
from __future__ import annotations

import os

from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_component, executor_spec

from components import fingerprint
from components.atomic_pusher import executor as atomic_pusher
from components.embedding_trainer.component import EmbeddingTrainer
from components.glove_embedding import sources as glove_sources
from components.sentence_encoder.component import SentenceEncoder
from components.serving_check.component import ServingCheck
from pipeline import corpora, tasks
from pipeline.config import ModelConfig, RunConfig
from trainers import families

BASELINE = "Baseline"  # the id prefix of each model's baseline resolver


def absolute(path: str) -> str:
  """An absolute local path; a URI (gs://..., s3://...) of a cluster setup is left as it is."""
  return path if "://" in path else os.path.abspath(path)


def _id(kind: str, model: ModelConfig) -> str:
  return f"{kind}.{model.name}"


def trainer_config(cfg: RunConfig, model: ModelConfig) -> dict:
  """The Trainer's custom_config: the family's parameters, what the pipeline and the task set,
  the family name (for the report) and the fingerprint of the family's code (for the cache).
  The gate and the seed figure are not in it: changing them keeps the trained model."""
  family = families.get(model.trainer)
  return {**model.params.model_dump(exclude=set(family.params.PIPELINE_KEYS)),
          **tasks.get(cfg.task).trainer_settings(cfg, model),
          "model_name": model.name, "seed": cfg.seed, "strategy": cfg.strategy.name,
          "cpu_devices": cfg.strategy.cpu_devices, "family": family.name,
          fingerprint.KEY: fingerprint.of_modules(family.module)}


def uses_glove(model: ModelConfig) -> bool:
  return families.get(model.trainer).uses_glove(model.params)


def uses_encoder(model: ModelConfig):
  """The SentenceEncoder source the model reads, or None."""
  return families.get(model.trainer).uses_encoder(model.params)


def glove_source(cfg: RunConfig, data_dir: str) -> str:
  """The package name as is; a file relative to the data dir."""
  source = cfg.glove_source
  if source == glove_sources.KUMO_PACKAGE or "://" in source or os.path.isabs(source):
    return source
  return absolute(os.path.join(data_dir, source))


def create_pipeline(cfg: RunConfig, data_dir: str) -> tfx.dsl.Pipeline:
  """The one pipeline every runner gets: LocalDagRunner (pipeline.runner), AirflowDagRunner
  (infra/airflow) and KubeflowV2DagRunner (pipeline.orchestrators)."""
  task = tasks.get(cfg.task)
  example_gen = task.example_gen(cfg, cfg.corpus_entry, str(data_dir))
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                        infer_feature_shape=True)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  transform = task.transform(cfg, example_gen, schema_gen)
  components = [example_gen, statistics_gen, schema_gen, example_validator, transform]
  glove = None
  if any(uses_glove(m) for m in cfg.models):
    glove = task.glove_embedding(transform, glove_source(cfg, data_dir))
    components.append(glove)
  encoders = {}
  for source in sorted({uses_encoder(m) for m in cfg.models} - {None}):
    encoders[source] = SentenceEncoder(source).with_id(f"SentenceEncoder.{source}")
    components.append(encoders[source])

  for model in cfg.models:
    inputs = task.model_inputs(cfg, model, example_gen, transform)
    components += inputs.components
    # Only models reading a GloVe matrix or a packaged encoder take the EmbeddingTrainer, so the
    # others' IR and cache stay as they were.
    extra = {**({"embedding": glove.outputs["embedding"]} if uses_glove(model) else {}),
             **({"encoder": encoders[uses_encoder(model)].outputs["encoder"]}
                if uses_encoder(model) else {})}
    trainer_class = EmbeddingTrainer if extra else tfx.components.Trainer
    trainer = trainer_class(
        run_fn=f"{families.get(model.trainer).module}.run_fn", **extra,
        examples=inputs.train,
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
    ).with_id(_id(BASELINE, model))
    evaluator = tfx.components.Evaluator(
        examples=inputs.eval, model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"], example_splits=["test"],
        eval_config=task.run_eval_config(cfg, model.gate, str(data_dir))).with_id(_id("Evaluator", model))
    serving_check = ServingCheck(
        model=trainer.outputs["model"], examples=example_gen.outputs["examples"],
        text_feature=task.serving_text_feature).with_id(_id("ServingCheck", model))
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=absolute(os.path.join(cfg.serving_dir, model.name)))),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    ).with_id(_id("Pusher", model))
    components += [trainer, baseline, evaluator, serving_check, pusher]

  for component in components:
    extra = cfg.component_beam_args(component.id)
    if extra and isinstance(component, base_beam_component.BaseBeamComponent):
      component.with_beam_pipeline_args(extra)
  # SQLite ML-Metadata beside a local output dir; an output dir in object storage is a Kubeflow
  # setup, where the cluster keeps ML-Metadata.
  metadata = None if "://" in cfg.output_dir else (
      tfx.orchestration.metadata.sqlite_metadata_connection_config(absolute(cfg.metadata_path)))
  return tfx.dsl.Pipeline(
      pipeline_name=cfg.pipeline_name,
      pipeline_root=absolute(cfg.pipeline_root),
      components=components,
      enable_cache=cfg.enable_cache,
      metadata_connection_config=metadata,
      beam_pipeline_args=cfg.beam_args())
