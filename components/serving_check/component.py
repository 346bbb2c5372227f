"""ServingCheck component: the candidate model run as TF Serving runs it, before any push."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import fingerprint
from components.serving_check import executor


class ServingCheckSpec(types.ComponentSpec):
  PARAMETERS = {
      "split": ExecutionParameter(type=str),
      "text_feature": ExecutionParameter(type=str),
      "num_examples": ExecutionParameter(type=int),
      "max_chars": ExecutionParameter(type=int),
      fingerprint.KEY: ExecutionParameter(type=str),  # the executor's code (for the cache)
  }
  INPUTS = {"model": ChannelParameter(type=standard_artifacts.Model),
            "examples": ChannelParameter(type=standard_artifacts.Examples)}
  OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.InfraBlessing)}


class ServingCheck(base_component.BaseComponent):
  """What TFX's InfraValidator does, without a model server (none runs on this stack's machines):
  loads the Trainer's serving model with the session-based loader that TF Serving uses, runs
  `serving_default` on the first `num_examples` raw texts of `split` (feature `text_feature`; a
  list of words is joined by spaces; cut to `max_chars`) and every other signature it can feed
  (see sessions.feeds_for), and requires the outputs to equal those of tf.saved_model.load.

  The output is an InfraBlessing, as the InfraValidator's: the Pusher's `infra_blessing` input, so
  a model that fails is never pushed. Its custom properties: `blessed` (1/0), `reason` (why not,
  or what was checked), `signatures`, `max_abs_difference`, `seconds`; also serving_check.json.
  """

  SPEC_CLASS = ServingCheckSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, model: types.BaseChannel, examples: types.BaseChannel,
               text_feature: str = "text", split: str = "test", num_examples: int = 8,
               max_chars: int = 400):
    if num_examples < 1:
      raise ValueError(f"ServingCheck: num_examples must be >= 1, got {num_examples}")
    super().__init__(spec=ServingCheckSpec(
        model=model, examples=examples, split=split, text_feature=text_feature,
        num_examples=num_examples, max_chars=max_chars,
        blessing=types.Channel(type=standard_artifacts.InfraBlessing),
        **{fingerprint.KEY: fingerprint.of_modules(executor.__name__)}))
