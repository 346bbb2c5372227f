"""Beam executor for ParallelExampleGen: parallel-text zip -> tf.Examples in train/eval/test.

The split is by English source sentence, seeded: the source is normalised for comparison only
(lowercase, whitespace runs -> one space, stripped), hashed as sha256("<seed>:<normalised>"), and
the hash's bucket (its first 8 bytes mod 10 000) is compared with the cumulative split fractions.
All translations of one English sentence (the corpora give "Go." three Spanish ones) therefore
land in the same split, so no test source was seen in training with another translation, and
each pair's split depends only on the seed and its source (not on file order, runner or
machine). The fractions hold in expectation, not exactly (default 0.8/0.1/0.1).
Counts (lines, pairs, skips, pairs per split) go to Beam Metrics counters in the
`ParallelExampleGen` namespace and to one log line. Features: source, target (bytes).
"""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Any, Dict, Sequence

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

from components import routed_example_gen
from components.parallel_example_gen import reader
from components.sentence_example_gen import sources
from components.sentence_example_gen.executor import layout_fractions, normalise, split_fractions

SPLITS = routed_example_gen.SPLITS
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
_NAMESPACE = "ParallelExampleGen"
_BUCKETS = 10000


def params(exec_properties: Dict[str, Any]) -> dict:
  values = routed_example_gen.custom_params(exec_properties)
  return {"corpus_format": values.get("corpus_format", "spa_eng"),
          "plain_files": bool(values.get("plain_files", False)),
          "split_fractions": split_fractions(values.get("split_fractions") or DEFAULT_FRACTIONS),
          "split_seed": int(values.get("split_seed", 42))}


def split_of(source: str, fractions: Sequence[float], seed: int) -> str:
  digest = hashlib.sha256(f"{seed}:{normalise(source)}".encode("utf-8")).digest()
  bucket = int.from_bytes(digest[:8], "big") % _BUCKETS
  if bucket < round(fractions[0] * _BUCKETS):
    return "train"
  return "eval" if bucket < round((fractions[0] + fractions[1]) * _BUCKETS) else "test"


def to_example(pair: reader.Pair) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode("utf-8")]))
      for name, text in (("source", pair.source), ("target", pair.target))}))


class _ReadZip(beam.DoFn):
  """One zip -> its pairs (a zip is read by one worker; the larger one is 12 MB unpacked)."""

  def __init__(self, corpus_format: str, plain_files: bool = False):
    self._format, self._plain_files = corpus_format, plain_files
    self._counters = {name: beam.metrics.Metrics.counter(_NAMESPACE, name)
                      for name in ("lines", "pairs", "skipped_blank", "skipped_empty_side",
                                   "non_utf8_lines")}

  def process(self, zip_path: str):
    stats = reader.ReadStats()
    if self._plain_files:  # a generic `pairs` corpus: zip_path is the files' pattern
      yield from reader.iter_pair_files(
          sources.matching_files(zip_path, reader.ParallelCorpusError), stats)
    else:
      yield from reader.iter_pairs(zip_path, self._format, stats)
    for name, value in (("lines", stats.lines), ("pairs", stats.pairs),
                        ("skipped_blank", len(stats.blank)),
                        ("skipped_empty_side", len(stats.empty)),
                        ("non_utf8_lines", len(stats.non_utf8))):
      self._counters[name].inc(value)


class _AssignSplit(beam.DoFn):

  def __init__(self, fractions: Sequence[float], seed: int, layout: frozenset = frozenset()):
    self._fractions, self._seed, self._layout = list(fractions), seed, layout
    self._counters = {s: beam.metrics.Metrics.counter(_NAMESPACE, f"{s}_pairs") for s in SPLITS}

  def process(self, pair: reader.Pair):
    fractions = layout_fractions(pair.split, self._layout, self._fractions)  # a file's split
    split = split_of(pair.source, fractions, self._seed)
    self._counters[split].inc()
    yield split, pair


def log_counts(counts: list, zip_path: str) -> None:
  by_split = dict(counts)
  logging.info("%s %s: %s train/eval/test pairs", _NAMESPACE, zip_path,
               "/".join(str(by_split.get(s, 0)) for s in SPLITS))
  for split in SPLITS:
    if not by_split.get(split):
      logging.warning("%s %s: split %r is empty", _NAMESPACE, zip_path, split)


@beam.ptransform_fn
def _ReadPairs(pipeline: beam.Pipeline, zip_path: str, corpus_format: str,  # pylint: disable=invalid-name
               plain_files: bool = False):
  return (pipeline
          | "ZipPath" >> beam.Create([zip_path])
          | "ReadZip" >> beam.ParDo(_ReadZip(corpus_format, plain_files))
          | "Spread" >> beam.Reshuffle())


@beam.ptransform_fn
@beam.typehints.with_output_types(tf.train.Example)
def _PairsToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                    split_pattern: str):
  """All pairs as tf.Examples, unsplit. The base class requires this hook; Executor overrides
  GenerateExamplesByBeam and splits itself."""
  zip_path = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
  p = params(exec_properties)
  return (pipeline
          | "Read" >> _ReadPairs(zip_path, p["corpus_format"], p["plain_files"])
          | "ToExample" >> beam.Map(to_example))


class Executor(BaseExampleGenExecutor):
  """Reads the zip once and routes each pair to train, eval or test by its source's hash."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _PairsToExample

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
    p = params(exec_properties)
    zip_path = routed_example_gen.source_path(exec_properties, _NAMESPACE, "zip")
    layout = frozenset(sources.layout_of(sources.matching_files(
        zip_path, reader.ParallelCorpusError)).values()) - {""} if p["plain_files"] else frozenset()
    split = (pipeline
             | "Read" >> _ReadPairs(zip_path, p["corpus_format"], p["plain_files"])
             | "Split" >> beam.ParDo(_AssignSplit(p["split_fractions"], p["split_seed"],
                                                  layout)))
    _ = (split
         | "Count" >> beam.combiners.Count.PerKey()
         | "Gather" >> beam.combiners.ToList()
         | "Log" >> beam.Map(log_counts, zip_path))
    return routed_example_gen.route(split, to_example)
