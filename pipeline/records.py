"""What ML-Metadata holds about a run: the latest execution of every node, its artifacts, and
the per-model rows (metric, blessing, serving check, pushed version) that the report, the
console and `textzoo models` show.
"""
from __future__ import annotations

import json
import os
from typing import Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from pipeline import tasks

DONE = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)


class RunRecords:
  """The latest finished execution of every pipeline node, with its input/output artifacts."""

  def __init__(self, metadata_path: str, states=DONE):
    """states: which finished executions count; (COMPLETE,) skips cache hits (for timings)."""
    if not os.path.exists(metadata_path):
      raise FileNotFoundError(f"{metadata_path}: no ML-Metadata store (has the pipeline run?)")
    config = metadata_store_pb2.ConnectionConfig(
        sqlite=metadata_store_pb2.SqliteMetadataSourceConfig(
            filename_uri=metadata_path,
            connection_mode=metadata_store_pb2.SqliteMetadataSourceConfig.READONLY))
    self.store = mlmd.MetadataStore(config)
    pipelines = [c.name for c in self.store.get_contexts_by_type("pipeline")]
    self.executions = {}
    for context in self.store.get_contexts_by_type("node"):
      # Node contexts are named "<pipeline name>.<node id>"; either may contain dots.
      prefix = next((p + "." for p in pipelines if context.name.startswith(p + ".")), "")
      done = [e for e in self.store.get_executions_by_context(context.id)
              if e.last_known_state in states]
      if done:
        self.executions[context.name[len(prefix):]] = max(done, key=lambda e: e.id)

  def artifacts(self, node: str, key: str, kind=metadata_store_pb2.Event.OUTPUT) -> list:
    execution = self.executions.get(node)
    if execution is None:
      return []
    ids = [e.artifact_id for e in self.store.get_events_by_execution_ids([execution.id])
           if e.type == kind and e.path.steps and e.path.steps[0].key == key]
    return self.store.get_artifacts_by_id(ids)

  def seconds(self, node: str) -> float:
    e = self.executions[node]
    return (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000

  def exec_property(self, node: str, name: str):
    value = self.executions[node].custom_properties.get(name)
    return None if value is None else value.string_value or value.int_value


def custom(artifact, name):
  value = artifact.custom_properties.get(name)
  if value is None:
    return None
  kind = value.WhichOneof("value")
  return getattr(value, kind) if kind in ("string_value", "int_value", "double_value") else None


def _load(evaluation_uri: str):
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  return tfma.load_eval_result(evaluation_uri)


def _metrics_of(result) -> dict:
  found = {}
  for sub_key, values in dict(result.slicing_metrics)[()][""].items():
    # sub_key: "" for a plain metric, "classId:<id>" for a binarized one (multi-class)
    found.update({k if not sub_key else f"{k}/{sub_key}": list(v.values())[0]
                  for k, v in values.items()})
  return found


def metrics(evaluation_uri: str) -> dict:
  return _metrics_of(_load(evaluation_uri))


def _confusion_of(result, values: dict, evaluation_uri: str) -> Optional[dict]:
  """{(actual class id, predicted class id): test examples} of a classifier's Evaluator run:
  TFMA's ConfusionMatrixAtThresholds at 0.5 (binary), or its MultiClassConfusionMatrixPlot
  (multi-class; predicted = the most probable class); None for another task's model."""
  binary = values.get("confusion_matrix_at_thresholds")
  if binary:
    [m] = binary["matrices"]
    return {(1, 1): int(m.get("truePositives", 0)), (0, 1): int(m.get("falsePositives", 0)),
            (0, 0): int(m.get("trueNegatives", 0)), (1, 0): int(m.get("falseNegatives", 0))}
  if not any(plots for _, plots in result.plots or []):  # evaluated against a baseline model
    import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
    result = tfma.load_eval_result(evaluation_uri, model_name=tfma.CANDIDATE_KEY)
  for slice_key, plots in result.plots or []:
    matrices = ((plots or {}).get("") or {}).get("", {}).get("multiClassConfusionMatrixAtThresholds")
    if slice_key == () and matrices:
      entries = matrices["matrices"][0].get("entries", [])
      return {(e.get("actualClassId", 0), e.get("predictedClassId", 0)):
              int(e.get("numWeightedExamples", 0)) for e in entries}
  return None


def class_names(records: RunRecords) -> Optional[list]:
  """The label vocabulary's classes of the run's Transform (None: a binary 0/1 label)."""
  graphs = records.artifacts("Transform", "transform_graph")
  if not graphs:
    return None
  import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
  from components import contract  # pylint: disable=import-outside-toplevel
  return contract.class_names(tft.TFTransformOutput(graphs[0].uri))


def _model_columns(config: dict) -> dict:
  """The leaderboard's task columns of one Trainer's model, from its custom_config (the family
  says what it reads, the family's task how it is scored)."""
  from trainers import common, families  # pylint: disable=import-outside-toplevel
  # runs before the family registry recorded `family`; their custom_config had `trainer`
  family = families.get(config.get("family") or config.get("trainer", "bow_mlp"))
  task = tasks.get(family.task)
  params = family.params.model_validate(
      {k: v for k, v in config.items() if k in family.params.model_fields
       and k not in common.BOOKKEEPING})
  return {"task": task.label, "feature": family.describe(params), "metric": task.metric,
          "lower_is_better": task.lower_is_better, "task_name": task.name}


def _json(path: str) -> Optional[dict]:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def model_rows(records: RunRecords, seed_figures: Optional[dict] = None) -> list[dict]:
  """seed_figures: model name -> the seed notebook's figure (from the run config)."""
  rows = []
  for node in sorted(n for n in records.executions if n.startswith("Trainer.")):
    name = node.split(".", 1)[1]
    config = json.loads(records.exec_property(node, "custom_config") or "{}")
    row = {"model": name, "seed": (seed_figures or {}).get(name), "epochs": config.get("epochs"),
           **_model_columns(config)}
    run_dirs = records.artifacts(node, "model_run")
    if run_dirs:
      summary = _json(os.path.join(run_dirs[0].uri, "history.json"))
      if summary:
        # The epochs run: early stopping ends a run before its configured budget.
        row.update(epochs=summary["epochs"],
                   train_seconds=summary["train_seconds"], best_epoch=summary["best_epoch"],
                   replicas=summary.get("replicas"),
                   trainer_test_loss=summary.get("test_loss_nats"))
      row["curves"] = os.path.join(run_dirs[0].uri, "training_curves.png")
      bleu = _json(os.path.join(run_dirs[0].uri, "bleu.json"))  # translators (trainers.translator)
      if bleu:
        row["bleu"] = bleu
    evaluations = records.artifacts(f"Evaluator.{name}", "evaluation")
    if evaluations:
      result = _load(evaluations[0].uri)  # one read of the Evaluator's output
      values = _metrics_of(result)
      if row["task_name"] == "classification":
        values["confusion"] = row["confusion"] = _confusion_of(result, values,
                                                               evaluations[0].uri)
      row.update(tasks.get(row["task_name"]).report_values(values),
                 examples=values.get("example_count"))
    blessings = records.artifacts(f"Evaluator.{name}", "blessing")
    row["blessed"] = bool(blessings and custom(blessings[0], "blessed"))
    checks = records.artifacts(f"ServingCheck.{name}", "blessing")
    if checks:
      row["serving_check"] = {"passed": bool(custom(checks[0], "blessed")),
                              "reason": custom(checks[0], "reason"),
                              "seconds": custom(checks[0], "seconds")}
    pushes = records.artifacts(f"Pusher.{name}", "pushed_model")
    row["pushed_version"] = (custom(pushes[0], "pushed_version")
                             if pushes and custom(pushes[0], "pushed") else None)
    rows.append(row)
  return rows


def window_counts(records: RunRecords) -> dict:
  """CharWindows node -> {mode, windows_<split>, chars_<split>}."""
  out = {}
  for node in sorted(n for n in records.executions if n.startswith("CharWindows.")):
    artifacts = records.artifacts(node, "windows")
    if artifacts:
      out[node] = {k: custom(artifacts[0], k) for k in artifacts[0].custom_properties}
  return out


def vocabulary_sizes(records: RunRecords) -> dict:
  graphs = records.artifacts("Transform", "transform_graph")
  if not graphs:
    return {}
  import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
  output = tft.TFTransformOutput(graphs[0].uri)
  vocab_dir = os.path.join(graphs[0].uri, "transform_fn", "assets")
  # Vocabulary files are <name> (text) or <name>.tfrecord.gz.
  names = sorted(n.split(".")[0] for n in os.listdir(vocab_dir)) if os.path.isdir(vocab_dir) else []
  return {n: output.vocabulary_size_by_name(n) for n in names}


def glove_coverage(records: RunRecords) -> Optional[dict]:
  """The GloveEmbedding step's coverage.json (found, vocabulary_size, coverage, source, ...)."""
  artifacts = records.artifacts("GloveEmbedding", "embedding")
  path = os.path.join(artifacts[0].uri, "coverage.json") if artifacts else ""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)
