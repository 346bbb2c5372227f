"""Corpus BLEU with several references per segment (sacrebleu), for the translators' metrics:
the Trainer's bleu.json, the Evaluator's MultiReferenceBleu and the scripts. corpus_bleu scores
the model's own tokenization against standardised references; standard_bleu the detokenized
output against the raw references, sacrebleu's way."""
from __future__ import annotations

from typing import Sequence

import sacrebleu


def _streams(references: Sequence[Sequence[str]]) -> list:
  width = max(len(r) for r in references)
  return [[refs[j] if j < len(refs) else None for refs in references] for j in range(width)]


def _check(hypotheses, references) -> None:
  if len(hypotheses) != len(references) or any(not r for r in references):
    raise ValueError(f"{len(hypotheses)} hypotheses need as many non-empty reference lists, got "
                     f"{len(references)} ({sum(not r for r in references)} empty)")


def standard_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                  lowercase: bool = False) -> tuple[sacrebleu.BLEUScore, str]:
  """BLEU as papers report it: sacrebleu's defaults (13a tokenisation, exponential smoothing)
  on detokenized hypotheses against the raw references, cased unless `lowercase`; with its
  signature (sacrebleu's reproducibility string)."""
  _check(hypotheses, references)
  metric = sacrebleu.metrics.BLEU(lowercase=lowercase)
  score = metric.corpus_score(list(hypotheses), _streams(references))
  return score, str(metric.get_signature())


def corpus_bleu(hypotheses: Sequence[str],
                references: Sequence[Sequence[str]]) -> sacrebleu.BLEUScore:
  """sacrebleu corpus BLEU; references[i] holds every reference of hypothesis i (any number,
  at least one). Both sides should be standardised the same way (lowercase, punctuation
  spaced: translation_preprocessing.standardize), since the model emits that form."""
  _check(hypotheses, references)
  return sacrebleu.corpus_bleu(list(hypotheses), _streams(references), force=True)
