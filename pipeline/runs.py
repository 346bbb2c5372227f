"""A run's models and artifacts by name, through its ML-Metadata: what `textzoo models` lists and
what `--run D --model NAME [--split S]` resolves to in the commands and scripts, so that nobody
copies `<run>/pipeline/Trainer.<model>/model/<id>/Format-Serving` paths by hand."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from pipeline import figures, records as run_records


class RunError(ValueError):
  pass


def _records(output_dir: str) -> run_records.RunRecords:
  path = os.path.join(output_dir, "metadata.sqlite")
  if not os.path.exists(path):
    raise RunError(f"{output_dir}: no ML-Metadata store (metadata.sqlite); is it a run's "
                   "output dir?")
  return run_records.RunRecords(path)


def _names(records: run_records.RunRecords) -> list[str]:
  return sorted(n.split(".", 1)[1] for n in records.executions if n.startswith("Trainer."))


def _check(records: run_records.RunRecords, output_dir: str, model: str) -> None:
  if f"Trainer.{model}" not in records.executions:
    raise RunError(f"{output_dir}: no model {model!r}; its models: "
                   f"{', '.join(_names(records)) or 'none'}")


def _trainer_export(records: run_records.RunRecords, model: str) -> Optional[str]:
  from tfx.utils import path_utils  # pylint: disable=import-outside-toplevel
  artifacts = records.artifacts(f"Trainer.{model}", "model")
  return path_utils.serving_model_path(artifacts[0].uri) if artifacts else None


def _serving_version(output_dir: str, model: str) -> Optional[str]:
  base = os.path.join(output_dir, "serving", model)
  versions = [v for v in os.listdir(base) if v.isdigit()] if os.path.isdir(base) else []
  return os.path.join(base, max(versions, key=int)) if versions else None


def model_path(output_dir: str, model: str) -> tuple[str, str]:
  """(path, what it is): the newest pushed version, else the latest Trainer export."""
  records = _records(output_dir)
  _check(records, output_dir, model)
  served = _serving_version(output_dir, model)
  if served:
    return served, f"pushed version {os.path.basename(served)}"
  export = _trainer_export(records, model)
  if not export:
    raise RunError(f"{output_dir}: model {model!r} has no Trainer export")
  return export, "the latest Trainer export (never pushed)"


def examples(output_dir: str, split: str) -> str:
  """The raw examples of a split (the ExampleGen's output) as a file pattern."""
  records = _records(output_dir)
  gens = [n for n in records.executions if n.endswith("ExampleGen")]
  artifacts = records.artifacts(gens[0], "examples") if gens else []
  if not artifacts:
    raise RunError(f"{output_dir}: no ExampleGen output")
  return _split(artifacts[0].uri, split, output_dir)


def char_lm_text(output_dir: str, model: str, split: str) -> str:
  """A char LM's text of a split as a file pattern: the examples its CharWindows read (the
  Transform's offset + char_ids chunks), whatever layout its windows have."""
  records = _records(output_dir)
  _check(records, output_dir, model)
  artifacts = records.artifacts(f"CharWindows.{model}", "examples",
                                kind=metadata_store_pb2.Event.INPUT)
  if not artifacts:
    raise RunError(f"{output_dir}: model {model!r} has no CharWindows (not a char LM)")
  return _split(artifacts[0].uri, split, output_dir)


def transform_graph(output_dir: str) -> str:
  artifacts = _records(output_dir).artifacts("Transform", "transform_graph")
  if not artifacts:
    raise RunError(f"{output_dir}: no Transform output")
  return artifacts[0].uri


def _split(uri: str, split: str, output_dir: str) -> str:
  folder = os.path.join(uri, f"Split-{split}")
  if not os.path.isdir(folder):
    found = sorted(d[len("Split-"):] for d in os.listdir(uri) if d.startswith("Split-"))
    raise RunError(f"{output_dir}: no split {split!r}; splits: {', '.join(found)}")
  return os.path.join(folder, "*")


def models(output_dir: str) -> list[dict]:
  """One row per model of the run: metric, blessed, pushed version, serving path, Trainer
  export, and why not pushed."""
  records = _records(output_dir)
  rows = []
  for row in run_records.model_rows(records):
    name = row["model"]
    rows.append({"model": name, "metric": row.get("metric"), "value": row.get("value"),
                 "blessed": row["blessed"], "pushed_version": row["pushed_version"],
                 "serving_path": _serving_version(output_dir, name),
                 "trainer_export": _trainer_export(records, name),
                 "why_not_pushed": figures.not_pushed_reason(records, name)})
  return rows


def add_arguments(parser: argparse.ArgumentParser, model_help: str, split: bool = False,
                  model_required: bool = True) -> None:
  """--model (a path; with --run, a model name) and --run [and --split]."""
  parser.add_argument("--model", required=model_required, help=model_help + "; with --run, "
                      "the model's name")
  parser.add_argument("--run", help="a run's output dir: --model is then a model name, resolved "
                      "through its ML-Metadata (the pushed version, else the Trainer export)")
  if split:
    parser.add_argument("--split", default="test", help="with --run: the split (default test)")


def resolve_model(args) -> str:
  """args.model as a path: itself, or (with --run) the named model's, said on stderr."""
  if not getattr(args, "run", None):
    return args.model
  path, what = model_path(args.run, args.model)
  print(f"{args.model}: {what}: {path}", file=sys.stderr)
  return path
