"""The Transform preprocessing_fn of the character corpora: a char vocabulary through TFT.

Outputs (one row per text chunk):
  char_ids  int64 [None]  the chunk's characters as ids: 1..V for the V train-split characters
                          (most frequent first), V+1 for a character unseen in train, 0 never
                          used (free for padding)
  offset    int64 []      the chunk's character offset within its split (to restore order)

custom_config: lowercase (bool; seed 002 lowercases Shakespeare, seed 003 keeps Alice's case).
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf
import tensorflow_transform as tft

CHAR_VOCAB = "chars"


def codepoints(text: tf.Tensor, lowercase: bool) -> tf.SparseTensor:
  """[batch] or [batch, 1] strings -> [batch, None] Unicode code points (int64).

  The vocabulary is built over code points, not one-character strings: TFT's text vocabulary
  file cannot hold "\n" (a character the LMs must emit), and its tfrecord_gzip format builds
  lookup tables that cannot be re-exported inside a serving SavedModel."""
  text = tf.reshape(text, [-1])
  if lowercase:
    text = tf.strings.lower(text, encoding="utf-8")
  return tf.cast(tf.strings.unicode_decode(text, "UTF-8"), tf.int64).to_sparse()


def preprocessing_fn(inputs: dict, custom_config: Optional[dict[str, Any]] = None) -> dict:
  config = custom_config or {}
  tokens = codepoints(inputs["text"], bool(config.get("lowercase", False)))
  # num_oov_buckets=1 gives unseen characters id V; +1 shifts everything so 0 stays free.
  # A name of its own: TF shares lookup tables by name within a process, and the IMDB word
  # vocabulary's table (string keys) would otherwise collide with this one (int64 keys).
  ids = tft.compute_and_apply_vocabulary(tokens, num_oov_buckets=1, vocab_filename=CHAR_VOCAB,
                                         name="char_vocabulary")
  return {"char_ids": tf.SparseTensor(ids.indices, ids.values + 1, ids.dense_shape),
          "offset": tf.reshape(inputs["offset"], [-1])}


def vocabulary(tf_transform_output) -> list[str]:
  """id -> character: index 0 is padding (""), V+1 the unseen-character id ("\ufffd")."""
  chars = [chr(int(c)) for c in tf_transform_output.vocabulary_by_name(CHAR_VOCAB)]
  return [""] + chars + ["\ufffd"]
