"""Turns transformed id features into model inputs (shared by training input and serving)."""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import tensorflow as tf

from components import contract

class BowFeature(NamedTuple):
  ids: str                # the Transform's id feature
  weights: Optional[str]  # its weights feature (tf-idf, NB), or None
  vocabulary: str
  counts: bool = False    # no weights: how often each id occurs, not whether (multi-hot)


# The bag-of-words vectors a model can read (a BoW MLP's `feature`).
BOW_FEATURES = {
    "unigram_multi_hot": BowFeature("unigram_ids", None, contract.UNIGRAM_VOCAB),
    "bigram_multi_hot": BowFeature("bigram_ids", None, contract.BIGRAM_VOCAB),
    # TextVectorization(output_mode="count") of seed 000: term counts
    "unigram_count": BowFeature("unigram_ids", None, contract.UNIGRAM_VOCAB, counts=True),
    "bigram_count": BowFeature("bigram_ids", None, contract.BIGRAM_VOCAB, counts=True),
    "bigram_tfidf": BowFeature("bigram_tfidf_ids", "bigram_tfidf_weights", contract.BIGRAM_VOCAB),
    # Wang & Manning's NB log-count ratios of the n-grams a review has (components.preprocessing.nb_features)
    "bigram_nb": BowFeature("nb_ids", "nb_weights", contract.NB_VOCAB),
}


def bow_input_size(feature: str, tf_transform_output) -> int:
  """Vocabulary size plus the OOV bucket."""
  return contract.bow_input_size(tf_transform_output, BOW_FEATURES[feature].vocabulary)


def bow_featurizer(feature: str, size: int, sparse: bool = True) -> Callable[[dict], tf.Tensor]:
  """transformed features -> [batch, size] multi-hot, count (or weighted) vectors. sparse: a
  tf.SparseTensor (a review has about 200 of the 20 001 entries, and a Dense layer over it
  multiplies only those: keras.Input(sparse=True)); else dense, for more than one replica:
  Keras 3 cannot split a SparseTensor input across replicas ("'SparseTensor' object has no
  attribute 'device'" in tf.distribute)."""
  spec = BOW_FEATURES[feature]
  ids_key, weights_key = spec.ids, spec.weights
  binary = weights_key is None and not spec.counts

  def featurize(transformed: dict) -> tf.Tensor:
    ids = transformed[ids_key]
    if not sparse:
      weights = transformed[weights_key] if weights_key else None
      dense = tf.math.bincount(ids, weights=weights, minlength=size, maxlength=size,
                               binary_output=binary, axis=-1, dtype=tf.float32)
      return tf.reshape(dense, [-1, size])  # bincount of sparse input loses the static shape
    if weights_key is None:
      vectors = tf.sparse.bincount(ids, minlength=size, maxlength=size, binary_output=binary,
                                   axis=-1)
    else:
      vectors = tf.sparse.bincount(ids, weights=transformed[weights_key], minlength=size,
                                   maxlength=size, axis=-1)
    # A static size, which Keras needs to build the Dense kernel.
    return tf.SparseTensor(vectors.indices, tf.cast(vectors.values, tf.float32),
                           tf.stack([vectors.dense_shape[0], size]))

  return featurize
