"""EmbeddingTrainer executor: TFX's GenericExecutor, plus the embedding and encoder artifacts'
uris in fn_args.custom_config["embedding_uri"] and ["encoder_uri"] (read by
trainers.common.TrainerParams; they replace any value custom_config had)."""
from __future__ import annotations

from typing import Any, Dict, List

from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils

EMBEDDING_KEY = "embedding"
EMBEDDING_URI = "embedding_uri"
ENCODER_KEY = "encoder"
ENCODER_URI = "encoder_uri"


class Executor(trainer_executor.GenericExecutor):

  def _GetFnArgs(self, input_dict: Dict[str, List[types.Artifact]],
                 output_dict: Dict[str, List[types.Artifact]],
                 exec_properties: Dict[str, Any]) -> fn_args_utils.FnArgs:
    fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
    for key, uri_key in ((EMBEDDING_KEY, EMBEDDING_URI), (ENCODER_KEY, ENCODER_URI)):
      if input_dict.get(key):
        fn_args.custom_config = dict(
            fn_args.custom_config or {}, **{uri_key: artifact_utils.get_single_uri(input_dict[key])})
    return fn_args
