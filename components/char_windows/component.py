"""CharWindows component: Transform's char ids -> (input, target) windows per split."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import fingerprint
from components.char_windows import executor

MODES = ("stateless", "stateful")


class CharWindowsSpec(types.ComponentSpec):
  PARAMETERS = {
      "mode": ExecutionParameter(type=str),
      "length": ExecutionParameter(type=int),
      "stride": ExecutionParameter(type=int),
      "batch_size": ExecutionParameter(type=int),
      "seed": ExecutionParameter(type=int),
      fingerprint.KEY: ExecutionParameter(type=str),  # the executor's code (for the cache)
  }
  INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}
  OUTPUTS = {"windows": ChannelParameter(type=standard_artifacts.Examples)}


class CharWindows(base_component.BaseComponent):
  """Cuts each split's char-id stream into windows of `length + 1` ids, written as tf.Examples
  with `input` = ids[:-1] and `target` = ids[1:] (int64 [length] each).

  mode="stateless": train windows start every `stride` characters and are shuffled (seeded);
    eval/test windows do not overlap (stride = length) and keep text order.
  mode="stateful": every split is cut into `batch_size` contiguous streams and windows are laid
    out so that row i of batch k+1 continues row i of batch k (read them unshuffled, batched by
    `batch_size`); consecutive windows of a stream share one character (target -> next input).
  Windows never cross a split boundary. Window counts per split are artifact properties
  (`windows_<split>`).
  """

  SPEC_CLASS = CharWindowsSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, mode: str = "stateless", length: int = 100,
               stride: int = 1, batch_size: int = 64, seed: int = 42):
    if mode not in MODES:
      raise ValueError(f"CharWindows: unknown mode {mode!r}; valid: {', '.join(MODES)}")
    windows = types.Channel(type=standard_artifacts.Examples)
    super().__init__(spec=CharWindowsSpec(
        examples=examples, mode=mode, length=length, stride=stride, batch_size=batch_size,
        seed=seed, windows=windows,
        **{fingerprint.KEY: fingerprint.of_modules(executor.__name__)}))
