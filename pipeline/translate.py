"""`textzoo translate`: a served translator (TF Serving layout, or a Trainer's Format-Serving
dir) turns English sentences into the target language, greedily or by beam search
(trainers.seq2seq_decoding: the encoder runs once per sentence, the decoder one step at a time
through the model's `encode` and `decode_step` signatures). Output words are standardised
(lowercase, punctuation as separate tokens), as the model was trained on them."""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from pipeline import serving_client
from trainers import seq2seq_decoding


def load(model_dir: str) -> seq2seq_decoding.Translator:
  path = serving_client.resolve_version_dir(model_dir)
  loaded = tf.saved_model.load(path)
  missing = {"encode", "decode_step", "vocabulary"} - set(loaded.signatures)
  if missing:
    raise ValueError(f"{path}: not a translator (no {sorted(missing)} signature)")
  vocabulary = loaded.signatures["vocabulary"]()
  translator = seq2seq_decoding.Translator(
      loaded.signatures["encode"], loaded.signatures["decode_step"],
      [t.decode("utf-8") for t in vocabulary["tokens"].numpy().tolist()],
      int(vocabulary["max_length"].numpy()))
  translator.loaded = loaded  # keeps the signatures' variables alive
  return translator


def translate(model_dir: str, sentences: Sequence[str], beam: int = 1, alpha: float = 1.0,
              unk_penalty: float = 0.0) -> list[str]:
  """beam 1: greedy; beam k > 1: beam search of width k (length-normalised by alpha)."""
  if beam < 1:
    raise ValueError(f"--beam must be >= 1, got {beam}")
  return load(model_dir).translate(list(sentences), beam=beam, alpha=alpha,
                                   unk_penalty=unk_penalty)
