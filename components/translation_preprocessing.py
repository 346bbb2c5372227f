"""The Transform preprocessing_fn of the parallel corpora: source and target word vocabularies.

Standardisation (both sides, `standardize`): lowercase (Unicode), every punctuation or symbol
character (Unicode P* and S*: `.,!?¿¡'"-` ...) split off as a token of its own, any Unicode space
(U+202F, French's narrow space before `!?`, included) a separator. So "¿Qué?" -> "¿ qué ?" and
"don't" -> "don ' t": no punctuation is lost, and the vocabulary holds no "word." variants.

Ids (both sides): 0 padding, 1 unknown word (outside the top-k), 2 start, 3 end (reserved ids,
not the seed's `startofseq`/`endofseq` words, which could collide with real text), word w of
the vocabulary (most frequent first) 4 + w.

Outputs (one row per pair):
  source_ids          int64 [Ls]  the English tokens, truncated/0-padded to Ls
  decoder_input_ids   int64 [Lt]  start + target tokens, truncated/0-padded to Lt
  decoder_target_ids  int64 [Lt]  target tokens + end, truncated/0-padded to Lt (a target longer
                                  than Lt - 1 tokens loses its end token with its tail)
  source, target      string []   the raw pair (what the served model reads, and BLEU's
                                  references)

custom_config: source_top_k, target_top_k (default 10 000 each), source_length,
target_length (default 20 each). Vocabularies come from the analysed split (`train`).
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf
import tensorflow_transform as tft

SOURCE_VOCAB, TARGET_VOCAB = "source_words", "target_words"
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
RESERVED = ("", "[UNK]", "[START]", "[END]")
DEFAULT_TOP_K = 10000
DEFAULT_LENGTH = 20
_PUNCTUATION = r"([\p{P}\p{S}])"
_SPACE = r"[\p{Z}\s]+"
# detokenize's rules, in order (RE2): a word's inner apostrophe or hyphen joined ("don ' t",
# "e - mail"); no space before closing punctuation nor after opening punctuation; a pair of
# straight double quotes hugs what it encloses.
_DETOKENIZE = (
    (r"(\pL) ([\'’-]) (\pL)", r"\1\2\3"),
    (r" ([.,!?;:%…)\]}»])", r"\1"),
    (r"([¿¡(\[{«]) ", r"\1"),
    (r'"\s*([^"]*?)\s*"', r'"\1"'),
)


def standardize(text: tf.Tensor) -> tf.Tensor:
  """Strings -> lowercased strings with punctuation spaced off and single spaces."""
  text = tf.strings.lower(text, encoding="utf-8")
  text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
  return tf.strings.strip(tf.strings.regex_replace(text, _SPACE, " "))


def detokenize(text: tf.Tensor) -> tf.Tensor:
  """Standardised (model) output -> text a reader expects: "¿ de verdad ?" -> "¿De verdad?",
  "je n ' aime pas ça ." -> "Je n'aime pas ça.". A first letter (after opening punctuation,
  not after a digit) is upper-cased (Unicode); the rest stays lowercase, as the model emits it.
  standardize(detokenize(t)) == t: no token is lost or changed. Graph ops only, so the served model returns
  it; sacremoses' Moses detokenizer is the reference it is tested against."""
  for pattern, rewrite in _DETOKENIZE:
    # Twice: a match consumes the letter that begins the next one ("a - b - c").
    text = tf.strings.regex_replace(tf.strings.regex_replace(text, pattern, rewrite),
                                    pattern, rewrite)
  head = tf.strings.regex_replace(text, r"^([^\pL\pN]*).*$", r"\1")  # "¿", "\"", ...
  start = tf.strings.length(head, unit="UTF8_CHAR")
  letter = tf.strings.substr(text, start, tf.ones_like(start), unit="UTF8_CHAR")
  length = tf.strings.length(text, unit="UTF8_CHAR")
  rest = tf.strings.substr(text, tf.minimum(start + 1, length), length, unit="UTF8_CHAR")
  return tf.strings.join([head, tf.strings.upper(letter, encoding="utf-8"), rest])


def tokenize(text: tf.Tensor) -> tf.SparseTensor:
  """[batch] or [batch, 1] strings -> [batch, None] tokens of the standardised text."""
  return tf.strings.split(standardize(tf.reshape(text, [-1])), sep=" ").to_sparse()


def _ids(tokens: tf.SparseTensor, vocab, name: str) -> tf.RaggedTensor:
  ids = tft.apply_vocabulary(tokens, vocab, default_value=-1, name=name)
  values = tf.where(ids.values < 0, tf.constant(UNK_ID, tf.int64), ids.values + len(RESERVED))
  return tf.RaggedTensor.from_sparse(tf.SparseTensor(ids.indices, values, ids.dense_shape))


def _pad(ragged: tf.RaggedTensor, length: int) -> tf.Tensor:
  return ragged[:, :length].to_tensor(default_value=PAD_ID, shape=[None, length])


def preprocessing_fn(inputs: dict, custom_config: Optional[dict[str, Any]] = None) -> dict:
  config = custom_config or {}
  source_length = int(config.get("source_length", DEFAULT_LENGTH))
  target_length = int(config.get("target_length", DEFAULT_LENGTH))
  source_tokens, target_tokens = tokenize(inputs["source"]), tokenize(inputs["target"])
  # Named lookups: TF shares lookup tables by name within a process (see char_preprocessing).
  source_vocab = tft.vocabulary(source_tokens, top_k=int(config.get("source_top_k", DEFAULT_TOP_K)),
                                vocab_filename=SOURCE_VOCAB, name="source_vocabulary")
  target_vocab = tft.vocabulary(target_tokens, top_k=int(config.get("target_top_k", DEFAULT_TOP_K)),
                                vocab_filename=TARGET_VOCAB, name="target_vocabulary")
  source = _ids(source_tokens, source_vocab, "source_lookup")
  target = _ids(target_tokens, target_vocab, "target_lookup")
  rows = target.nrows()
  start = tf.fill([rows, 1], tf.constant(START_ID, tf.int64))
  end = tf.fill([rows, 1], tf.constant(END_ID, tf.int64))
  return {
      "source_ids": _pad(source, source_length),
      "decoder_input_ids": _pad(tf.concat([start, target], axis=1), target_length),
      "decoder_target_ids": _pad(tf.concat([target, end], axis=1), target_length),
      "source": tf.reshape(inputs["source"], [-1]),
      "target": tf.reshape(inputs["target"], [-1]),
  }


def vocabulary(tf_transform_output, side: str = "target") -> list[str]:
  """id -> token of one side ("source" | "target"), the reserved ids first."""
  name = {"source": SOURCE_VOCAB, "target": TARGET_VOCAB}[side]
  words = [w.decode("utf-8") if isinstance(w, bytes) else w
           for w in tf_transform_output.vocabulary_by_name(name)]
  return list(RESERVED) + words


def vocabulary_size(tf_transform_output, side: str) -> int:
  name = {"source": SOURCE_VOCAB, "target": TARGET_VOCAB}[side]
  return tf_transform_output.vocabulary_size_by_name(name) + len(RESERVED)
