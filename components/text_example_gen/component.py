"""TextExampleGen: FileBasedExampleGen with an executor that reads plain-text books."""
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.text_example_gen import executor


class TextExampleGen(FileBasedExampleGen):
  """Reads the files matching `<input_base>/<pattern>` (sorted by name, joined) into
  position-split train/eval/test chunks. Features: text (a chunk), offset (its character offset
  within its split). See reader.py for normalisation and the split."""

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, pattern: str, gutenberg: bool = False,
               collapse_whitespace: bool = False, split_fractions=(0.9, 0.05, 0.05),
               chunk_chars: int = 4096):
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(pattern),
        custom_config=routed_example_gen.custom_config({
            "gutenberg": gutenberg, "collapse_whitespace": collapse_whitespace,
            "split_fractions": list(split_fractions), "chunk_chars": chunk_chars},
            executor.__name__))
