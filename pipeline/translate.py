"""`textzoo translate`: a served translator (TF Serving layout, or a Trainer's Format-Serving
dir) turns English sentences into the target language, greedily or by beam search
(trainers.seq2seq_decoding: the encoder runs once per sentence, the decoder one step at a time
through the model's `encode` and `decode_step` signatures). The model's words are standardised
(lowercase, punctuation as separate tokens), as it was trained on them; `detokenize` gives the
text a reader expects, as the served `translation` output does.

Beam width, length alpha and the unknown-word penalty default to what the model's config chose
(its `vocabulary` signature returns them); an argument overrides each. A model exported before
they were stored decodes greedily with alpha 1 and no penalty."""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import tensorflow as tf

from components import translation_preprocessing as tp
from pipeline import serving_client
from trainers import seq2seq_decoding


@dataclasses.dataclass(frozen=True)
class Decoding:
  beam: int = 1
  alpha: float = 1.0
  unk_penalty: float = 0.0


def _stored_decoding(vocabulary: dict) -> Decoding:
  default = Decoding()
  return Decoding(
      beam=int(vocabulary["beam_width"].numpy()) if "beam_width" in vocabulary else default.beam,
      alpha=float(vocabulary["length_alpha"].numpy()) if "length_alpha" in vocabulary
      else default.alpha,
      unk_penalty=float(vocabulary["unk_penalty"].numpy()) if "unk_penalty" in vocabulary
      else default.unk_penalty)


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
  translator.decoding = _stored_decoding(vocabulary)
  return translator


def _override(stored: Decoding, beam, alpha, unk_penalty) -> Decoding:
  chosen = Decoding(stored.beam if beam is None else beam,
                    stored.alpha if alpha is None else alpha,
                    stored.unk_penalty if unk_penalty is None else unk_penalty)
  if chosen.beam < 1:
    raise ValueError(f"--beam must be >= 1, got {chosen.beam}")
  return chosen


def translate(model_dir: str, sentences: Sequence[str], beam: Optional[int] = None,
              alpha: Optional[float] = None, unk_penalty: Optional[float] = None) -> list[str]:
  """The model's words (standardised) per sentence. beam 1: greedy; beam k > 1: beam search of
  width k (length-normalised by alpha). None: the model's own setting."""
  translator = load(model_dir)
  chosen = _override(translator.decoding, beam, alpha, unk_penalty)
  return translator.translate(list(sentences), beam=chosen.beam, alpha=chosen.alpha,
                              unk_penalty=chosen.unk_penalty)


def n_best(model_dir: str, sentences: Sequence[str], n: int, beam: Optional[int] = None,
           alpha: Optional[float] = None, unk_penalty: Optional[float] = None
           ) -> list[list[tuple[str, float]]]:
  """Per sentence, the beam's n best hypotheses (words, length-normalised log-probability),
  best first; the beam is at least n wide."""
  translator = load(model_dir)
  chosen = _override(translator.decoding, beam if beam is not None else max(
      n, translator.decoding.beam), alpha, unk_penalty)
  return translator.n_best(list(sentences), chosen.beam, n, chosen.alpha, chosen.unk_penalty)


def detokenize(words: Sequence[str]) -> list[str]:
  """The model's words as a reader expects them (the served signature's `translation`)."""
  return [t.decode("utf-8") for t in tp.detokenize(tf.constant(list(words), tf.string)).numpy()]
