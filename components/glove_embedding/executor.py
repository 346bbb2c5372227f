"""GloveEmbedding executor: the Transform vocabulary (word, id) joined in Beam with the GloVe
records (word, vector | row); one writer assembles matrix.npy and coverage.json. Without a
Transform graph the rows are the source's own words, in its order (words.txt lists them)."""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.glove_embedding import matrix as matrix_lib, sources

MISSING_SAMPLE = 20


def read_vocabulary(transform_graph_uri: str, name: str) -> list[str]:
  """The words of the Transform vocabulary file `name`, in id order."""
  output = tft.TFTransformOutput(transform_graph_uri)
  path = output.vocabulary_file_by_name(name)
  if path is None:
    assets = os.path.join(output.transform_savedmodel_dir, "assets")
    found = tf.io.gfile.listdir(assets) if tf.io.gfile.isdir(assets) else []
    raise ValueError(f"GloveEmbedding: the transform graph {transform_graph_uri} has no "
                     f"vocabulary {name!r} (vocabularies: {', '.join(sorted(found)) or 'none'})")
  if path.endswith(".tfrecord.gz"):
    raise ValueError(f"GloveEmbedding: {path} is a TFRecord vocabulary; only text vocabularies "
                     "(tft.vocabulary's default file_format) are read")
  with tf.io.gfile.GFile(path, "rb") as f:
    # "\n" only, as TFT's lookup tables split the file: a token may hold other line breaks.
    words = f.read().split(b"\n")
  if words and not words[-1]:
    words.pop()
  if not words:
    raise ValueError(f"GloveEmbedding: vocabulary {path} is empty")
  return [w.decode("utf-8") for w in words]


def _join(item):
  """One key of the CoGroupByKey -> (id, word, vector | row | None) for each vocabulary id."""
  word, groups = item
  ids = list(groups["vocabulary"])
  if not ids:
    return
  records = list(groups["glove"])
  value = min(records, key=lambda r: r[0])[1] if records else None  # first line wins
  for word_id in ids:
    yield word_id, word, value


class _WriteMatrix(beam.DoFn):
  """All vocabulary rows -> matrix.npy + coverage.json (one writer: one file)."""

  def __init__(self, uri: str, src: sources.Source, dim: int, vocabulary_size: int,
               reserved_rows: int):
    self._uri, self._src, self._dim = uri, src, dim
    self._vocabulary_size, self._reserved = vocabulary_size, reserved_rows

  def process(self, rows):
    if len(rows) != self._vocabulary_size:
      raise RuntimeError(f"GloveEmbedding: the join gave {len(rows)} rows for "
                         f"{self._vocabulary_size} vocabulary words")
    found = [(i, v) for i, _, v in rows if v is not None]
    matrix = np.zeros([self._vocabulary_size + self._reserved, self._dim], np.float32)
    if found:
      ids = np.asarray([i for i, _ in found], np.int64) + self._reserved
      values = [v for _, v in found]
      matrix[ids] = (sources.gather_rows(self._src, values) if self._src.kind == "kumo"
                     else np.stack(values))
    missing = sorted((i, w) for i, w, v in rows if v is None)
    matrix_lib.write(self._uri, matrix, {
        "found": len(found), "vocabulary_size": self._vocabulary_size,
        "coverage": len(found) / self._vocabulary_size, "source": str(self._src),
        "dim": self._dim, "reserved_rows": self._reserved,
        "missing_sample": [w for _, w in missing[:MISSING_SAMPLE]]})


class _WriteSourceMatrix(beam.DoFn):
  """All source records -> matrix.npy (reserved rows, then every word in source order, a word
  listed twice keeping its first line), words.txt and coverage.json."""

  def __init__(self, uri: str, src: sources.Source, dim: int, reserved_rows: int):
    self._uri, self._src, self._dim, self._reserved = uri, src, dim, reserved_rows

  def process(self, records):
    first = {}
    for word, (order, value) in sorted(records, key=lambda r: r[1][0]):
      first.setdefault(word, value)
    if not first:
      raise ValueError(f"GloveEmbedding: {self._src} holds no vectors")
    words, values = list(first), list(first.values())
    vectors = (sources.gather_rows(self._src, values) if self._src.kind == "kumo"
               else np.stack(values))
    matrix = np.concatenate([np.zeros([self._reserved, self._dim], np.float32), vectors])
    matrix_lib.write(self._uri, matrix, {
        "rows": "source words", "found": len(words), "vocabulary_size": len(words),
        "coverage": 1.0,
        "source": str(self._src), "dim": self._dim, "reserved_rows": self._reserved,
        "missing_sample": []}, words=words)


def _grouped(n: int) -> str:
  return f"{n:,}".replace(",", " ")


class Executor(base_beam_executor.BaseBeamExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    embedding = artifact_utils.get_single_instance(output_dict["embedding"])
    reserved = int(exec_properties["reserved_rows"])
    src = sources.resolve(exec_properties["source"])
    dim = sources.dimension(src)

    pipeline = self._make_beam_pipeline()
    glove = pipeline | "Glove" >> sources.ReadGlove(src, dim)
    if input_dict.get("transform_graph"):
      transform_graph = artifact_utils.get_single_instance(input_dict["transform_graph"])
      words = read_vocabulary(transform_graph.uri, exec_properties["vocabulary_name"])
      vocabulary = pipeline | "Vocabulary" >> beam.Create([(w, i) for i, w in enumerate(words)])
      _ = ({"vocabulary": vocabulary, "glove": glove}
           | "Join" >> beam.CoGroupByKey()
           | "Rows" >> beam.FlatMap(_join)
           | "Gather" >> beam.combiners.ToList()
           | "Write" >> beam.ParDo(_WriteMatrix(embedding.uri, src, dim, len(words), reserved)))
    else:
      _ = (glove
           | "Gather" >> beam.combiners.ToList()
           | "Write" >> beam.ParDo(_WriteSourceMatrix(embedding.uri, src, dim, reserved)))
    pipeline.run().wait_until_finish()

    coverage = matrix_lib.read_coverage(embedding.uri)
    embedding.set_float_custom_property("coverage", float(coverage["coverage"]))
    embedding.set_int_custom_property("vocabulary_size", int(coverage["vocabulary_size"]))
    embedding.set_int_custom_property("dim", int(coverage["dim"]))
    logging.info("GloveEmbedding: %s of %s vocabulary words (%.1f %%) found in %s",
                 _grouped(coverage["found"]), _grouped(coverage["vocabulary_size"]),
                 100 * coverage["coverage"], coverage["source"])
