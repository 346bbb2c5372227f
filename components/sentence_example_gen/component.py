"""SentenceExampleGen: FileBasedExampleGen with an executor that reads a labelled-sentence zip."""
from __future__ import annotations

from typing import Optional, Sequence

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.sentence_example_gen import executor, reader


class SentenceExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` (default: the format's upstream zip name) into train/eval/test
  splits stratified by label, duplicates kept together (see executor.py). Features: text, label.

  corpus_format: "uci_sentences" | "sarcasm". split_fractions: train/eval/test shares, default
  the format's (UCI 0.7/0.1/0.2, sarcasm 0.8/0.1/0.1).
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, corpus_format: str = "uci_sentences",
               split_fractions: Optional[Sequence[float]] = None, split_seed: int = 42,
               file_name: Optional[str] = None):
    fmt = reader.get_format(corpus_format)
    fractions = executor.split_fractions(split_fractions or fmt.split_fractions)
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(
            file_name or fmt.file_name),
        custom_config=routed_example_gen.custom_config({
            "corpus_format": corpus_format, "split_fractions": fractions,
            "split_seed": split_seed}, executor.__name__))
