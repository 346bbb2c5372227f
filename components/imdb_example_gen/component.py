"""ImdbExampleGen: FileBasedExampleGen with an executor that streams aclImdb_v1.tar.gz."""
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components import routed_example_gen
from components.imdb_example_gen import executor


class ImdbExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` into train/eval/test splits of tf.Examples.

  Upstream `test` becomes `test`; upstream `train` is split into `train`/`eval` by a seeded hash
  of each review's id (`eval_percent` % to eval). Features: text, label (1 = pos), rating, id.
  `sample_percent` < 100 keeps that share of every split (executor.in_sample).
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, file_name: str = "aclImdb_v1.tar.gz",
               split_seed: int = 42, eval_percent: int = 20, sample_percent: int = 100):
    super().__init__(
        input_base=input_base, input_config=routed_example_gen.input_config(file_name),
        custom_config=routed_example_gen.custom_config(
            {"split_seed": split_seed, "eval_percent": eval_percent,
             **({"sample_percent": sample_percent} if sample_percent < 100 else {})},
            executor.__name__))
