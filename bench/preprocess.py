"""Preprocessing throughput: TFT analyze + materialise on the DirectRunner (1 or 2 workers) vs the
seeds' way, Keras TextVectorization adapt + map in memory, for the same three outputs
(unigram multi-hot, bigram tf-idf, int sequences of length 600) over the 50 000 labelled reviews.

  python -m bench.preprocess prepare --tar aclImdb_v1.tar.gz --cache DIR [--shards 8]
  python -m bench.preprocess tft --cache DIR --workers 2 [--phase both|analyze|transform]
                                 [--input-files sharded|single]       -> prints JSON
  python -m bench.preprocess keras --cache DIR                -> prints JSON

The raw input is written both as one file and as `--shards` files (ExampleGen writes several
shards too): Beam reads a TFRecord file as one unsplittable unit, so the shard count caps how
many workers the read and everything fused to it can use. `--phase` times analysis alone (on
the train split) or transformation alone (with the transform_fn of an earlier run), and every
run samples the CPU use of the process tree once a second (the `timeline` in its JSON).
"""
from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import shutil
import tempfile
import threading
import time

import tensorflow as tf

RAW_SPEC = {"text": tf.io.FixedLenFeature([1], tf.string),
            "label": tf.io.FixedLenFeature([1], tf.int64)}
CONFIG = {"unigram_top_k": 20000, "bigram_top_k": 20000, "sequence_length": 600}


def prepare(tar: str, cache: str, shards: int) -> None:
  """Writes the labelled reviews as raw tf.Examples (train split, and all 50 000), as one file
  under raw/single/ and round-robin over `shards` files under raw/sharded/."""
  from components.imdb_example_gen import executor, reader
  done = os.path.join(cache, "raw", f"done-{shards}")
  if os.path.exists(done):
    return
  shutil.rmtree(os.path.join(cache, "raw"), ignore_errors=True)
  for layout in ("single", "sharded"):
    os.makedirs(os.path.join(cache, "raw", layout))

  def writers(name):
    return ([tf.io.TFRecordWriter(os.path.join(cache, "raw", "single", f"{name}.tfrecord"))],
            [tf.io.TFRecordWriter(os.path.join(cache, "raw", "sharded",
                                               f"{name}-{i:05d}-of-{shards:05d}.tfrecord"))
             for i in range(shards)])
  out = {"train": writers("train"), "all": writers("all")}
  counts = {"train": 0, "all": 0}
  for review in reader.iter_reviews(tar):
    record = executor.to_example(review).SerializeToString()
    for name in ("all", "train") if executor.assign_split(review, 42, 20) == "train" else ("all",):
      single, sharded = out[name]
      single[0].write(record)
      sharded[counts[name] % shards].write(record)
      counts[name] += 1
  for single, sharded in out.values():
    for w in single + sharded:
      w.close()
  open(done, "w").close()


class CpuTimeline:
  """Samples the CPU use (in cores) of this process and its children once a second."""

  def __init__(self):
    import psutil
    self._proc, self.samples, self._stop = psutil.Process(), [], threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def _cpu(self) -> float:
    total = 0.0
    for p in [self._proc] + self._proc.children(recursive=True):
      try:
        t = p.cpu_times()
        total += t.user + t.system
      except Exception:  # pylint: disable=broad-except  (a worker that just exited)
        pass
    return total

  def _run(self):
    last, start = self._cpu(), time.monotonic()
    while not self._stop.wait(1.0):
      now = self._cpu()
      self.samples.append((round(time.monotonic() - start), round(max(now - last, 0.0), 2)))
      last = now

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()

  def summary(self) -> dict:
    cores = [c for _, c in self.samples] or [0.0]
    return {"timeline": self.samples,
            "share_of_seconds_over_1_5_cores": sum(c > 1.5 for c in cores) / len(cores),
            "share_of_seconds_under_1_1_cores": sum(c < 1.1 for c in cores) / len(cores)}


def _count(pattern: str) -> int:
  return sum(1 for _ in tf.data.TFRecordDataset(glob.glob(pattern)))


def run_tft(cache: str, workers: int, phase: str = "both", input_files: str = "sharded") -> dict:
  import apache_beam as beam
  import tensorflow_transform as tft
  import tensorflow_transform.beam as tft_beam
  from apache_beam.options.pipeline_options import PipelineOptions
  from tfx_bsl.coders import example_coder
  from tfx_bsl.public import tfxio

  from components import preprocessing
  schema = tft.DatasetMetadata.from_feature_spec(RAW_SPEC).schema
  out = os.path.join(cache, "transformed")
  transform_fn_dir = os.path.join(cache, "transform_fn")
  raw = os.path.join(cache, "raw", input_files)
  # A repetition rewrites what it produces; `transform` reuses the saved transform_fn.
  for previous in ([out] if phase != "analyze" else []) + (
      [transform_fn_dir] if phase != "transform" else []):
    shutil.rmtree(previous, ignore_errors=True)
  options = PipelineOptions([f"--direct_num_workers={workers}",
                             "--direct_running_mode=multi_processing",
                             "--default_sdk_harness_log_level=WARNING"])
  fn = functools.partial(preprocessing.preprocessing_fn, custom_config=CONFIG)
  start = time.monotonic()
  with CpuTimeline() as timeline, beam.Pipeline(options=options) as p, \
      tft_beam.Context(temp_dir=tempfile.mkdtemp()):
    train = tfxio.TFExampleRecord(os.path.join(raw, "train*.tfrecord"), schema=schema)
    everything = tfxio.TFExampleRecord(os.path.join(raw, "all*.tfrecord"), schema=schema)
    if phase == "transform":
      transform_fn = p | tft_beam.ReadTransformFn(transform_fn_dir)
    else:
      transform_fn = ((p | "ReadTrain" >> train.BeamSource(), train.TensorAdapterConfig())
                      | tft_beam.AnalyzeDataset(fn))
      _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(transform_fn_dir)
    if phase != "analyze":
      transformed, _ = (
          ((p | "ReadAll" >> everything.BeamSource(), everything.TensorAdapterConfig()),
           transform_fn) | tft_beam.TransformDataset(output_record_batches=True))
      _ = (transformed
           | "Encode" >> beam.FlatMapTuple(
               lambda batch, _: example_coder.RecordBatchToExamples(batch))
           | "Write" >> beam.io.WriteToTFRecord(os.path.join(out, "data"),
                                                file_name_suffix=".gz"))
  seconds = time.monotonic() - start
  docs = _count(os.path.join(raw, ("train" if phase == "analyze" else "all") + "*.tfrecord"))
  return {"seconds": seconds, "docs": docs, "docs_per_s": docs / seconds, **timeline.summary()}


def run_keras(cache: str) -> dict:
  import keras

  def texts(name):
    ds = tf.data.TFRecordDataset(os.path.join(cache, "raw", "single", f"{name}.tfrecord"))
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
  parser.add_argument("--shards", type=int, default=8)
  parser.add_argument("--phase", choices=["both", "analyze", "transform"], default="both")
  parser.add_argument("--input-files", choices=["sharded", "single"], default="sharded")
  args = parser.parse_args()
  if args.what == "prepare":
    prepare(args.tar, args.cache, args.shards)
    print("RESULT " + json.dumps(
        {"docs": _count(os.path.join(args.cache, "raw", "single", "all.tfrecord"))}))
    return
  result = (run_tft(args.cache, args.workers, args.phase, args.input_files)
            if args.what == "tft" else run_keras(args.cache))
  print("RESULT " + json.dumps(result))


if __name__ == "__main__":
  main()
