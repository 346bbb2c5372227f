"""`textzoo report`: one Markdown page about a run, read from ML-Metadata and its artifacts.

Leaderboard (model, task, metric, value, seed figure, epochs, train time, pushed version),
training curves (PNG per model), vocabulary sizes and per-component wall times.
"""
from __future__ import annotations

import json
import math
import os
import shutil
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


def _custom(artifact, name):
  value = artifact.custom_properties.get(name)
  if value is None:
    return None
  kind = value.WhichOneof("value")
  return getattr(value, kind) if kind in ("string_value", "int_value", "double_value") else None


def _metrics(evaluation_uri: str) -> dict:
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  result = tfma.load_eval_result(evaluation_uri)
  overall = dict(result.slicing_metrics)[()][""][""]
  return {k: list(v.values())[0] for k, v in overall.items()}


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
        row.update(train_seconds=summary["train_seconds"], best_epoch=summary["best_epoch"],
                   replicas=summary.get("replicas"),
                   trainer_test_loss=summary.get("test_loss_nats"))
      row["curves"] = os.path.join(run_dirs[0].uri, "training_curves.png")
      bleu = _json(os.path.join(run_dirs[0].uri, "bleu.json"))  # translators (trainers.translator)
      if bleu:
        row["bleu"] = bleu
    evaluations = records.artifacts(f"Evaluator.{name}", "evaluation")
    if evaluations:
      metrics = _metrics(evaluations[0].uri)
      row.update(tasks.get(row["task_name"]).report_values(metrics),
                 examples=metrics.get("example_count"))
    blessings = records.artifacts(f"Evaluator.{name}", "blessing")
    row["blessed"] = bool(blessings and _custom(blessings[0], "blessed"))
    checks = records.artifacts(f"ServingCheck.{name}", "blessing")
    if checks:
      row["serving_check"] = {"passed": bool(_custom(checks[0], "blessed")),
                              "reason": _custom(checks[0], "reason"),
                              "seconds": _custom(checks[0], "seconds")}
    pushes = records.artifacts(f"Pusher.{name}", "pushed_model")
    row["pushed_version"] = (_custom(pushes[0], "pushed_version")
                             if pushes and _custom(pushes[0], "pushed") else None)
    rows.append(row)
  return rows


def window_counts(records: RunRecords) -> dict:
  """CharWindows node -> {mode, windows_<split>, chars_<split>}."""
  out = {}
  for node in sorted(n for n in records.executions if n.startswith("CharWindows.")):
    artifacts = records.artifacts(node, "windows")
    if artifacts:
      out[node] = {k: _custom(artifacts[0], k) for k in artifacts[0].custom_properties}
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


def _fmt(value, pattern="{:.4f}"):
  return "" if value is None else pattern.format(value)


