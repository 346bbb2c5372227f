"""Beam executor for TreebankExampleGen: treebank.zip, or a generic corpus's CoNLL files
(conll.py) -> one tf.Example per sentence, split.

Features: words, tags (bytes lists of the same length, in sentence order), sentence_id (bytes,
"wsj_0001.mrg:2": the member and the tree's 1-based position).

The split (seed 003's: one third test, then 10 % of the rest eval) is per sentence, from a seeded
hash of its id alone: u = sha256("<seed>:<sentence_id>") as a number in [0, 1); test when
u < test_fraction, else eval when the rest's share (u - test_fraction) / (1 - test_fraction) <
eval_fraction, else train. It depends only on the seed and the id (not on file order, runner or
worker), and the shares are exact in expectation (3 914 sentences: test 1 305 +- 30; seed 3 gives
train/eval/test 2 309 / 255 / 1 350 sentences, 55 084 / 6 328 / 32 672 words). Sentences of
one article can land in different splits, as in the seed's shuffled split of tagged_sents().
Counts (trees, -NONE- leaves dropped, sentences and tokens per split) go to Beam Metrics counters in
the `TreebankExampleGen` namespace and to one log line.
"""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Any, Dict, Optional

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

from components import routed_example_gen
from components.treebank_example_gen import conll, reader

SPLITS = routed_example_gen.SPLITS
_NAMESPACE = "TreebankExampleGen"
DEFAULTS = {"drop_none": True, "test_fraction": 1 / 3, "eval_fraction": 0.1, "split_seed": 3}


def params(exec_properties: Dict[str, Any]) -> dict:
  values = {**DEFAULTS, **routed_example_gen.custom_params(exec_properties)}
  columns = conll.Columns(int(values.get("word_column") or 0) or None,
                          int(values.get("tag_column") or 0) or None)
  return {**checked(values), "columns": columns if values.get("conll") else None}


def checked(values: Dict[str, Any]) -> dict:
  test, eval_ = float(values["test_fraction"]), float(values["eval_fraction"])
  if not (0 <= test < 1 and 0 <= eval_ < 1):
    raise ValueError(f"{_NAMESPACE}: test_fraction and eval_fraction must be in [0, 1), got "
                     f"{test} and {eval_}")
  return {"drop_none": bool(values["drop_none"]), "test_fraction": test, "eval_fraction": eval_,
          "split_seed": int(values["split_seed"])}


def assign_split(sentence_id: str, seed: int, test_fraction: float, eval_fraction: float) -> str:
  digest = hashlib.sha256(f"{seed}:{sentence_id}".encode("utf-8")).digest()
  u = int.from_bytes(digest[:8], "big") / 2.0 ** 64
  if u < test_fraction:
    return "test"
  return "eval" if (u - test_fraction) / (1 - test_fraction) < eval_fraction else "train"


def layout_split(sentence: reader.Sentence, layout: set, p: dict) -> str:
  """A CoNLL file's split kept; its train sentences give eval and test their shares by the hash
  when no file names those splits."""
  if not sentence.split:
    return assign_split(sentence.sentence_id, p["split_seed"], p["test_fraction"],
                        p["eval_fraction"])
  if sentence.split != "train":
    return sentence.split
  return assign_split(sentence.sentence_id, p["split_seed"],
                      0.0 if "test" in layout else p["test_fraction"],
                      0.0 if "eval" in layout else p["eval_fraction"])


def to_example(sentence: reader.Sentence) -> tf.train.Example:
  def strings(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[v.encode("utf-8") for v in values]))
  return tf.train.Example(features=tf.train.Features(feature={
      "words": strings(sentence.words), "tags": strings(sentence.tags),
      "sentence_id": strings([sentence.sentence_id])}))


