"""EmbeddingTrainer: TFX's Trainer (same arguments, outputs and behaviour) with an optional
`embedding` input of type EmbeddingMatrix and an optional `encoder` of type TextEncoder, whose
uris run_fn gets as fn_args.custom_config["embedding_uri"] and ["encoder_uri"]."""
from typing import Any, Dict, Optional

from tfx import types
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

from components.embedding_trainer import executor
from components.glove_embedding.component import EmbeddingMatrix
from components.sentence_encoder.component import TextEncoder


class EmbeddingTrainerSpec(standard_component_specs.TrainerSpec):
  INPUTS = {
      **standard_component_specs.TrainerSpec.INPUTS,
      executor.EMBEDDING_KEY: ChannelParameter(type=EmbeddingMatrix, optional=True),
      executor.ENCODER_KEY: ChannelParameter(type=TextEncoder, optional=True),
  }


class EmbeddingTrainer(base_component.BaseComponent):
  """tfx.components.Trainer plus `embedding`: the same spec, checks and GenericExecutor, which
  passes the embedding's uri on. Without `embedding`, it is the standard Trainer."""

  SPEC_CLASS = EmbeddingTrainerSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel,
               transform_graph: Optional[types.BaseChannel] = None,
               schema: Optional[types.BaseChannel] = None,
               embedding: Optional[types.BaseChannel] = None,
               encoder: Optional[types.BaseChannel] = None,
               base_model: Optional[types.BaseChannel] = None,
               hyperparameters: Optional[types.BaseChannel] = None,
               module_file: Optional[str] = None, run_fn: Optional[str] = None,
               train_args: Optional[trainer_pb2.TrainArgs] = None,
               eval_args: Optional[trainer_pb2.EvalArgs] = None,
               custom_config: Optional[Dict[str, Any]] = None):
    # As tfx.components.Trainer.__init__ (which cannot be reused: it builds a TrainerSpec).
    if [bool(module_file), bool(run_fn)].count(True) != 1:
      raise ValueError("Exactly one of 'module_file', or 'run_fn' must be supplied.")
    if not examples:
      raise ValueError("EmbeddingTrainer: 'examples' must be supplied.")
    spec = EmbeddingTrainerSpec(
        examples=examples, transform_graph=transform_graph, schema=schema,
        base_model=base_model, hyperparameters=hyperparameters, embedding=embedding,
        encoder=encoder,
        train_args=train_args or trainer_pb2.TrainArgs(),
        eval_args=eval_args or trainer_pb2.EvalArgs(),
        module_file=module_file, run_fn=run_fn, custom_config=json_utils.dumps(custom_config),
        model=types.Channel(type=standard_artifacts.Model),
        model_run=types.Channel(type=standard_artifacts.ModelRun))
    super().__init__(spec=spec)
    if udf_utils.should_package_user_modules():
      udf_utils.add_user_module_dependency(self, standard_component_specs.MODULE_FILE_KEY,
                                           standard_component_specs.MODULE_PATH_KEY)
