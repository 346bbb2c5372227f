"""The Transform preprocessing_fn: bag-of-words features through TFT analyzers.

Outputs (one row per review):
  unigram_ids          int64 [None]  ids of every token in the unigram vocabulary (top-k, + 1 OOV id)
  bigram_ids           int64 [None]  ids of every 1- and 2-gram in the bigram vocabulary (+ 1 OOV id)
  bigram_tfidf_ids     int64 [None]  unique bigram ids of the review
  bigram_tfidf_weights float [None]  count x log(1 + N / (1 + df)) for each of those ids, the
                                     formula of Keras TextVectorization(output_mode="tf_idf")
  nb_ids, nb_weights   int64, float [None]  only when custom_config["nb_top_k"]: the unique
                                     1..nb_ngrams-gram ids of the review and their NB log-count
                                     ratios (nb_features below)
  word_ids             int64 [L]     only when custom_config["sequence_length"] = L: the tokens as
                                     unigram-vocabulary ids + 2, 1 for OOV, 0-padded/truncated to
                                     L (so Keras Embedding(mask_zero=True) works)
  subword_ids          int64 [L]     only when custom_config["subword_vocab_size"] = V: WordPiece
                                     ids (vocabulary "subword", at most V pieces learned on the
                                     analysed split; 0 [PAD], 1 [UNK]), 0-padded/truncated to
                                     L = custom_config["subword_sequence_length"] or
                                     ["sequence_length"]. Loading the graph needs
                                     `import tensorflow_text` (components/subword.py)
  text                 string []     only when custom_config["keep_text"]: the review with HTML
                                     breaks as spaces, for models that read raw text (TF-Hub)
  label                int64 []

Multi-hot vectors are not materialised (20 001 floats a review); trainers.features densifies the
ids per batch. Vocabularies, document frequencies and N come from the split Transform analyses
(`train`), like Keras `adapt` on the training texts.
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf
import tensorflow_transform as tft

from components import subword
from components.contract import (BIGRAM_VOCAB, BOW_OOV_BUCKETS, NB_VOCAB, OOV_ID, PAD_ID,
                                 RESERVED_IDS, SUBWORD_VOCAB, UNIGRAM_VOCAB, LABEL_VOCAB)
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


def tfidf(ids: tf.SparseTensor, vocab_size: int, num_docs: tf.Tensor):
  """Unique ids per row and their count x log(1 + N / (1 + df)) weights, N and df from analysis."""
  df = tft.experimental.document_frequency(ids, vocab_size, name="document_frequency")
  idf = tf.math.log1p(tf.cast(num_docs, tf.float32) / (1.0 + tf.cast(df.values, tf.float32)))
  rows = ids.indices[:, 0]
  keys = rows * vocab_size + ids.values
  unique_keys, position, counts = tf.unique_with_counts(keys)
  unique_idf = tf.math.unsorted_segment_max(idf, position, tf.size(unique_keys))
  weights = tf.cast(counts, tf.float32) * unique_idf
  unique_rows = unique_keys // vocab_size
  batch = ids.dense_shape[0]
  return (_rows_to_sparse(unique_keys % vocab_size, unique_rows, batch),
          _rows_to_sparse(weights, unique_rows, batch))


def _rows_to_sparse(values: tf.Tensor, rows: tf.Tensor, batch: tf.Tensor) -> tf.SparseTensor:
  # A 2-D SparseTensor with static rank, which TFT needs to encode it as a VarLenFeature.
  # validate=False: TFT evaluates assertion ops in its first analysis phase, before the
  # document frequencies exist, and fails there.
  sparse = tf.RaggedTensor.from_value_rowids(values, rows, nrows=batch, validate=False).to_sparse()
  return tf.SparseTensor(tf.reshape(sparse.indices, [-1, 2]), sparse.values,
                         tf.reshape(sparse.dense_shape, [2]))


def preprocessing_fn(inputs: dict[str, Any], custom_config: Optional[dict] = None) -> dict:
  config = custom_config or {}
  tokens = tokenize(inputs["text"])
  unigram_vocab = tft.vocabulary(tokens, top_k=config.get("unigram_top_k", DEFAULT_TOP_K),
                                 vocab_filename=UNIGRAM_VOCAB)
  unigram_ids = tft.apply_vocabulary(tokens, unigram_vocab, num_oov_buckets=BOW_OOV_BUCKETS)
  ngrams = tft.ngrams(tokens, ngram_range=(1, 2), separator=" ")
  bigram_top_k = config.get("bigram_top_k", DEFAULT_TOP_K)
  bigram_ids = tft.compute_and_apply_vocabulary(
      ngrams, top_k=bigram_top_k, num_oov_buckets=BOW_OOV_BUCKETS, vocab_filename=BIGRAM_VOCAB)
  # top_k + OOV bounds the ids (vocabulary + OOV) with a Python int, which document_frequency needs.
  num_docs = tft.size(tf.reshape(inputs["label"], [-1]), name="document_count")
  tfidf_ids, tfidf_weights = tfidf(bigram_ids, bigram_top_k + BOW_OOV_BUCKETS, num_docs)
  outputs = {
      "unigram_ids": unigram_ids,
      "bigram_ids": bigram_ids,
      "bigram_tfidf_ids": tfidf_ids,
      "bigram_tfidf_weights": tfidf_weights,
      "label": label_ids(inputs["label"]),
  }
  if config.get("nb_top_k"):
    outputs.update(nb_features(tokens, inputs["label"], int(config["nb_top_k"]),
                               int(config.get("nb_ngrams", 2)),
                               float(config.get("nb_alpha", 1.0))))
  if config.get("sequence_length"):
    outputs["word_ids"] = word_sequence(tokens, unigram_vocab, int(config["sequence_length"]))
  if config.get("subword_vocab_size"):
    length = config.get("subword_sequence_length") or config.get("sequence_length")
    if not length:
      raise ValueError("custom_config: subword_vocab_size needs subword_sequence_length or "
                       "sequence_length")
    vocab = subword.subword_vocabulary(tokens, int(config["subword_vocab_size"]), SUBWORD_VOCAB)
    outputs["subword_ids"] = subword.subword_sequence(tokens, vocab, int(length))
  if config.get("keep_text"):
    outputs["text"] = tf.strings.regex_replace(tf.reshape(inputs["text"], [-1]),
                                               HTML_BREAK_REGEX, " ")
  return outputs


def label_ids(label: tf.Tensor) -> tf.Tensor:
  """[batch] label ids: a string label (a generic corpus) through the label vocabulary, a 0/1
  int label as it is."""
  label = tf.reshape(label, [-1])
  if label.dtype != tf.string:
    return label
  return tft.compute_and_apply_vocabulary(label, vocab_filename=LABEL_VOCAB)


def word_sequence(tokens: tf.SparseTensor, vocab, length: int) -> tf.Tensor:
  """Token ids (components.contract: vocabulary index + RESERVED_IDS; OOV_ID), truncated or
  PAD_ID-padded to [batch, length]."""
  ids = tft.apply_vocabulary(tokens, vocab, default_value=-1)
  ids = tf.SparseTensor(ids.indices, tf.where(ids.values < 0, tf.constant(OOV_ID, tf.int64),
                                              ids.values + RESERVED_IDS), ids.dense_shape)
  ragged = tf.RaggedTensor.from_sparse(ids)[:, :length]
  return ragged.to_tensor(default_value=PAD_ID, shape=[None, length])


# The NB-weighted n-gram feature of Wang & Manning (2012, "Baselines and Bigrams"; NBSVM).
# For the binarised n-gram indicator f of a review (1 if it has the n-gram), with
#   p = alpha + sum of f over positive training reviews,  q = the same over negative ones,
# the log-count ratio is r = log((p / |p|_1) / (q / |q|_1)), and the model reads r * f: each
# n-gram the review has, weighted by how much more often positive reviews have it. The counts
# come from tft.count_per_key over each class's vocabulary ids, so they are constants of the
# Transform graph and serving computes the same r.


def _class_counts(ids: tf.SparseTensor, in_class: tf.Tensor, size: int, name: str) -> tf.Tensor:
  """[size] how many reviews of the class (in_class per row) have each id (ids unique per row)."""
  rows = ids.indices[:, 0]
  keys = tf.boolean_mask(ids.values, tf.gather(in_class, rows))
  vocab, counts = tft.count_per_key(keys, name=name)
  # An id no review of the class has is not among the keys: its count is 0.
  return tf.scatter_nd(tf.reshape(vocab, [-1, 1]), tf.cast(counts, tf.float32), [size])


def log_count_ratio(ids: tf.SparseTensor, labels: tf.Tensor, size: int, alpha: float) -> tf.Tensor:
  positive = tf.equal(labels, 1)
  p = alpha + _class_counts(ids, positive, size, "positive_counts")
  q = alpha + _class_counts(ids, tf.logical_not(positive), size, "negative_counts")
  return tf.math.log(p / tf.reduce_sum(p)) - tf.math.log(q / tf.reduce_sum(q))


def nb_features(tokens: tf.SparseTensor, labels: tf.Tensor, top_k: int, ngrams: int,
                alpha: float) -> dict:
  grams = tft.ngrams(tokens, ngram_range=(1, ngrams), separator=" ")
  ids = tft.compute_and_apply_vocabulary(grams, top_k=top_k, num_oov_buckets=BOW_OOV_BUCKETS,
                                         vocab_filename=NB_VOCAB)
  size = top_k + BOW_OOV_BUCKETS  # bounds the ids with a Python int
  # Binarised: each id once per review.
  unique = tf.sparse.bincount(ids, minlength=size, maxlength=size, binary_output=True, axis=-1)
  rows, unique_ids = unique.indices[:, 0], unique.indices[:, 1]
  unique_ids = _rows_to_sparse(unique_ids, rows, ids.dense_shape[0])
  ratio = log_count_ratio(unique_ids, tf.reshape(labels, [-1]), size, alpha)
  return {"nb_ids": unique_ids,
          "nb_weights": tf.SparseTensor(unique_ids.indices, tf.gather(ratio, unique_ids.values),
                                        unique_ids.dense_shape)}
