"""TreebankExampleGen: FileBasedExampleGen with an executor that reads the treebank zip."""
from __future__ import annotations

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.treebank_example_gen import executor, reader


class TreebankExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` (default treebank.zip) into train/eval/test sentences split
  by a seeded hash of the sentence id (executor.py). Features: words, tags, sentence_id.

  drop_none: drop the `-NONE-` empty elements (default; see reader.py). test_fraction: share of
  all sentences; eval_fraction: share of the rest (seed 003: 1/3, then 10 %).
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, drop_none: bool = True, test_fraction: float = 1 / 3,
               eval_fraction: float = 0.1, split_seed: int = 3,
               file_name: str = reader.FILE_NAME):
    config = executor.checked({"drop_none": drop_none, "test_fraction": test_fraction,
                               "eval_fraction": eval_fraction, "split_seed": split_seed})
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(file_name),
        custom_config=routed_example_gen.custom_config(config, executor.__name__))
