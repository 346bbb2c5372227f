"""The TFMA metric of the translators (components.translation_metrics): sacrebleu corpus BLEU with
one segment per source and every translation of it a reference, however TFMA splits the examples
over accumulators."""
import numpy as np
import pytest
import tensorflow_model_analysis as tfma

from components import bleu, translation_metrics

# (source, greedy translation, reference): "go ." has two references, in different accumulators
PAIRS = [("Go.", "ve .", "ve ."), ("Go.", "ve .", "vete ."), ("I like cats.", "me gustan gatos .",
         "me gustan los gatos ."), ("Run!", "corre !", "¡ corre !")]


def _input(source, translation, reference):
  return tfma.metrics.StandardMetricInputs(predictions={
      "source": np.array([source.encode()]), "translation": np.array([translation.encode()]),
      "reference": np.array([reference.encode()])})


def test_bleu_groups_references_by_source_across_accumulators():
  combiner = translation_metrics.MultiReferenceBleu().computations()[0].combiner
  left = combiner.add_input(combiner.create_accumulator(), _input(*PAIRS[0]))
  right = combiner.create_accumulator()
  for pair in PAIRS[1:]:
    right = combiner.add_input(right, _input(*pair))
  [value] = combiner.extract_output(combiner.merge_accumulators([left, right])).values()
  expected = bleu.corpus_bleu(["ve .", "me gustan gatos .", "corre !"],
                                   [["ve .", "vete ."], ["me gustan los gatos ."], ["¡ corre !"]])
  assert value == pytest.approx(expected.score) and value > 0
  # one segment per pair (TFMA's own Bleu) would score the same translations differently
  per_pair = bleu.corpus_bleu([t for _, t, _ in PAIRS], [[r] for _, _, r in PAIRS])
  assert per_pair.score != pytest.approx(value)


def test_bleu_needs_the_translator_outputs_one_per_example():
  combiner = translation_metrics.MultiReferenceBleu().computations()[0].combiner
  with pytest.raises(ValueError, match=r"needs the predictions \['translation', 'source', "
                     r"'reference'\]"):
    combiner.add_input(combiner.create_accumulator(), tfma.metrics.StandardMetricInputs(
        predictions={"probabilities": np.array([0.5])}))
  with pytest.raises(ValueError, match="one string per example, got 2"):
    combiner.add_input(combiner.create_accumulator(), tfma.metrics.StandardMetricInputs(
        predictions={"source": np.array([b"a", b"b"]), "translation": np.array([b"x"]),
                     "reference": np.array([b"y"])}))
