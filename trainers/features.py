"""Turns transformed id features into model inputs (shared by training input and serving)."""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

# BoW feature name -> (ids feature, weights feature or None, vocabulary file).
BOW_FEATURES = {
    "unigram_multi_hot": ("unigram_ids", None, "unigram"),
    "bigram_multi_hot": ("bigram_ids", None, "bigram"),
    "bigram_tfidf": ("bigram_tfidf_ids", "bigram_tfidf_weights", "bigram"),
}


def bow_input_size(feature: str, tf_transform_output) -> int:
  """Vocabulary size plus the one OOV id."""
  return tf_transform_output.vocabulary_size_by_name(BOW_FEATURES[feature][2]) + 1


def bow_featurizer(feature: str, size: int) -> Callable[[dict], tf.Tensor]:
  """transformed features -> dense [batch, size] multi-hot (or tf-idf) vectors."""
  ids_key, weights_key, _ = BOW_FEATURES[feature]

  def featurize(transformed: dict) -> tf.Tensor:
    ids = transformed[ids_key]
    if weights_key is None:
      dense = tf.math.bincount(ids, minlength=size, maxlength=size, binary_output=True,
                               axis=-1, dtype=tf.float32)
    else:
      dense = tf.math.bincount(ids, weights=transformed[weights_key], minlength=size,
                               maxlength=size, axis=-1, dtype=tf.float32)
    return tf.reshape(dense, [-1, size])  # bincount of sparse input loses the static shape

  return featurize
