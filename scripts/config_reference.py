"""Writes docs/config.md, the run-config reference, from the schemas themselves: pipeline.config's
sections, each task's gate keys (pipeline.tasks) and each family's parameters
(trainers.families). tests/test_docs.py fails when the committed file is not what this writes.

  .venv/bin/python scripts/config_reference.py            # rewrites docs/config.md
"""
from __future__ import annotations

import os
import sys
import types
import typing

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import annotated_types  # noqa: E402
import pydantic  # noqa: E402

from pipeline import config, corpora, tasks  # noqa: E402
from trainers import families  # noqa: E402

OUTPUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                      "config.md")
_BOUNDS = {annotated_types.Ge: ">=", annotated_types.Gt: ">", annotated_types.Le: "<=",
           annotated_types.Lt: "<"}


def _type(annotation) -> str:
  origin, args = typing.get_origin(annotation), typing.get_args(annotation)
  if origin is typing.Literal:
    return "one of " + ", ".join(f"`{a}`" for a in args)
  if origin in (typing.Union, types.UnionType):
    return " or ".join("null" if a is type(None) else _type(a) for a in args)
  if origin is list:
    return f"list of {_type(args[0])}" if args else "list"
  if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
    return "mapping"
  return getattr(annotation, "__name__", str(annotation))


def _bounds(field) -> str:
  parts = [f"{sign} {getattr(m, next(iter(m.__dataclass_fields__)))}"
           for m in field.metadata for kind, sign in _BOUNDS.items() if isinstance(m, kind)]
  return f" ({', '.join(parts)})" if parts else ""


def _default(field) -> str:
  if field.is_required():
    return "required"
  value = field.default_factory() if field.default_factory else field.default
  if isinstance(value, pydantic.BaseModel):
    return "see below"
  return "null" if value is None else f"`{value}`"


def _table(model, keys=None) -> list[str]:
  rows = ["| key | type | default | |", "|---|---|---|---|"]
  for name, field in model.model_fields.items():
    if keys is not None and name not in keys:
      continue
    rows.append(f"| `{name}` | {_type(field.annotation)}{_bounds(field)} | {_default(field)} | "
                f"{(field.description or '').replace('|', '/')} |")
  return rows


def reference() -> str:
  lines = ["# Run config reference", "",
           "Generated from the schemas by `scripts/config_reference.py`; do not edit by hand. "
           "A run config is a YAML file (or a packaged one: "
           f"{', '.join(f'`{n}`' for n in config.packaged_configs())}). Every value is typed: "
           "a wrong type, an unknown key or an unknown name is an error naming the file, the "
           "model and the key, at load time (`textzoo check`).", "",
           "## Run settings", ""] + _table(config.RunConfig)
  for name, model in (("strategy", config.StrategyConfig), ("beam", config.BeamConfig),
                      ("beam.flink", config.FlinkConfig), ("beam.spark", config.SparkConfig),
                      ("beam.dataflow", config.DataflowConfig), ("text", config.TextConfig),
                      ("airflow", config.AirflowConfig)):
    lines += ["", f"### `{name}`", ""] + _table(model)
  lines += ["", "### `corpus` as a mapping: your own files", "",
            "`corpus: {format: csv, path: tickets.csv, text: body, label: team}` reads the "
            "user's files; the format implies the task. A classification corpus's labels are "
            "classes (a TFT label vocabulary, softmax heads, TFMA accuracy and confusion matrix).", ""] + _table(
                config.GenericCorpusConfig)
  lines += ["", "## Corpora and tasks", "",
            "`corpus` names one of these; its task decides the gate keys and the families a "
            "model entry may use.", "", "| corpus | task | files |", "|---|---|---|"]
  lines += [f"| `{c}` | {corpora.get_corpus(c).task} | "
            f"{', '.join(f.name for f in corpora.get_corpus(c).files)} |"
            for c in corpora.training_corpora()]
  lines += ["", "## Model entries", "",
            f"Every entry has {', '.join(f'`{k}`' for k in config.MODEL_KEYS)} "
            "(`trainer`: the family; default: the task's), its task's gate keys and its "
            "family's parameters; nothing else."]
  for task_name in tasks.names():
    task = tasks.get(task_name)
    lines += ["", f"### Task `{task_name}`: gate keys", ""] + _table(task.gate)
    for family_name in families.of_task(task_name):
      family = families.get(family_name)
      default = " (the default)" if family_name == task.default_family else ""
      summary = (sys.modules[family.module].__doc__ or "").strip().split("\n\n")[0]
      lines += ["", f"#### Family `{family_name}`{default}", "",
                f"`{family.module}`: {' '.join(summary.split())}", ""] + _table(
                    family.params, family.params.user_keys())
  return "\n".join(lines) + "\n"


def main() -> int:
  os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
  with open(OUTPUT, "w") as f:
    f.write(reference())
  print(OUTPUT)
  return 0


if __name__ == "__main__":
  sys.exit(main())
