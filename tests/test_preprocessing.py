"""The preprocessing_fn under real TFT analyzers (tft_beam on the DirectRunner) on the hand-written
reviews, checked against Keras TextVectorization and the seed's tf-idf formula."""
import collections
import functools
import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam

from components import preprocessing
from tests.data.reviews import REVIEWS

TRAIN = [(text, 1 if polarity == "pos" else 0) for split, polarity, _, _, text in REVIEWS
         if split == "train"]
RAW_SPEC = {"text": tf.io.FixedLenFeature([1], tf.string),
            "label": tf.io.FixedLenFeature([1], tf.int64)}


def analyze_and_transform(work_dir, top_k=1000, sequence_length=None, **options):
  raw = [{"text": [t], "label": [y]} for t, y in TRAIN]
  metadata = tft.DatasetMetadata.from_feature_spec(RAW_SPEC)
  fn = functools.partial(preprocessing.preprocessing_fn, custom_config={
      "unigram_top_k": top_k, "bigram_top_k": top_k, "sequence_length": sequence_length,
      **options})
  out_dir = str(work_dir / "transform_fn")
  with tft_beam.Context(temp_dir=str(work_dir / "tmp"), force_tf_compat_v1=False):
    (transformed, _), transform_fn = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
    _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
  return transformed, tft.TFTransformOutput(out_dir)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
  return analyze_and_transform(tmp_path_factory.mktemp("transform"))


def keras_tokens(text):
  """What Keras TextVectorization's default standardize + split yields, after <br /> removal."""
  layer = keras.layers.TextVectorization()
  layer.adapt([re.sub(r"<br\s*/?>", " ", text)])
  return set(layer.get_vocabulary(include_special_tokens=False))


def python_tokens(text):
  return preprocessing.standardize(tf.constant([text])).numpy()[0].decode().split()


def test_standardize_matches_keras_default():
  text = "Great!!! The <b>BEST</b> film, isn't it?<br /><br />10/10 -- (really) \"loved\" it."
  assert set(python_tokens(text)) == keras_tokens(text)
  assert "br" not in python_tokens(text)  # <br /> handled, not left as a token


def test_unigram_vocab_equals_keras_vocab(result):
  _, output = result
  vocab = [t.decode() for t in output.vocabulary_by_name(preprocessing.UNIGRAM_VOCAB)]
  layer = keras.layers.TextVectorization()
  layer.adapt([re.sub(r"<br\s*/?>", " ", t) for t, _ in TRAIN])
  assert set(vocab) == set(layer.get_vocabulary(include_special_tokens=False))
  counts = collections.Counter(tok for t, _ in TRAIN for tok in python_tokens(t))
  assert [counts[v] for v in vocab] == sorted(counts.values(), reverse=True)  # by frequency


def test_top_k_keeps_most_frequent_and_maps_rest_to_oov(tmp_path):
  transformed, output = analyze_and_transform(tmp_path, top_k=5)
  vocab = [t.decode() for t in output.vocabulary_by_name(preprocessing.UNIGRAM_VOCAB)]
  counts = collections.Counter(tok for t, _ in TRAIN for tok in python_tokens(t))
  assert len(vocab) == 5
  assert min(counts[v] for v in vocab) >= max(c for w, c in counts.items() if w not in vocab)
  ids = np.concatenate([row["unigram_ids"] for row in transformed])
  assert ids.max() == 5  # the single OOV id is vocab_size
  first = python_tokens(TRAIN[0][0])
  expected = [vocab.index(t) if t in vocab else 5 for t in first]
  assert list(transformed[0]["unigram_ids"]) == expected


def test_bigram_vocab_has_unigrams_and_bigrams(result):
  _, output = result
  vocab = {t.decode() for t in output.vocabulary_by_name(preprocessing.BIGRAM_VOCAB)}
  assert {"great", "great film", "the story", "awful"} <= vocab
  ngrams = collections.Counter()
  for text, _ in TRAIN:
    toks = python_tokens(text)
    ngrams.update(toks + [" ".join(p) for p in zip(toks, toks[1:])])
  assert vocab == set(ngrams)


def test_tfidf_matches_seed_formula(result):
  transformed, output = result
  vocab = [t.decode() for t in output.vocabulary_by_name(preprocessing.BIGRAM_VOCAB)]
  docs = []
  for text, _ in TRAIN:
    toks = python_tokens(text)
    docs.append(collections.Counter(toks + [" ".join(p) for p in zip(toks, toks[1:])]))
  df = collections.Counter(term for doc in docs for term in doc)
  d = len(docs)
  for row, doc in zip(transformed, docs):
    got = {vocab[i]: w for i, w in zip(row["bigram_tfidf_ids"], row["bigram_tfidf_weights"])}
    want = {term: count * math.log(1 + d / (df[term] + 1)) for term, count in doc.items()}
    assert got.keys() == want.keys()
    for term in want:
      assert got[term] == pytest.approx(want[term], rel=1e-5), term


def test_multi_hot_ids_cover_every_token(result):
  transformed, output = result
  vocab = [t.decode() for t in output.vocabulary_by_name(preprocessing.UNIGRAM_VOCAB)]
  for row, (text, label) in zip(transformed, TRAIN):
    assert sorted(vocab[i] for i in row["unigram_ids"]) == sorted(python_tokens(text))
    assert row["label"] == label


def test_word_sequences_are_padded_truncated_with_reserved_ids(tmp_path):
  transformed, output = analyze_and_transform(tmp_path / "with", top_k=5, sequence_length=8)
  vocab = [t.decode() for t in output.vocabulary_by_name(preprocessing.UNIGRAM_VOCAB)]
  for row, (text, _) in zip(transformed, TRAIN):
    tokens = python_tokens(text)[:8]
    expected = [vocab.index(t) + 2 if t in vocab else 1 for t in tokens]
    assert list(row["word_ids"]) == expected + [0] * (8 - len(expected))
  without = analyze_and_transform(tmp_path / "without", top_k=5)[0][0]
  assert "word_ids" not in without  # only when asked for


def test_nb_weights_are_the_log_count_ratios_of_the_training_reviews(tmp_path):
  """Wang & Manning's r = log((p / |p|_1) / (q / |q|_1)), p and q the alpha-smoothed counts of
  positive and negative training reviews that have each n-gram, recomputed here in numpy."""
  alpha, top_k = 0.5, 40
  transformed, output = analyze_and_transform(tmp_path, nb_top_k=top_k, nb_ngrams=2,
                                              nb_alpha=alpha)
  vocab = [t.decode() for t in output.vocabulary_by_name("nb_ngrams")]
  assert len(vocab) == top_k
  size = top_k + 1  # the OOV id
  p, q = np.full(size, alpha), np.full(size, alpha)
  for (text, label), row in zip(TRAIN, transformed):
    tokens = python_tokens(text)
    grams = set(tokens) | {" ".join(pair) for pair in zip(tokens, tokens[1:])}
    ids = sorted({vocab.index(g) if g in vocab else top_k for g in grams})
    assert list(row["nb_ids"]) == ids  # each n-gram once: binarised
    (p if label == 1 else q)[ids] += 1
  ratio = np.log(p / p.sum()) - np.log(q / q.sum())
  for row in transformed:
    np.testing.assert_allclose(row["nb_weights"], ratio[row["nb_ids"]], rtol=1e-5)
  assert 0 < sum(y for _, y in TRAIN) < len(TRAIN)  # both classes, so r is not constant
  assert np.ptp(ratio) > 0.5
