"""Preprocessing throughput: TFT analyze + materialise on the DirectRunner (1 or 2 workers) vs the
seeds' way, Keras TextVectorization adapt + map in memory, for the same three outputs
(unigram multi-hot, bigram tf-idf, int sequences of length 600) over the 50 000 labelled reviews.

  python -m bench.preprocess prepare --tar aclImdb_v1.tar.gz --cache DIR
  python -m bench.preprocess tft --cache DIR --workers 2      -> prints JSON
  python -m bench.preprocess keras --cache DIR                -> prints JSON
"""
from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import shutil
import tempfile
import time

import tensorflow as tf

RAW_SPEC = {"text": tf.io.FixedLenFeature([1], tf.string),
            "label": tf.io.FixedLenFeature([1], tf.int64)}
CONFIG = {"unigram_top_k": 20000, "bigram_top_k": 20000, "sequence_length": 600}


def prepare(tar: str, cache: str) -> None:
  """Writes the labelled reviews as raw tf.Examples: train split and all 50 000."""
  from components.imdb_example_gen import executor, reader
  if os.path.exists(os.path.join(cache, "raw", "done")):
    return
  os.makedirs(os.path.join(cache, "raw"), exist_ok=True)
  with tf.io.TFRecordWriter(os.path.join(cache, "raw", "train.tfrecord")) as train, \
      tf.io.TFRecordWriter(os.path.join(cache, "raw", "all.tfrecord")) as everything:
    for review in reader.iter_reviews(tar):
      record = executor.to_example(review).SerializeToString()
      everything.write(record)
      if executor.assign_split(review, 42, 20) == "train":
        train.write(record)
  open(os.path.join(cache, "raw", "done"), "w").close()


def _count(pattern: str) -> int:
  return sum(1 for _ in tf.data.TFRecordDataset(glob.glob(pattern)))


def run_tft(cache: str, workers: int) -> dict:
  import apache_beam as beam
  import tensorflow_transform as tft
  import tensorflow_transform.beam as tft_beam
  from apache_beam.options.pipeline_options import PipelineOptions
  from tfx_bsl.coders import example_coder
  from tfx_bsl.public import tfxio

  from components import preprocessing
  schema = tft.DatasetMetadata.from_feature_spec(RAW_SPEC).schema
  out = os.path.join(cache, "transformed")
  for previous in (out, os.path.join(cache, "transform_fn")):  # a repetition rewrites both
    shutil.rmtree(previous, ignore_errors=True)
  options = PipelineOptions([f"--direct_num_workers={workers}",
                             "--direct_running_mode=multi_processing",
                             "--default_sdk_harness_log_level=WARNING"])
  fn = functools.partial(preprocessing.preprocessing_fn, custom_config=CONFIG)
  start = time.monotonic()
  with beam.Pipeline(options=options) as p, tft_beam.Context(temp_dir=tempfile.mkdtemp()):
    train = tfxio.TFExampleRecord(os.path.join(cache, "raw", "train.tfrecord"), schema=schema)
    everything = tfxio.TFExampleRecord(os.path.join(cache, "raw", "all.tfrecord"), schema=schema)
    transform_fn = ((p | "ReadTrain" >> train.BeamSource(), train.TensorAdapterConfig())
                    | tft_beam.AnalyzeDataset(fn))
    transformed, _ = (
        ((p | "ReadAll" >> everything.BeamSource(), everything.TensorAdapterConfig()),
         transform_fn) | tft_beam.TransformDataset(output_record_batches=True))
    _ = (transformed
         | "Encode" >> beam.FlatMapTuple(lambda batch, _: example_coder.RecordBatchToExamples(batch))
         | "Write" >> beam.io.WriteToTFRecord(os.path.join(out, "data"), file_name_suffix=".gz"))
    _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(
        os.path.join(cache, "transform_fn"))
  seconds = time.monotonic() - start
  docs = _count(os.path.join(cache, "raw", "all.tfrecord"))
  return {"seconds": seconds, "docs": docs, "docs_per_s": docs / seconds}


def run_keras(cache: str) -> dict:
  import keras

  def texts(name):
    ds = tf.data.TFRecordDataset(os.path.join(cache, "raw", f"{name}.tfrecord"))
    return ds.map(lambda r: tf.io.parse_single_example(r, RAW_SPEC)["text"][0]).batch(256)

  start = time.monotonic()
  layers = [
      keras.layers.TextVectorization(max_tokens=20000, output_mode="multi_hot"),
      keras.layers.TextVectorization(max_tokens=20000, ngrams=2, output_mode="tf_idf"),
      keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=600),
  ]
  for layer in layers:
    layer.adapt(texts("train"))
  docs = 0
  for batch in texts("all").map(lambda t: (layers[0](t), layers[1](t), layers[2](t), t),
                                num_parallel_calls=tf.data.AUTOTUNE).prefetch(4):
    docs += int(batch[3].shape[0])
  seconds = time.monotonic() - start
  return {"seconds": seconds, "docs": docs, "docs_per_s": docs / seconds}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("what", choices=["prepare", "tft", "keras"])
  parser.add_argument("--cache", required=True)
  parser.add_argument("--tar")
  parser.add_argument("--workers", type=int, default=1)
  args = parser.parse_args()
  if args.what == "prepare":
    prepare(args.tar, args.cache)
    print("RESULT " + json.dumps({"docs": _count(os.path.join(args.cache, "raw", "all.tfrecord"))}))
    return
  result = run_tft(args.cache, args.workers) if args.what == "tft" else run_keras(args.cache)
  print("RESULT " + json.dumps(result))


if __name__ == "__main__":
  main()
