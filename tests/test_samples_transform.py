"""The committed TFRecord samples (tests/data/imdb_tiny) through the real Transform component:
ImportExampleGen -> StatisticsGen -> SchemaGen -> Transform under LocalDagRunner."""
import collections
import glob
import os

import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components import preprocessing
from components.imdb_example_gen import executor, reader
from tests.data.reviews import REVIEWS
from tests.fixtures import SAMPLES_DIR, SPLITS, transform_samples


def _read(split):
  files = glob.glob(os.path.join(SAMPLES_DIR, f"Split-{split}", "*"))
  return [tf.train.Example.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def test_committed_samples_match_the_reviews_and_split_rule():
  """Fails if tests/data/reviews.py changed without rerunning scripts/make_test_samples.py."""
  expected = collections.defaultdict(set)
  for split, polarity, number, rating, text in REVIEWS:
    review = reader.Review(split, reader.LABELS[polarity], rating,
                           f"{split}/{polarity}/{number}", text)
    expected[executor.assign_split(review, 42, 20)].add((review.id, text, review.label))
  for split in SPLITS:
    got = {(e.features.feature["id"].bytes_list.value[0].decode(),
            e.features.feature["text"].bytes_list.value[0].decode(),
            e.features.feature["label"].int64_list.value[0]) for e in _read(split)}
    assert got == expected[split], split


@pytest.fixture(scope="module")
def transform_output(tmp_path_factory):
  return transform_samples(tmp_path_factory.mktemp("samples"),
                           {"unigram_top_k": 30, "bigram_top_k": 50, "sequence_length": 12},
                           SPLITS)


def test_transform_component_writes_every_split(transform_output):
  graph_dir = glob.glob(os.path.join(transform_output, "transform_graph", "*"))[0]
  output = tft.TFTransformOutput(graph_dir)
  assert output.vocabulary_size_by_name(preprocessing.UNIGRAM_VOCAB) == 30
  assert output.vocabulary_size_by_name(preprocessing.BIGRAM_VOCAB) == 50
  spec = output.transformed_feature_spec()
  assert {"unigram_ids", "bigram_ids", "bigram_tfidf_ids", "bigram_tfidf_weights", "word_ids",
          "label"} <= set(spec)
  examples_dir = glob.glob(os.path.join(transform_output, "transformed_examples", "*"))[0]
  for split in SPLITS:
    files = glob.glob(os.path.join(examples_dir, f"Split-{split}", "*"))
    rows = [tf.io.parse_single_example(r, spec)
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    assert len(rows) == len(_read(split))
    for row in rows:
      assert row["word_ids"].shape == (12,)
      assert tf.reduce_max(row["unigram_ids"].values) <= 30  # 30 = the OOV id
      assert tf.reduce_all(row["bigram_tfidf_weights"].values > 0)
