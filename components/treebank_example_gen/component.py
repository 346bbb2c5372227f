"""TreebankExampleGen: FileBasedExampleGen with an executor that reads the treebank zip."""
from __future__ import annotations

from typing import Optional

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.treebank_example_gen import executor, reader


class TreebankExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` (default treebank.zip) into train/eval/test sentences split
  by a seeded hash of the sentence id (executor.py). Features: words, tags, sentence_id.

  drop_none: drop the `-NONE-` empty elements (default; see reader.py). test_fraction: share of
  all sentences; eval_fraction: share of the rest (seed 003: 1/3, then 10 %).
  conll_pattern: a generic corpus's CoNLL files (`<input_base>/<conll_pattern>`, conll.py) in
  place of the zip; word_column / tag_column: their 1-based columns (None: conll.py's defaults).
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, drop_none: bool = True, test_fraction: float = 1 / 3,
               eval_fraction: float = 0.1, split_seed: int = 3,
               file_name: str = reader.FILE_NAME, conll_pattern: Optional[str] = None,
               word_column: Optional[int] = None, tag_column: Optional[int] = None):
    config = executor.checked({"drop_none": drop_none, "test_fraction": test_fraction,
                               "eval_fraction": eval_fraction, "split_seed": split_seed})
    if conll_pattern:
      config.update(conll=True, word_column=word_column or 0, tag_column=tag_column or 0)
    super().__init__(
        input_base=input_base,
        input_config=routed_example_gen.input_config(conll_pattern or file_name),
        custom_config=routed_example_gen.custom_config(config, executor.__name__))