def write(output_dir: str, report_dir: Optional[str] = None,
          seed_figures: Optional[dict] = None) -> str:
  """Writes <report_dir>/report.md (+ PNGs) for the run in output_dir; returns its path."""
  records = RunRecords(os.path.join(output_dir, "metadata.sqlite"))
  report_dir = report_dir or os.path.join(output_dir, "report")
  tmp = report_dir + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  from pipeline import figures, provenance  # pylint: disable=import-outside-toplevel
  rows = model_rows(records, seed_figures)
  made_with = provenance.describe()
  lines = ["# textzoo run report", "", f"Run: `{os.path.abspath(output_dir)}`", "",
           f"Report written with textzoo {made_with.pop('textzoo')} at git revision "
           f"`{made_with.pop('git')}`; " + ", ".join(f"{k} {v}" for k, v in made_with.items()),
           "",
           "## Leaderboard", "",
           "| model | task | feature | metric | value | seed figure | AUC / perplexity | "
           "epochs (best) | train s | replicas | blessed | pushed version |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]

  def rank(r):  # best first within each task
    value = r.get("value") if r.get("value") is not None else math.inf * (
        1 if r["lower_is_better"] else -1)
    return (r["task"], value if r["lower_is_better"] else -value)
  for r in sorted(rows, key=rank):
    lines.append(
        f"| {r['model']} | {r['task']} | {r['feature']} | {r['metric']} | "
        f"{_fmt(r.get('value'))} | {_fmt(r.get('seed'), '{:.3f}')} | "
        f"{_fmt(r.get('auc', r.get('perplexity')))} | "
        f"{r.get('epochs')} ({r.get('best_epoch', '')}) | {r.get('train_seconds', '')} | "
        f"{r.get('replicas', '')} | {'yes' if r['blessed'] else 'no'} | "
        f"{r['pushed_version'] or 'not pushed'} |")
  refused = [(r["model"], figures.not_pushed_reason(records, r["model"])) for r in rows
             if r["pushed_version"] is None]
  if refused:
    lines += ["", "## Not pushed, and why", "", "| model | why |", "|---|---|"]
    lines += [f"| {name} | {why or 'did not reach the Pusher'} |" for name, why in refused]
  found = figures.anomalies(records)
  if found:
    lines += ["", "## Data validation (ExampleValidator, against the inferred schema)", ""]
    lines += [f"- {split}: " + ("no anomalies" if not a else "; ".join(
        f"`{feature}`: {text}" for feature, text in a.items())) for split, a in found.items()]
  checked = [r for r in rows if r.get("serving_check")]
  if checked:
    lines += ["", "## Serving check (TF Serving's session-based loader)", "",
              "Before a push, each model is loaded as TF Serving loads it and its signatures "
              "run on raw test inputs; a model whose outputs differ from tf.saved_model.load's "
              "is not pushed.", "", "| model | passed | seconds | what was checked, or why not |",
              "|---|---|---|---|"]
    lines += [f"| {r['model']} | {'yes' if r['serving_check']['passed'] else 'NO'} | "
              f"{_fmt(r['serving_check']['seconds'], '{:.1f}')} | "
              f"{r['serving_check']['reason']} |" for r in checked]
  translators = [r for r in rows if r.get("bleu")]
  if translators:
    lines += ["", "## Translation: greedy and beam BLEU (Trainer, bleu.json)", "",
              "Corpus BLEU (sacrebleu) over unique test sources, every translation of a source a "
              "reference; the Evaluator's BLEU above is greedy over the whole test split.", "",
              "| model | sources | greedy BLEU | beam BLEU (width) | greedy s | beam s |",
              "|---|---|---|---|---|---|"]
    for r in translators:
      bleu = r["bleu"]
      beam = next((v for k, v in bleu.items() if k.startswith("beam")), {})
      lines.append(f"| {r['model']} | {bleu['sources']} | {bleu['greedy']['bleu']} | "
                   f"{beam.get('bleu')} ({beam.get('beam')}) | {bleu['greedy']['seconds']} | "
                   f"{beam.get('seconds')} |")
    best = max(translators, key=lambda r: r["bleu"]["greedy"]["bleu"])
    lines += ["", f"Samples of {best['model']}:", ""]
    for sample in best["bleu"]["samples"][:5]:
      decoded = "; ".join(f"{k}: {v}" for k, v in sample.items()
                          if k not in ("source", "references"))
      lines.append(f"- {sample['source']} → {decoded} (reference: {sample['references'][0]})")
  lines += ["", "## Training curves", ""]
  for r in rows:
    if r.get("curves") and os.path.exists(r["curves"]):
      png = f"curves_{r['model']}.png"
      shutil.copy(r["curves"], os.path.join(tmp, png))
      lines += [f"### {r['model']}", "", f"![{r['model']} training curves]({png})", ""]
  vocabularies = vocabulary_sizes(records)
  if vocabularies:
    lines += ["## Vocabularies", "", "| vocabulary | size (without OOV) |", "|---|---|"]
    lines += [f"| {name} | {size} |" for name, size in vocabularies.items()]
    lines.append("")
  glove = glove_coverage(records)
  if glove and glove.get("rows") == "source words":
    lines += ["## GloVe matrix", "",
              f"All {glove['vocabulary_size']} words of `{glove['source']}` ({glove['dim']}-d), "
              "for the model to look its words up in; the padding and unknown-word rows are "
              "zero.", ""]
  elif glove:
    lines += ["## GloVe matrix", "",
              f"{glove['found']} of {glove['vocabulary_size']} vocabulary words "
              f"({100 * glove['coverage']:.1f} %) have a {glove['dim']}-d vector in "
              f"`{glove['source']}`; the others (e.g. "
              f"{', '.join(glove.get('missing_sample', [])[:8])}) and the padding/OOV rows are "
              "zero.", ""]
  counts = window_counts(records)
  if counts:
    lines += ["## Character windows", "", "| node | mode | length | train | eval | test |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {node} | {c.get('mode')} | {c.get('length')} | {c.get('windows_train')} | "
              f"{c.get('windows_eval')} | {c.get('windows_test')} |" for node, c in counts.items()]
    lines.append("")
  lines += ["## Component wall times (ML-Metadata execution records)", "",
            "| component | seconds | state |", "|---|---|---|"]
  state_names = {v: k for k, v in metadata_store_pb2.Execution.State.items()}
  for node, execution in sorted(records.executions.items(), key=lambda kv: kv[1].id):
    lines.append(f"| {node} | {records.seconds(node):.1f} | "
                 f"{state_names[execution.last_known_state]} |")
  with open(os.path.join(tmp, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  shutil.rmtree(report_dir, ignore_errors=True)
  os.replace(tmp, report_dir)
  return os.path.join(report_dir, "report.md")


def leaderboard(output_dir: str, seed_figures: Optional[dict] = None) -> list[dict]:
  return model_rows(RunRecords(os.path.join(output_dir, "metadata.sqlite")), seed_figures)


