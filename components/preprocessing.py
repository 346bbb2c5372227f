"""The Transform preprocessing_fn: bag-of-words features through TFT analyzers.

Outputs (one row per review):
  unigram_ids          int64 [None]  ids of every token in the unigram vocabulary (top-k, + 1 OOV id)
  bigram_ids           int64 [None]  ids of every 1- and 2-gram in the bigram vocabulary (+ 1 OOV id)
  bigram_tfidf_ids     int64 [None]  unique bigram ids of the review
  bigram_tfidf_weights float [None]  count x log(1 + N / (1 + df)) for each of those ids, the
                                     formula of Keras TextVectorization(output_mode="tf_idf")
  label                int64 []

Multi-hot vectors are not materialised (20 001 floats a review); trainers.features densifies the
ids per batch. Vocabularies, document frequencies and N come from the split Transform analyses
(`train`), like Keras `adapt` on the training texts.
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf
import tensorflow_transform as tft

UNIGRAM_VOCAB = "unigram"
BIGRAM_VOCAB = "bigram"
DEFAULT_TOP_K = 20000
# Keras TextVectorization's default standardize ("lower_and_strip_punctuation").
KERAS_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
HTML_BREAK_REGEX = r"<br\s*/?>"


def standardize(text: tf.Tensor) -> tf.Tensor:
  """HTML line breaks -> space, then Keras' default: lowercase and strip punctuation."""
  text = tf.strings.regex_replace(text, HTML_BREAK_REGEX, " ")
  return tf.strings.regex_replace(tf.strings.lower(text), KERAS_STRIP_REGEX, "")


def tokenize(text: tf.Tensor) -> tf.SparseTensor:
  """[batch] or [batch, 1] strings -> [batch, None] whitespace tokens of the standardised text."""
  return tf.strings.split(standardize(tf.reshape(text, [-1]))).to_sparse()


def tfidf(ids: tf.SparseTensor, vocab_size: int, name: str = "tfidf"):
  """Unique ids per row and their count x log(1 + N / (1 + df)) weights, N and df from analysis."""
  with tf.name_scope(name):
    df = tft.experimental.document_frequency(ids, vocab_size)
    num_docs = tf.cast(tft.size(_row_ones(ids)), tf.float32)
    idf = tf.math.log1p(num_docs / (1.0 + tf.cast(df.values, tf.float32)))
    vocab_size = tf.cast(vocab_size, tf.int64)
    rows = ids.indices[:, 0]
    batch = ids.dense_shape[0]
    keys = rows * vocab_size + ids.values
    unique_keys, position, counts = tf.unique_with_counts(keys)
    unique_idf = tf.math.unsorted_segment_max(idf, position, tf.size(unique_keys))
    weights = tf.cast(counts, tf.float32) * unique_idf
    unique_rows = unique_keys // vocab_size
    as_sparse = lambda v: tf.RaggedTensor.from_value_rowids(v, unique_rows, nrows=batch).to_sparse()
    return as_sparse(unique_keys % vocab_size), as_sparse(weights)


def _row_ones(ids: tf.SparseTensor) -> tf.Tensor:
  # One element per document, so tft.size counts documents (including empty ones).
  return tf.ones(tf.reshape(ids.dense_shape[0], [1]), tf.float32)


def preprocessing_fn(inputs: dict[str, Any], custom_config: Optional[dict] = None) -> dict:
  config = custom_config or {}
  tokens = tokenize(inputs["text"])
  unigram_ids = tft.compute_and_apply_vocabulary(
      tokens, top_k=config.get("unigram_top_k", DEFAULT_TOP_K), num_oov_buckets=1,
      vocab_filename=UNIGRAM_VOCAB)
  ngrams = tft.ngrams(tokens, ngram_range=(1, 2), separator=" ")
  bigram_ids = tft.compute_and_apply_vocabulary(
      ngrams, top_k=config.get("bigram_top_k", DEFAULT_TOP_K), num_oov_buckets=1,
      vocab_filename=BIGRAM_VOCAB)
  tfidf_ids, tfidf_weights = tfidf(
      bigram_ids, tft.get_num_buckets_for_transformed_feature(bigram_ids))
  return {
      "unigram_ids": unigram_ids,
      "bigram_ids": bigram_ids,
      "bigram_tfidf_ids": tfidf_ids,
      "bigram_tfidf_weights": tfidf_weights,
      "label": tf.reshape(inputs["label"], [-1]),
  }
