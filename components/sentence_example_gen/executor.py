"""Beam executor for SentenceExampleGen: corpus zip or generic source (sources.py) -> tf.Examples
in stratified train/eval/test.

The split (per unique text, stratified by label, seeded); a generic source whose layout names
splits (train/test files or folders) keeps them, and the steps below run within each layout split
(layout_fractions: the splits a layout lacks are cut from its train records):
  1. texts are normalised for comparison only (lowercase, whitespace runs -> one space, stripped);
     records with the same normalised text are one group, so exact duplicates always land in the
     same split (a per-line split puts copies on both sides and inflates test accuracy: the seed
     notebook's 99.1 % on UCI came from such a leaking split);
  2. a text seen with both labels is ambiguous: all of its records are dropped and counted;
  3. within each label, the groups are ordered by sha256("<seed>:<normalised text>") and cut at
     the cumulative fractions of the group count, so every split has the label balance of the
     whole, and the split depends only on the seed and the set of texts (not on file order,
     runner or machine). Every record of a group is kept (duplicates are not dropped).
Counts (duplicates, conflicts, records per split and label) go to Beam Metrics counters in the
`SentenceExampleGen` namespace and to one log line. Features: text (bytes), label (int64 for the
built-in formats, bytes for a generic source), what components/preprocessing.py reads.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import os
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

from components import routed_example_gen
from components.sentence_example_gen import reader, sources

SPLITS = routed_example_gen.SPLITS
_NAMESPACE = "SentenceExampleGen"


def normalise(text: str) -> str:
  return " ".join(text.lower().split())


def split_fractions(fractions: Sequence[float]) -> list[float]:
  fractions = [float(f) for f in fractions]
  if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
    raise ValueError(f"split_fractions must be 3 non-negative shares summing to 1 (train, eval, "
                     f"test), got {fractions}")
  return fractions


GENERIC_FRACTIONS = (0.8, 0.1, 0.1)


def params(exec_properties: Dict[str, Any]) -> dict:
  values = routed_example_gen.custom_params(exec_properties)
  source = dict(values["source"]) if values.get("source") else None
  fmt = "" if source else values.get("corpus_format", "uci_sentences")
  default = reader.get_format(fmt).split_fractions if fmt else GENERIC_FRACTIONS
  return {"corpus_format": fmt, "source": source,
          "split_fractions": split_fractions(values.get("split_fractions") or default),
          "split_seed": int(values.get("split_seed", 42))}


def layout_fractions(layout_split: str, layout_splits: Sequence[str],
                     fractions: Sequence[float]) -> list[float]:
  """The train/eval/test shares of the records a source's layout puts in layout_split ('' for
  none: the configured fractions). The layout's eval and test records stay where they are; its
  train records give each split the layout lacks its configured share of train + those splits
  (train and test files: eval gets 0.1 / (0.8 + 0.1) of train at the default 0.8/0.1/0.1)."""
  if not layout_split:
    return list(fractions)
  if layout_split != "train":
    return [float(layout_split == s) for s in SPLITS]
  shares = [f if s == "train" or s not in layout_splits else 0.0
            for s, f in zip(SPLITS, fractions)]
  return [f / sum(shares) for f in shares]


def _rank(seed: int, key: str) -> tuple[str, str]:
  return hashlib.sha256(f"{seed}:{key}".encode("utf-8")).hexdigest(), key


def cut(keys: Iterable[str], fractions: Sequence[float], seed: int) -> dict[str, str]:
  """Normalised texts of one label -> split: ordered by their seeded hash, cut at the cumulative
  fractions (rounded) of their count."""
  ordered = sorted(set(keys), key=lambda k: _rank(seed, k))
  n = len(ordered)
  train_end = round(n * fractions[0])
  eval_end = max(train_end, round(n * (fractions[0] + fractions[1])))
  return {k: ("train" if i < train_end else "eval" if i < eval_end else "test")
          for i, k in enumerate(ordered)}


def to_example(record: reader.Record) -> tf.train.Example:
  """text, and label: int64 for the built-in formats (0/1), the label's text for a generic
  source (the Transform gives it an id from its label vocabulary)."""
  label = tf.train.Feature(bytes_list=tf.train.BytesList(value=[record.label.encode("utf-8")])) \
      if isinstance(record.label, str) else \
      tf.train.Feature(int64_list=tf.train.Int64List(value=[record.label]))
  return tf.train.Example(features=tf.train.Features(feature={
      "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[record.text.encode("utf-8")])),
      "label": label}))


class _ReadZip(beam.DoFn):
  """One corpus zip, or a generic source -> its records (read by one worker: a few MB to a
  few hundred)."""

  def __init__(self, corpus_format: str, source: Optional[dict] = None):
    self._format, self._source = corpus_format, source
    self._counters = {name: beam.metrics.Metrics.counter(_NAMESPACE, name)
                      for name in ("lines", "records", "skipped_empty", "skipped_blank",
                                   "non_utf8_lines", "c1_repaired_lines")}

  def process(self, zip_path: str):
    stats = reader.ReadStats()
    if self._source:
      yield from sources.iter_records(sources.from_settings(self._source), stats)
    else:
      yield from reader.iter_records(zip_path, self._format, stats)
    for name, value in (("lines", stats.lines), ("records", sum(stats.records.values())),
                        ("skipped_empty", len(stats.empty)), ("skipped_blank", len(stats.blank)),
                        ("non_utf8_lines", len(stats.non_utf8)),
                        ("c1_repaired_lines", len(stats.c1_repaired))):
      self._counters[name].inc(value)


class _ResolveText(beam.DoFn):
  """(normalised text, its records) -> (label, (text, records)), or nothing when the text
  carries both labels (tagged output `conflict` then gets the count of its records)."""

  def __init__(self):
    self._dup_texts = beam.metrics.Metrics.counter(_NAMESPACE, "duplicate_texts")
    self._dup_lines = beam.metrics.Metrics.counter(_NAMESPACE, "duplicate_extra_lines")
    self._conflicts = beam.metrics.Metrics.counter(_NAMESPACE, "conflicting_texts")
    self._conflict_lines = beam.metrics.Metrics.counter(_NAMESPACE, "conflicting_lines_dropped")

  def process(self, element):
    key, records = element  # key: (layout split, normalised text)
    records = sorted(records, key=lambda r: (r.source, r.line))
    labels = collections.Counter(r.label for r in records)
    if len(labels) > 1:
      self._conflicts.inc()
      self._conflict_lines.inc(len(records))
      logging.warning("%s: text %r has labels %s at %s; dropped", _NAMESPACE, key[1][:80],
                      dict(labels), [f"{r.source}:{r.line}" for r in records[:5]])
      yield beam.pvalue.TaggedOutput("conflict", len(records))
      return
    if len(records) > 1:
      self._dup_texts.inc()
      self._dup_lines.inc(len(records) - 1)
    yield (records[0].split, records[0].label), (key[1], records)


class _CutLabel(beam.DoFn):
  """All groups of one (layout split, label) -> (split, record), and a summary of the label
  (tagged `summary`)."""

  def __init__(self, fractions: Sequence[float], seed: int):
    self._fractions, self._seed = list(fractions), seed

  def process(self, element, layout_splits):
    (layout_split, label), groups = element
    groups = list(groups)
    splits = cut((k for k, _ in groups), layout_fractions(layout_split, layout_splits,
                                                          self._fractions), self._seed)
    counts = collections.Counter()
    for key, records in groups:
      split = splits[key]
      counts[split] += len(records)
      for record in records:
        yield split, record
    for split in SPLITS:
      beam.metrics.Metrics.counter(_NAMESPACE, f"{split}_label{label}").inc(counts[split])
    yield beam.pvalue.TaggedOutput("summary", {
        "label": label, "texts": len(groups), "counts": dict(counts),
        "duplicate_texts": sum(len(r) > 1 for _, r in groups),
        "duplicate_extra_lines": sum(len(r) - 1 for _, r in groups)})


def merge_summaries(summaries: list) -> list:
  """One summary per label (a layout gives a label one summary per split it is in)."""
  merged = {}
  for s in summaries:
    m = merged.setdefault(s["label"], {"label": s["label"], "texts": 0, "counts": {},
                                       "duplicate_texts": 0, "duplicate_extra_lines": 0})
    for key in ("texts", "duplicate_texts", "duplicate_extra_lines"):
      m[key] += s[key]
    for split, n in s["counts"].items():
      m["counts"][split] = m["counts"].get(split, 0) + n
  return [merged[k] for k in sorted(merged, key=str)]


def log_summary(parts: list, zip_path: str) -> None:
  summaries = merge_summaries([p for p in parts if isinstance(p, dict)])
  conflicts = [p for p in parts if not isinstance(p, dict)]
  text = "; ".join(
      f"label {s['label']}: " + "/".join(str(s["counts"].get(x, 0)) for x in SPLITS)
      + f" train/eval/test records from {s['texts']} unique texts ({s['duplicate_texts']} "
      f"duplicated, {s['duplicate_extra_lines']} extra lines)" for s in summaries)
  logging.info("%s %s: %s; %d texts with both labels dropped (%d records)", _NAMESPACE, zip_path,
               text, len(conflicts), sum(conflicts))
  for split in SPLITS:
    if not sum(s["counts"].get(split, 0) for s in summaries):
      logging.warning("%s %s: split %r is empty", _NAMESPACE, zip_path, split)


@beam.ptransform_fn
def _ReadRecords(pipeline: beam.Pipeline, zip_path: str, corpus_format: str,  # pylint: disable=invalid-name
                 source: Optional[dict] = None):
  return (pipeline
          | "ZipPath" >> beam.Create([zip_path])
          | "ReadZip" >> beam.ParDo(_ReadZip(corpus_format, source))
          | "Spread" >> beam.Reshuffle())


@beam.ptransform_fn
def _SplitRecords(records, fractions: Sequence[float], seed: int, zip_path: str):  # pylint: disable=invalid-name
  """records -> (split, record), split as in the module docstring.

  GroupByKey on the label puts all texts of a label on one worker, in memory: fine for these
  corpora (tens of thousands of short texts). At scale, each text would get its split from its
  hash alone (bucket = hash mod 10 000 against the cumulative fractions), stratified in
  expectation rather than exactly, with no global ordering and no per-label shuffle.
  """
  resolved = (records
              | "ByText" >> beam.Map(lambda r: ((r.split, normalise(r.text)), r))
              | "GroupText" >> beam.GroupByKey()
              | "Resolve" >> beam.ParDo(_ResolveText()).with_output_types(Tuple[Any, Any])
          .with_outputs("conflict", main="texts"))
  layout_splits = (records
                   | "LayoutSplit" >> beam.Map(lambda r: r.split)
                   | "DistinctSplits" >> beam.Distinct()
                   | "SplitList" >> beam.combiners.ToList())
  cuts = (resolved.texts
          | "GroupLabel" >> beam.GroupByKey()
          | "Cut" >> beam.ParDo(_CutLabel(fractions, seed),
                                beam.pvalue.AsSingleton(layout_splits))
          .with_output_types(Tuple[str, Any])
          .with_outputs("summary", main="split"))
  _ = ((cuts.summary, resolved.conflict)
       | "SummaryParts" >> beam.Flatten()
       | "Gather" >> beam.combiners.ToList()
       | "Log" >> beam.Map(log_summary, zip_path))
  return cuts.split


@beam.ptransform_fn
@beam.typehints.with_output_types(tf.train.Example)
def _SentencesToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                        split_pattern: str):
  """All records as tf.Examples, unsplit. The base class requires this hook; Executor overrides
  GenerateExamplesByBeam and splits itself."""
  zip_path = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
  p = params(exec_properties)
  return (pipeline
          | "Read" >> _ReadRecords(zip_path, p["corpus_format"], p["source"])
          | "ToExample" >> beam.Map(to_example))


class Executor(BaseExampleGenExecutor):
  """Reads the zip once and routes each record to train, eval or test."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _SentencesToExample

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
    p = params(exec_properties)
    zip_path = routed_example_gen.source_path(exec_properties, _NAMESPACE, "zip")
    split = (pipeline
             | "Read" >> _ReadRecords(zip_path, p["corpus_format"], p["source"])
             | "Split" >> _SplitRecords(p["split_fractions"], p["split_seed"], zip_path))
    return routed_example_gen.route(split, to_example)
