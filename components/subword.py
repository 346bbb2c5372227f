"""A WordPiece subword vocabulary learned in Beam as a TFT analyzer, and subword-id sequences.

subword_vocabulary() counts the analysed split's words with Beam combiners and runs
tensorflow_text's WordPiece learner (the library under bert_vocab_from_dataset) on the counts;
the vocabulary file is a TFT asset, so it travels with the transform graph. Reserved tokens come
first: [PAD] id 0, [UNK] id 1; continuation pieces start with "##".

subword_sequence() splits words into pieces with tensorflow_text.WordpieceTokenizer over a lookup
table on that asset (FastWordpieceTokenizer needs the vocabulary as a Python list when the graph
is traced, before the analyzer has run). The WordpieceTokenizeWithOffsets op is a tensorflow_text
custom op: whoever loads the transform graph or a model holding it must `import tensorflow_text`
first (this module does).
"""
from __future__ import annotations

import contextlib
import os
from typing import Optional

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_text
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
RESERVED_TOKENS = (PAD, UNK)


def _batch_counts(batch):
  """One analyzer batch (a tuple holding the words' ndarray) -> (word, count) pairs."""
  words, counts = np.unique(batch[0], return_counts=True)
  return zip(words.tolist(), counts.tolist())


def _cap(vocab: list[str], vocab_size: int, name: str) -> list[str]:
  """The learner's binary search can stop above vocab_size: drop its rarest multi-character
  pieces, never a letter or its "##" form (without them some words could not be spelled)."""
  if len(vocab) <= vocab_size:
    return vocab
  alphabet = set(RESERVED_TOKENS) | {t for t in vocab if len(t.removeprefix("##")) == 1}
  if len(alphabet) > vocab_size:
    raise ValueError(f"subword vocabulary {name}: vocab_size {vocab_size} is below the "
                     f"{len(alphabet)} reserved tokens, letters and their ## forms")
  pieces = [t for t in vocab if t not in alphabet]  # most frequent first
  keep = alphabet | set(pieces[:vocab_size - len(alphabet)])
  return [t for t in vocab if t in keep]


def _learn_and_write(word_counts, vocab_size: int, path: str, learn_params: dict) -> np.ndarray:
  if not word_counts:
    raise ValueError(f"subword vocabulary {os.path.basename(path)}: the analysed split has no "
                     "words")
  counts = [(word.decode("utf-8"), count) for word, count in word_counts]
  vocab = _cap(learner.learn(counts, vocab_size, list(RESERVED_TOKENS), **learn_params),
              vocab_size, os.path.basename(path))
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, "w") as f:
    f.write("".join(token + "\n" for token in vocab))
  return np.array(path)


class LearnWordPiece(tft_beam.experimental.PTransformAnalyzer):
  """PCollection of (words ndarray,) batches -> one element: the written vocabulary's path."""

  def __init__(self, vocab_size: int, filename: str, learn_params: Optional[dict] = None):
    super().__init__()
    self._vocab_size = vocab_size
    self._filename = filename
    self._learn_params = dict(learn_params or {})

  def expand(self, pcoll):
    path = os.path.join(self.base_temp_dir, self._filename)
    return (pcoll
            | "CountPerBatch" >> beam.FlatMap(_batch_counts)
            | "SumCounts" >> beam.CombinePerKey(sum)
            | "AllCounts" >> beam.combiners.ToList()
            | "LearnAndWrite" >> beam.Map(_learn_and_write, vocab_size=self._vocab_size,
                                          path=path, learn_params=self._learn_params))


def subword_vocabulary(tokens: tf.SparseTensor, vocab_size: int, name: str,
                       learn_params: Optional[dict] = None) -> tf.Tensor:
  """The path of a WordPiece vocabulary (at most vocab_size lines, [PAD] and [UNK] first) learned
  over the analysed split's words; the file is the transform graph's asset `name`.
  learn_params: keyword arguments of wordpiece_tokenizer_learner_lib.learn (e.g. lower_thresh)."""
  path, = tft.experimental.ptransform_analyzer(
      [tokens.values], LearnWordPiece(vocab_size, name, learn_params), [tf.string], [[]],
      output_asset_default_values=["\n".join(RESERVED_TOKENS).encode()], name=name)
  return path


def subword_sequence(tokens: tf.SparseTensor, vocab_path: tf.Tensor, length: int) -> tf.Tensor:
  """[batch, None] words -> [batch, length] int64 subword ids, 0-padded/truncated; a word the
  vocabulary cannot spell (unknown character, over 100 bytes) is one [UNK]."""

  def lookup(words, path):
    with contextlib.ExitStack() as stack:
      if tf.inside_function() and (isinstance(path, str) or hasattr(path, "numpy")):
        # A Python or eager path (TFT's tracing gives an eager one): build the table once,
        # outside the function, as tft.apply_vocabulary does, not at every call.
        stack.enter_context(tf.init_scope())
      table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
          path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), default_value=UNK_ID)
    tokenizer = tensorflow_text.WordpieceTokenizer(table, token_out_type=tf.int64,
                                                   unknown_token=UNK)
    pieces = tokenizer.tokenize(tf.RaggedTensor.from_sparse(words)).merge_dims(1, 2)
    return pieces[:, :length].to_tensor(default_value=PAD_ID, shape=[None, length]), table.size()

  # apply_vocabulary with a lookup_fn tracks the asset and records the ids' domain in the schema.
  return tft.apply_vocabulary(tokens, vocab_path, default_value=UNK_ID, lookup_fn=lookup)
