"""The Transform preprocessing_fn of the POS tagger: a word and a tag vocabulary through TFT.

Outputs (one row per sentence; words and tags stay aligned, truncated together):
  word_ids   int64 [L]      the words as word-vocabulary index + 2, 1 for a word not in it (OOV),
                            0 padding (components.preprocessing.word_sequence, so
                            Embedding(mask_zero))
  char_ids   int64 [L * C]  each word's first C characters as char-vocabulary index + 2 (1 for
                            a character unseen in train, 0 padding), word after word: row-major
                            [L, C]. The characters are what a tagger has to go on for a word it
                            never saw (suffixes, capitals, digits, hyphens)
  word_keys  string [L]     the words lowercased ("" padding): keys into a pretrained word-vector
                            table (GloVe's words are lowercase; trainers.pos_tagger looks them up)
  tag_ids    int64 [L]      the tags as tag-vocabulary index + 1, T + 1 for a tag unseen in
                            train (T tags), 0 padding

custom_config:
  sequence_length  L (default 64). The seed padded to the longest sentence (249 words); 64 keeps
                   all but 16 of the 3 914 sentences whole: 430 of 94 084 words are past L, untagged
                   and scored as wrong by the from_examples signature (128 would cut one sentence)
  word_min_count   a word needs this many train occurrences to get its own id (default 2): the
                   train words seen once map to OOV, so the OOV embedding is trained on the kind of
                   rare word that test sentences bring (with every train word in the vocabulary the
                   OOV id never occurs in training and stays at its random initialisation). On the
                   seed-003 split: 9 054 train word types, 4 055 seen twice or more; 14.0 % of the
                   test words are OOV (8.8 % with word_min_count 1)
  word_top_k       at most this many words (default: no limit)
  word_chars       C, the characters kept of each word (default 16: 99.9 % of the treebank's
                   words are no longer)
  lowercase        lowercase words (default False: case is evidence for the tag, NNP vs NN, and
                   the BiGRU sees where a sentence starts; lowercasing takes the test OOV share
                   from 14.0 % to 12.5 %)
Vocabularies come from the split Transform analyses (`train`).
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf
import tensorflow_transform as tft

from components import preprocessing
from components.contract import PAD_ID, RESERVED_IDS

WORD_VOCAB = "tagger_words"
CHAR_VOCAB = "tagger_chars"
TAG_VOCAB = "tagger_tags"
DEFAULT_SEQUENCE_LENGTH = 64
DEFAULT_WORD_CHARS = 16
DEFAULT_WORD_MIN_COUNT = 2
PAD_TAG, UNSEEN_TAG = "", "<unseen>"


def pad(ids: tf.SparseTensor, length: int) -> tf.Tensor:
  """[batch, None] sparse ids -> [batch, length], truncated or 0-padded on the right."""
  return tf.RaggedTensor.from_sparse(ids)[:, :length].to_tensor(default_value=PAD_ID,
                                                                shape=[None, length])


def words_of(words: tf.SparseTensor, lowercase: bool) -> tf.SparseTensor:
  if not lowercase:
    return words
  return tf.SparseTensor(words.indices, tf.strings.lower(words.values, encoding="utf-8"),
                         words.dense_shape)


def char_ids(words: tf.SparseTensor, length: int, chars: int) -> tf.Tensor:
  """[batch, None] words -> [batch, length * chars] char ids (the words' first `chars` code
  points through a train-split vocabulary: index + 2, 1 unseen, 0 padding)."""
  words = tf.RaggedTensor.from_sparse(words)[:, :length]
  codepoints = tf.cast(tf.strings.unicode_decode(words.flat_values, "UTF-8"), tf.int64)
  # Over code points, as components.char_preprocessing (a text vocabulary file cannot hold "\n").
  ids = tft.compute_and_apply_vocabulary(codepoints.flat_values, default_value=-1,
                                         vocab_filename=CHAR_VOCAB, name="tagger_char_vocab") + RESERVED_IDS
  per_word = codepoints.with_flat_values(ids)[:, :chars]
  grid = words.with_flat_values(per_word).to_tensor(default_value=PAD_ID,
                                                    shape=[None, length, chars])
  return tf.reshape(grid, [-1, length * chars])


def word_keys(words: tf.SparseTensor, length: int) -> tf.Tensor:
  """[batch, None] words -> [batch, length] lowercased words, "" past the sentence."""
  lowered = tf.RaggedTensor.from_sparse(words_of(words, lowercase=True))[:, :length]
  return lowered.to_tensor(default_value="", shape=[None, length])


def preprocessing_fn(inputs: dict, custom_config: Optional[dict[str, Any]] = None) -> dict:
  config = custom_config or {}
  length = int(config.get("sequence_length") or DEFAULT_SEQUENCE_LENGTH)
  words = words_of(inputs["words"], bool(config.get("lowercase", False)))
  # Names of their own: TF shares lookup tables by name within a process (see char_preprocessing).
  word_vocab = tft.vocabulary(
      words, top_k=config.get("word_top_k"), vocab_filename=WORD_VOCAB, name="tagger_word_vocab",
      frequency_threshold=int(config.get("word_min_count", DEFAULT_WORD_MIN_COUNT)))
  tag_ids = tft.compute_and_apply_vocabulary(inputs["tags"], num_oov_buckets=1,
                                             vocab_filename=TAG_VOCAB, name="tagger_tag_vocab")
  return {
      "word_ids": preprocessing.word_sequence(words, word_vocab, length),
      "char_ids": char_ids(inputs["words"], length,
                           int(config.get("word_chars") or DEFAULT_WORD_CHARS)),
      "word_keys": word_keys(inputs["words"], length),
      "tag_ids": pad(tf.SparseTensor(tag_ids.indices, tag_ids.values + 1, tag_ids.dense_shape),
                     length),
  }


def tag_names(tf_transform_output) -> list[str]:
  """tag id -> tag: index 0 is padding (""), T + 1 a tag unseen in train."""
  tags = [t.decode("utf-8") if isinstance(t, bytes) else t
          for t in tf_transform_output.vocabulary_by_name(TAG_VOCAB)]
  return [PAD_TAG] + tags + [UNSEEN_TAG]


def char_vocabulary_size(tf_transform_output) -> int:
  """Ids char_ids can hold: the vocabulary + padding + unseen."""
  return tf_transform_output.vocabulary_size_by_name(CHAR_VOCAB) + RESERVED_IDS


def word_vocabulary_size(tf_transform_output) -> int:
  """Ids word_ids can hold: the vocabulary + padding + OOV."""
  return tf_transform_output.vocabulary_size_by_name(WORD_VOCAB) + RESERVED_IDS