class _ReadMember(beam.DoFn):
  """A member's name -> its sentences (each worker opens the zip itself)."""

  def __init__(self, zip_path: str, drop_none: bool):
    self._zip_path, self._drop_none = zip_path, drop_none
    self._counters = {name: beam.metrics.Metrics.counter(_NAMESPACE, name)
                      for name in ("trees", "none_dropped", "empty_skipped")}

  def process(self, member: str):
    stats = reader.ReadStats()
    yield from reader.iter_sentences(self._zip_path, member, self._drop_none, stats)
    for name in self._counters:
      self._counters[name].inc(getattr(stats, name))


class _ReadConll(beam.DoFn):
  """A CoNLL file's path -> its sentences."""

  def __init__(self, columns: conll.Columns):
    self._columns = columns

  def process(self, path: str):
    yield from conll.iter_file(path, self._columns)


class _Assign(beam.DoFn):

  def __init__(self, p: dict, layout: frozenset = frozenset()):
    self._p, self._layout = p, layout
    self._counters = {(s, k): beam.metrics.Metrics.counter(_NAMESPACE, f"{s}_{k}")
                      for s in SPLITS for k in ("sentences", "tokens")}

  def process(self, sentence: reader.Sentence):
    split = layout_split(sentence, self._layout, self._p)
    self._counters[(split, "sentences")].inc()
    self._counters[(split, "tokens")].inc(len(sentence.words))
    yield split, sentence


def log_counts(counts: list, zip_path: str) -> None:
  """counts: (split, (sentences, tokens)) pairs."""
  by_split = dict(counts)
  if not by_split:
    raise reader.TreebankError(f"{zip_path}: no sentences")
  logging.info("%s %s: %s", _NAMESPACE, zip_path, "; ".join(
      f"{s} {by_split.get(s, (0, 0))[0]} sentences ({by_split.get(s, (0, 0))[1]} tokens)"
      for s in SPLITS))
  for split in SPLITS:
    if split not in by_split:
      logging.warning("%s %s: split %r is empty", _NAMESPACE, zip_path, split)


@beam.ptransform_fn
def _ReadSentences(pipeline: beam.Pipeline, zip_path: str, drop_none: bool,  # pylint: disable=invalid-name
                   columns: Optional[conll.Columns] = None):
  """columns given: zip_path is a generic corpus's pattern of CoNLL files."""
  if columns is not None:
    return (pipeline
            | "Files" >> beam.Create(conll.files(zip_path))
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadConll" >> beam.ParDo(_ReadConll(columns)))
  return (pipeline
          | "Members" >> beam.Create(reader.members(zip_path))
          | "SpreadMembers" >> beam.Reshuffle()
          | "ReadMember" >> beam.ParDo(_ReadMember(zip_path, drop_none)))


@beam.ptransform_fn
@beam.typehints.with_output_types(tf.train.Example)
def _TreebankToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                       split_pattern: str):
  """All sentences as tf.Examples, unsplit. The base class requires this hook; Executor overrides
  GenerateExamplesByBeam and splits itself."""
  zip_path = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
  p = params(exec_properties)
  return (pipeline
          | "Read" >> _ReadSentences(zip_path, p["drop_none"], p["columns"])
          | "ToExample" >> beam.Map(to_example))


class Executor(BaseExampleGenExecutor):
  """Reads every member once and routes each sentence to train, eval or test."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _TreebankToExample

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
    p = params(exec_properties)
    zip_path = routed_example_gen.source_path(exec_properties, _NAMESPACE, "zip")
    layout = frozenset(conll.split_of_name(f) for f in conll.files(zip_path)) - {""} \
        if p["columns"] else frozenset()
    split = (pipeline
             | "Read" >> _ReadSentences(zip_path, p["drop_none"], p["columns"])
             | "Assign" >> beam.ParDo(_Assign(p, layout)))
    _ = (split
         | "SplitSizes" >> beam.Map(lambda kv: (kv[0], (1, len(kv[1].words))))
         | "SumPerSplit" >> beam.CombinePerKey(
             lambda pairs: tuple(sum(x) for x in zip(*pairs)) or (0, 0))
         | "Gather" >> beam.combiners.ToList()
         | "Log" >> beam.Map(log_counts, zip_path))
    return routed_example_gen.route(split, to_example)
