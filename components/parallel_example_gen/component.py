"""ParallelExampleGen: FileBasedExampleGen with an executor that reads a parallel-text zip."""
from __future__ import annotations

from typing import Optional, Sequence

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.parallel_example_gen import executor, reader


class ParallelExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` (default: the format's upstream zip name) into train/eval/test
  splits by a seeded hash of the English source (see executor.py). Features: source, target.

  corpus_format: "spa_eng" | "fra_eng". split_fractions: train/eval/test shares, default
  0.8/0.1/0.1 (in expectation). pairs_pattern: a generic `pairs` corpus in place of the zip,
  plain `source<TAB>target` files matching `<input_base>/<pairs_pattern>`.
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, corpus_format: str = "spa_eng",
               split_fractions: Optional[Sequence[float]] = None, split_seed: int = 42,
               file_name: Optional[str] = None, pairs_pattern: Optional[str] = None):
    fmt = reader.get_format(corpus_format)
    fractions = executor.split_fractions(split_fractions or executor.DEFAULT_FRACTIONS)
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(
            pairs_pattern or file_name or fmt.file_name),
        custom_config=routed_example_gen.custom_config({
            "corpus_format": corpus_format, "plain_files": bool(pairs_pattern),
            "split_fractions": fractions, "split_seed": split_seed}, executor.__name__))
