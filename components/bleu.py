"""Corpus BLEU with several references per segment (sacrebleu), for the translators' metrics:
the Trainer's bleu.json, the Evaluator's MultiReferenceBleu and the scripts."""
from __future__ import annotations

from typing import Sequence

import sacrebleu


def corpus_bleu(hypotheses: Sequence[str],
                references: Sequence[Sequence[str]]) -> sacrebleu.BLEUScore:
  """sacrebleu corpus BLEU; references[i] holds every reference of hypothesis i (any number,
  at least one). Both sides should be standardised the same way (lowercase, punctuation
  spaced: translation_preprocessing.standardize), since the model emits that form."""
  if len(hypotheses) != len(references) or any(not r for r in references):
    raise ValueError(f"{len(hypotheses)} hypotheses need as many non-empty reference lists, got "
                     f"{len(references)} ({sum(not r for r in references)} empty)")
  width = max(len(r) for r in references)
  streams = [[refs[j] if j < len(refs) else None for refs in references] for j in range(width)]
  return sacrebleu.corpus_bleu(list(hypotheses), streams, force=True)
