"""ImdbExampleGen: FileBasedExampleGen with an executor that streams aclImdb_v1.tar.gz."""
from google.protobuf import any_pb2, struct_pb2
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.imdb_example_gen import executor

SPLITS = ("train", "eval", "test")


class ImdbExampleGen(FileBasedExampleGen):
  """Reads `<input_base>/<file_name>` into train/eval/test splits of tf.Examples.

  Upstream `test` becomes `test`; upstream `train` is split into `train`/`eval` by a seeded hash
  of each review's id (`eval_percent` % to eval). Features: text, label (1 = pos), rating, id.
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, file_name: str = "aclImdb_v1.tar.gz",
               split_seed: int = 42, eval_percent: int = 20):
    # All three splits name the same tarball (it drives the span/fingerprint logic and caching);
    # the executor reads it once and routes each review to its split.
    input_config = example_gen_pb2.Input(
        splits=[example_gen_pb2.Input.Split(name=s, pattern=file_name) for s in SPLITS])
    params = struct_pb2.Struct()
    params.update({"split_seed": split_seed, "eval_percent": eval_percent})
    packed = any_pb2.Any()
    packed.Pack(params)
    super().__init__(input_base=input_base, input_config=input_config,
                     custom_config=example_gen_pb2.CustomConfig(custom_config=packed))
