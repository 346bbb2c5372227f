"""Translation (Tatoeba en->es, en->fr): source and target vocabularies from
components.translation_preprocessing; the Evaluator's metric is the corpus BLEU of greedy
decoding over the test pairs (the Trainer also writes greedy and beam BLEU to bleu.json);
blessed at bleu_floor or above."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from pipeline import corpora, tasks


class Gate(tasks.Gate):
  bleu_floor: float = Field(20.0, ge=0, description="not blessed below this test BLEU (greedy)")


def _parallel_zip(cfg, data_dir: str, corpus_format: str):
  from components.parallel_example_gen.component import ParallelExampleGen  # pylint: disable=import-outside-toplevel
  return ParallelExampleGen(input_base=data_dir, corpus_format=corpus_format,
                            split_fractions=cfg.split_fractions, split_seed=cfg.seed)


def _generic_pairs(cfg, data_dir: str, path: str, **_):
  """A corpus mapping `{format: pairs, path: ...}`: plain source<TAB>target files."""
  from components.parallel_example_gen.component import ParallelExampleGen  # pylint: disable=import-outside-toplevel
  return ParallelExampleGen(input_base=data_dir, pairs_pattern=path,
                            split_fractions=cfg.split_fractions, split_seed=cfg.seed)


class Translation(tasks.Task):
  name = "translation"
  label = "translation"
  metric = "test BLEU, greedy"
  value_key = "bleu"
  gate = Gate
  default_family = "translator"
  serving_text_feature = "source"
  preprocessing_module = "components.translation_preprocessing"
  # The Trainer decodes the test split too (bleu.json), from the raw pairs passed through.
  transform_splits = ("train", "eval", "test")
  readers = {"parallel_zip": _parallel_zip, corpora.GENERIC_READER: _generic_pairs}

  def check(self, cfg) -> Optional[str]:
    if cfg.split_fractions is not None and min(cfg.split_fractions) <= 0:
      return (f"the translators need pairs in every split; split_fractions "
              f"{cfg.split_fractions} has an empty share")
    return None

  def transform_config(self, cfg) -> dict:
    return {k: getattr(cfg, k) for k in ("source_top_k", "target_top_k", "source_length",
                                         "target_length")}

  def eval_config(self, gate: Gate):
    return tasks.counted_metric_config(
        "MultiReferenceBleu", "components.translation_metrics",
        tasks.gate_threshold({"lower_bound": {"value": gate.bleu_floor}}))


TASK = Translation()
