"""EmbeddingTrainer executor: TFX's GenericExecutor, plus the embedding artifact's uri in
fn_args.custom_config["embedding_uri"] (read by trainers.common.TrainerParams; it replaces any
value custom_config had)."""
from __future__ import annotations

from typing import Any, Dict, List

from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils

EMBEDDING_KEY = "embedding"
EMBEDDING_URI = "embedding_uri"


class Executor(trainer_executor.GenericExecutor):

  def _GetFnArgs(self, input_dict: Dict[str, List[types.Artifact]],
                 output_dict: Dict[str, List[types.Artifact]],
                 exec_properties: Dict[str, Any]) -> fn_args_utils.FnArgs:
    fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
    if input_dict.get(EMBEDDING_KEY):
      fn_args.custom_config = dict(
          fn_args.custom_config or {},
          **{EMBEDDING_URI: artifact_utils.get_single_uri(input_dict[EMBEDDING_KEY])})
    return fn_args
