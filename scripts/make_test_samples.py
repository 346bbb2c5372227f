"""Regenerates tests/data/imdb_tiny/: the hand-written reviews of tests/data/reviews.py as
ExampleGen output (gzipped TFRecords of tf.Examples, Split-<name>/ folders), using the same
to_example/assign_split code as the IMDB ExampleGen.

Usage: python scripts/make_test_samples.py
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import tensorflow as tf  # noqa: E402

from components.imdb_example_gen import executor, reader  # noqa: E402
from tests.data.reviews import REVIEWS  # noqa: E402
from tests.fixtures import SAMPLES_DIR, SPLITS  # noqa: E402


def main():
  shutil.rmtree(SAMPLES_DIR, ignore_errors=True)
  by_split = {s: [] for s in SPLITS}
  for split, polarity, number, rating, text in REVIEWS:
    review = reader.Review(split, reader.LABELS[polarity], rating, f"{split}/{polarity}/{number}",
                           text)
    by_split[executor.assign_split(review, seed=42, eval_percent=20)].append(review)
  for split, reviews in by_split.items():
    folder = os.path.join(SAMPLES_DIR, f"Split-{split}")
    os.makedirs(folder)
    path = os.path.join(folder, "data_tfrecord-00000-of-00001.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
      for review in reviews:
        writer.write(executor.to_example(review).SerializeToString())
    print(f"{split}: {len(reviews)} examples -> {path}")


if __name__ == "__main__":
  main()
