"""The model families: one per trainer module, each declaring its task, typed parameters and how
the pipeline and the report see it (`FAMILY = families.Family(...)` at the module's end).

A run config's model entry names its family (`trainer: rnn_classifier`); the family's `params`
class (a common.TrainerParams) validates the entry's keys and values when the config loads, and
the Trainer's custom_config is exactly those parameters plus what the pipeline sets (model name,
seed, strategy, the task's settings). A family outside this package (a test's, a user's) joins
with register().
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Optional

# The families of this package: trainers/<name>.py, each with a FAMILY.
BUILTIN = ("bow_mlp", "rnn_classifier", "conv1d_classifier", "transformer_classifier",
           "hub_classifier", "char_rnn", "pos_tagger", "translator")


def _nothing(*_) -> None:
  return None


@dataclasses.dataclass(frozen=True)
class Family:
  name: str
  task: str                      # the pipeline task whose corpora it trains on (pipeline.tasks)
  params: type                   # its common.TrainerParams subclass
  module: str                    # the module whose run_fn the Trainer calls
  describe: Callable = _nothing  # params -> the report's short description of the input
  uses_glove: Callable = lambda params: False  # needs the GloveEmbedding matrix
  # params -> the SentenceEncoder source it reads (contract.PACKAGED_ENCODERS), or None
  uses_encoder: Callable = lambda params: None
  # (params, run config) -> an error text when the run's settings cannot feed this model
  check_run: Callable[..., Optional[str]] = _nothing
  transform_options: dict = dataclasses.field(default_factory=dict)  # what it needs of the
  # Transform (the hub encoder reads the standardised text: keep_text)


_REGISTERED: dict[str, Family] = {}


def register(family: Family) -> Family:
  _REGISTERED[family.name] = family
  return family


def names() -> list[str]:
  return list(BUILTIN) + [n for n in _REGISTERED if n not in BUILTIN]


def get(name: str) -> Family:
  if name in _REGISTERED:
    return _REGISTERED[name]
  if name not in BUILTIN:
    raise KeyError(f"unknown model family {name!r}; valid names: {', '.join(names())}")
  family = importlib.import_module(f"trainers.{name}").FAMILY
  _REGISTERED[name] = family
  return family


def of_task(task: str) -> list[str]:
  return [n for n in names() if get(n).task == task]
