"""Turns transformed id features into model inputs (shared by training input and serving)."""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

from components import contract

# BoW feature name -> (ids feature, weights feature or None, vocabulary file).
BOW_FEATURES = {
    "unigram_multi_hot": ("unigram_ids", None, contract.UNIGRAM_VOCAB),
    "bigram_multi_hot": ("bigram_ids", None, contract.BIGRAM_VOCAB),
    "bigram_tfidf": ("bigram_tfidf_ids", "bigram_tfidf_weights", contract.BIGRAM_VOCAB),
}


def bow_input_size(feature: str, tf_transform_output) -> int:
  """Vocabulary size plus the OOV bucket."""
  return contract.bow_input_size(tf_transform_output, BOW_FEATURES[feature][2])


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
