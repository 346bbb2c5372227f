"""Read back from ML-Metadata and the artifacts: the key figure of each finished component (the
console's end-of-component line) and why a model was not pushed (the console, the run report and
`textzoo models`)."""
from __future__ import annotations

import json
import os
from typing import Optional

from pipeline import records as run_records


def _split_counts(uri: str) -> dict:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  counts = {}
  for folder in sorted(tf.io.gfile.glob(os.path.join(uri, "Split-*"))):
    files = tf.io.gfile.glob(os.path.join(folder, "*"))
    counts[os.path.basename(folder)[len("Split-"):]] = sum(
        1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
  return counts


def _counts_text(counts: dict) -> str:
  return ", ".join(f"{split} {n:,}".replace(",", " ") for split, n in counts.items())


def anomalies(records: run_records.RunRecords) -> dict:
  """split -> the ExampleValidator's anomalies (feature: description), empty when none."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2  # pylint: disable=import-outside-toplevel
  found = {}
  for artifact in records.artifacts("ExampleValidator", "anomalies"):
    for name in sorted(os.listdir(artifact.uri)) if os.path.isdir(artifact.uri) else []:
      path = os.path.join(artifact.uri, name, "SchemaDiff.pb")
      if not os.path.exists(path):
        continue
      proto = anomalies_pb2.Anomalies()
      with open(path, "rb") as f:
        proto.ParseFromString(f.read())
      found[name[len("Split-"):]] = {feature: info.short_description or info.description
                                     for feature, info in proto.anomaly_info.items()}
  return found


def _validation_failures(evaluation_uri: str) -> list[str]:
  """The Evaluator's failed thresholds: the bound, or the comparison with the baseline."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  result = tfma.load_validation_result(evaluation_uri)
  if result.validation_ok:
    return []
  metrics = run_records.metrics(evaluation_uri)
  out = []
  for per_slice in result.metric_validations_per_slice:
    for failure in per_slice.failures:
      name = failure.metric_key.name
      value = failure.metric_value.double_value.value
      if failure.metric_key.is_diff:
        candidate = metrics.get(name)
        baseline = None if candidate is None else candidate - value
        out.append(f"{name} {candidate:.4f} is worse than the blessed baseline's {baseline:.4f}"
                   if baseline is not None else f"{name} changed by {value:+.4f} from the "
                   "blessed baseline")
        continue
      bound = failure.metric_threshold.value_threshold
      if bound.HasField("lower_bound") and value < bound.lower_bound.value:
        out.append(f"{name} {value:.4f} is below its floor {bound.lower_bound.value:g}")
      elif bound.HasField("upper_bound") and value > bound.upper_bound.value:
        out.append(f"{name} {value:.4f} is above its ceiling {bound.upper_bound.value:g}")
      else:
        out.append(failure.message or f"{name} {value:.4f} failed its threshold")
  if not out and result.missing_thresholds:
    out.append("a gated metric was not computed")
  return out


def not_pushed_reason(records: run_records.RunRecords, model: str) -> Optional[str]:
  """Why the model's latest run was not pushed; None when it was (or has not reached the
  Pusher)."""
  pushes = records.artifacts(f"Pusher.{model}", "pushed_model")
  if not pushes or run_records.custom(pushes[0], "pushed"):
    return None
  reasons = []
  blessings = records.artifacts(f"Evaluator.{model}", "blessing")
  if blessings and not run_records.custom(blessings[0], "blessed"):
    evaluations = records.artifacts(f"Evaluator.{model}", "evaluation")
    failures = _validation_failures(evaluations[0].uri) if evaluations else []
    reasons.append("not blessed: " + ("; ".join(failures) or "see its Evaluator output"))
  checks = records.artifacts(f"ServingCheck.{model}", "blessing")
  if checks and not run_records.custom(checks[0], "blessed"):
    reasons.append("serving check failed: "
                   + str(run_records.custom(checks[0], "reason")))
  return "; ".join(reasons) or "not pushed"


def _artifact_file(records, node: str, key: str, name: str):
  """The text of file `name` in the node's newest `key` artifact; None when there is none."""
  artifacts = records.artifacts(node, key)
  path = os.path.join(artifacts[0].uri, name) if artifacts else ""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return f.read()


def _example_gen(records, node):
  artifacts = records.artifacts(node, "examples")
  return _counts_text(_split_counts(artifacts[0].uri)) + " examples" if artifacts else ""


def _schema(records, node):
  from tensorflow_metadata.proto.v0 import schema_pb2  # pylint: disable=import-outside-toplevel
  from google.protobuf import text_format  # pylint: disable=import-outside-toplevel
  text = _artifact_file(records, node, "schema", "schema.pbtxt")
  if text is None:
    return ""
  schema = text_format.Parse(text, schema_pb2.Schema())
  return f"{len(schema.feature)} features: {', '.join(f.name for f in schema.feature)}"


def _validator(records, node):
  found = anomalies(records)
  bad = {split: a for split, a in found.items() if a}
  if not bad:
    return f"no anomalies in {', '.join(found) or 'any split'}"
  return "ANOMALIES: " + "; ".join(f"{split}: " + ", ".join(f"{k} ({v})" for k, v in a.items())
                                   for split, a in bad.items())


def _transform(records, node):
  sizes = run_records.vocabulary_sizes(records)
  return "vocabularies " + ", ".join(f"{n} {s:,}".replace(",", " ") for n, s in sizes.items())


def _glove(records, node):
  glove = run_records.glove_coverage(records) or {}
  if "coverage" in glove:
    return (f"{glove['found']} of {glove['vocabulary_size']} words have a {glove['dim']}-d "
            f"vector ({100 * glove['coverage']:.1f} %)")
  return f"{glove.get('vocabulary_size', '?')} words, {glove.get('dim', '?')}-d"


def _windows(records, node):
  artifacts = records.artifacts(node, "windows")
  if not artifacts:
    return ""
  props = {k: run_records.custom(artifacts[0], k) for k in artifacts[0].custom_properties}
  return _counts_text({s: props[f"windows_{s}"] for s in ("train", "eval", "test")
                       if f"windows_{s}" in props}) + " windows"


def _trainer(records, node):
  text = _artifact_file(records, node, "model_run", "history.json")
  if text is None:
    return ""
  summary = json.loads(text)
  history, best = summary["history"], summary["best_epoch"]
  val = [k for k in history if k.startswith("val_") and k != "val_loss"] or ["val_loss"]
  figures = ", ".join(f"{k} {history[k][best - 1]:.4f}" for k in val[:2])
  return (f"{len(history.get('loss', []))} epochs in {summary['train_seconds']:.0f} s, best "
          f"epoch {best} ({figures}), {summary.get('replicas', 1)} replica(s)")


def _evaluator(records, node):
  model = node.split(".", 1)[1]
  rows = {r["model"]: r for r in run_records.model_rows(records)}
  row = rows.get(model, {})
  value = row.get("value")
  text = f"{row.get('metric', 'metric')} {value:.4f}" if value is not None else "no metric"
  if row.get("blessed"):
    return text + ", blessed"
  evaluations = records.artifacts(node, "evaluation")
  failures = _validation_failures(evaluations[0].uri) if evaluations else []
  return text + ", NOT blessed: " + ("; ".join(failures) or "see the Evaluator output")


def _serving_check(records, node):
  checks = records.artifacts(node, "blessing")
  if not checks:
    return ""

  passed = run_records.custom(checks[0], "blessed")
  return ("passed: " if passed else "FAILED: ") + str(run_records.custom(checks[0], "reason"))


def _pusher(records, node):
  model = node.split(".", 1)[1]
  pushes = records.artifacts(node, "pushed_model")
  if pushes and run_records.custom(pushes[0], "pushed"):
    return f"pushed as version {run_records.custom(pushes[0], 'pushed_version')}"
  return "not pushed: " + (not_pushed_reason(records, model) or "")


# What each kind of node reports when it ends (the part of its id before the model name).
_FIGURES = {"StatisticsGen": lambda r, n: "", "SchemaGen": _schema,
            "ExampleValidator": _validator, "Transform": _transform, "GloveEmbedding": _glove,
            "CharWindows": _windows, "Trainer": _trainer, "Evaluator": _evaluator,
            "ServingCheck": _serving_check, "Pusher": _pusher}


def node_figure(metadata_path: str, node: str) -> str:
  records = run_records.RunRecords(metadata_path)
  kind = node.split(".", 1)[0]
  if kind.endswith("ExampleGen"):
    return _example_gen(records, node)
  return _FIGURES.get(kind, lambda r, n: "")(records, node)


def previous_durations(metadata_path: str) -> dict:
  """node -> seconds of its latest COMPLETE (not cached) execution, {} before a first run."""
  from ml_metadata.proto import metadata_store_pb2  # pylint: disable=import-outside-toplevel
  if not os.path.exists(metadata_path):
    return {}
  records = run_records.RunRecords(metadata_path, states=(metadata_store_pb2.Execution.COMPLETE,))
  return {node: records.seconds(node) for node in records.executions}
