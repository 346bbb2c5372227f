"""SentenceExampleGen: FileBasedExampleGen with an executor that reads labelled texts: a built-in
labelled-sentence zip, or a generic source (sources.py: csv, tsv, jsonl, class folders)."""
from __future__ import annotations

from typing import Optional, Sequence

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.sentence_example_gen import executor, reader, sources


class SentenceExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` (default: the format's upstream zip name) into train/eval/test
  splits stratified by label, duplicates kept together (see executor.py). Features: text, label.

  corpus_format: "uci_sentences" | "sarcasm". split_fractions: train/eval/test shares, default
  the format's (UCI 0.7/0.1/0.2, sarcasm 0.8/0.1/0.1; a generic source 0.8/0.1/0.1).
  source: a generic source's settings (sources.Source's fields) in place of corpus_format; its
  path is the input pattern.
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, corpus_format: str = "uci_sentences",
               split_fractions: Optional[Sequence[float]] = None, split_seed: int = 42,
               file_name: Optional[str] = None, source: Optional[dict] = None):
    if source:
      sources.from_settings(source)  # a bad format fails here, not in the executor
      pattern, settings = source["path"], {"source": dict(source)}
      default = executor.GENERIC_FRACTIONS
    else:
      fmt = reader.get_format(corpus_format)
      pattern, settings = file_name or fmt.file_name, {"corpus_format": corpus_format}
      default = fmt.split_fractions
    settings.update(split_fractions=executor.split_fractions(split_fractions or default),
                    split_seed=split_seed)
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(pattern),
        custom_config=routed_example_gen.custom_config(settings, executor.__name__))
