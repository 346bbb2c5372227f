"""Beam executor for TextExampleGen: text files -> chunk tf.Examples routed to train/eval/test."""
from __future__ import annotations

import logging
import os
from typing import Any, Dict

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.types import standard_component_specs

from components import routed_example_gen
from components.text_example_gen import reader


def params(exec_properties: Dict[str, Any]) -> dict:
  values = routed_example_gen.custom_params(exec_properties)
  return {"gutenberg": bool(values.get("gutenberg", False)),
          "collapse_whitespace": bool(values.get("collapse_whitespace", False)),
          "split_fractions": [float(x) for x in values.get("split_fractions", (0.9, 0.05, 0.05))],
          "chunk_chars": int(values.get("chunk_chars", 4096))}


def to_example(chunk: reader.Chunk) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chunk.text.encode("utf-8")])),
      "offset": tf.train.Feature(int64_list=tf.train.Int64List(value=[chunk.offset]))}))


def read_chunks(paths: list[str], p: dict):
  text = reader.read_text(paths, p["gutenberg"], p["collapse_whitespace"])
  logging.info("TextExampleGen: %d characters from %s", len(text), ", ".join(paths))
  return list(reader.chunks(text, p["split_fractions"], p["chunk_chars"]))


def _paths(exec_properties: Dict[str, Any], pattern: str) -> list[str]:
  base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
  paths = sorted(tf.io.gfile.glob(os.path.join(base, pattern)))
  if not paths:
    raise FileNotFoundError(f"TextExampleGen: no file matches {os.path.join(base, pattern)}")
  return paths


@beam.ptransform_fn
def _TextToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                   split_pattern: str):
  """Every chunk, unsplit (the base class requires this hook; the Executor routes splits)."""
  paths = _paths(exec_properties, split_pattern)
  return (pipeline | beam.Create([paths])
          | beam.FlatMap(read_chunks, params(exec_properties)) | beam.Map(to_example))


class Executor(BaseExampleGenExecutor):
  """Reads the text once (it is a single ordered sequence) and routes chunks to their split."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _TextToExample

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.pvalue.PCollection]:
    paths = _paths(exec_properties,
                   routed_example_gen.source_pattern(exec_properties, "TextExampleGen", "files"))
    parts = (pipeline
             | "Paths" >> beam.Create([paths])
             | "ReadChunks" >> beam.FlatMap(read_chunks, params(exec_properties))
             | "Split" >> beam.Partition(lambda c, _n: reader.SPLITS.index(c.split),
                                         len(reader.SPLITS)))
    return {name: parts[i] | f"ToExample[{name}]" >> beam.Map(to_example)
            for i, name in enumerate(reader.SPLITS)}
