"""Beam executor for ImdbExampleGen: tarball -> tf.Examples routed to train/eval/test."""
from __future__ import annotations

import hashlib
import os
from typing import Any, Dict

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

from components import routed_example_gen
from components.imdb_example_gen import reader

def assign_split(review: reader.Review, seed: int, eval_percent: int) -> str:
  """Upstream test -> test. Upstream train -> eval when sha256("<seed>:<id>") mod 100 < eval_percent.

  The hash depends only on the seed and the review id, so the split is the same on every run,
  machine and runner, and does not depend on file order.
  """
  if review.split == "test":
    return "test"
  bucket = int(hashlib.sha256(f"{seed}:{review.id}".encode()).hexdigest(), 16) % 100
  return "eval" if bucket < eval_percent else "train"


def in_sample(review: reader.Review, seed: int, sample_percent: int) -> bool:
  """A documented subset for models too slow for the full corpus: a review is kept when
  sha256("sample:<seed>:<id>") mod 100 < sample_percent (independent of the eval hash)."""
  if sample_percent >= 100:
    return True
  return int(hashlib.sha256(f"sample:{seed}:{review.id}".encode()).hexdigest(), 16) % 100 \
      < sample_percent


def to_example(review: reader.Review) -> tf.train.Example:
  def _bytes(v: str):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8")]))

  def _int(v: int):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

  return tf.train.Example(features=tf.train.Features(feature={
      "text": _bytes(review.text), "label": _int(review.label),
      "rating": _int(review.rating), "id": _bytes(review.id)}))


def split_params(exec_properties: Dict[str, Any]) -> tuple[int, int, int]:
  values = routed_example_gen.custom_params(exec_properties)
  return (int(values.get("split_seed", 42)), int(values.get("eval_percent", 20)),
          int(values.get("sample_percent", 100)))


@beam.ptransform_fn
@beam.typehints.with_output_types(reader.Review)
def _ReadReviews(pipeline: beam.Pipeline, tar_path: str):  # pylint: disable=invalid-name
  # A .tar.gz cannot be split, so one worker streams it; Reshuffle spreads the rest of the work.
  return (pipeline
          | "TarPath" >> beam.Create([tar_path])
          | "StreamTar" >> beam.FlatMap(reader.iter_reviews)
          | "Spread" >> beam.Reshuffle())


@beam.ptransform_fn
@beam.typehints.with_output_types(tf.train.Example)
def _ImdbToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                   split_pattern: str):
  """All reviews of one tarball as tf.Examples, unsplit. The base class requires this hook;
  Executor overrides GenerateExamplesByBeam and uses _ReadReviews directly instead."""
  tar_path = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern)
  return pipeline | "Read" >> _ReadReviews(tar_path) | "ToExample" >> beam.Map(to_example)


class Executor(BaseExampleGenExecutor):
  """Reads the tarball once and routes each review to train, eval or test."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _ImdbToExample

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
    pattern = routed_example_gen.source_pattern(exec_properties, "ImdbExampleGen", "tarball")
    seed, eval_percent, sample_percent = split_params(exec_properties)
    tar_path = os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY], pattern)
    order = ["train", "eval", "test"]
    parts = (pipeline
             | "Read" >> _ReadReviews(tar_path)
             | "Sample" >> beam.Filter(in_sample, seed, sample_percent)
             | "AssignSplit" >> beam.Partition(
                 lambda r, _n: order.index(assign_split(r, seed, eval_percent)), len(order)))
    return {name: parts[i] | f"ToExample[{name}]" >> beam.Map(to_example)
            for i, name in enumerate(order)}
