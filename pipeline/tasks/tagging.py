"""Part-of-speech tagging (the NLTK treebank sample): word, char and tag vocabularies from
components.tagger_preprocessing; the Evaluator's metric is the test sentences' token accuracy
(real words only); blessed at accuracy_floor or above. A GloVe model looks words up in GloVe's
own word list (a test word the train split lacks still has its vector)."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from pipeline import corpora, tasks


class Gate(tasks.Gate):
  accuracy_floor: float = Field(0.85, ge=0, description="not blessed below this test token "
                                "accuracy")


def _treebank_zip(cfg, data_dir: str):
  from components.treebank_example_gen.component import TreebankExampleGen  # pylint: disable=import-outside-toplevel
  return TreebankExampleGen(input_base=data_dir, drop_none=not cfg.keep_none,
                            split_seed=cfg.seed)


def _generic_conll(cfg, data_dir: str, path: str, text: Optional[str] = None,
                   label: Optional[str] = None, **_):
  """A corpus mapping `{format: conll, path: ..., [text: <word column>, label: <tag column>]}`."""
  from components.treebank_example_gen.component import TreebankExampleGen  # pylint: disable=import-outside-toplevel
  return TreebankExampleGen(input_base=data_dir, split_seed=cfg.seed, conll_pattern=path,
                            word_column=int(text) if text else None,
                            tag_column=int(label) if label else None)


class Tagging(tasks.Task):
  name = "tagging"
  label = "tagging"
  metric = "test token accuracy"
  value_key = "token_accuracy"
  gate = Gate
  default_family = "pos_tagger"
  serving_text_feature = "words"
  preprocessing_module = "components.tagger_preprocessing"
  readers = {"treebank_zip": _treebank_zip, corpora.GENERIC_READER: _generic_conll}

  def transform_config(self, cfg) -> dict:
    return {"sequence_length": cfg.sequence_length or None}

  def glove_embedding(self, transform, source: str):
    from components.glove_embedding.component import GloveEmbedding  # pylint: disable=import-outside-toplevel
    return GloveEmbedding(transform_graph=None, source=source)  # the source's own words

  def eval_config(self, gate: Gate):
    return tasks.counted_metric_config(
        "TokenAccuracy", "components.tagger_metrics",
        tasks.gate_threshold({"lower_bound": {"value": gate.accuracy_floor}}))


TASK = Tagging()
