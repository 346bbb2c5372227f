"""ServingCheck executor: reads a few raw examples of a split, runs sessions.check on the model's
serving dir, and marks the InfraBlessing the Pusher reads."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List

import tensorflow as tf
from absl import logging
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components.serving_check import sessions

REPORT_FILE = "serving_check.json"
# As TFX's InfraValidator: the Pusher reads `blessed`; the files say the same to a person.
BLESSED_FILE, NOT_BLESSED_FILE = "INFRA_BLESSED", "INFRA_NOT_BLESSED"


def read_texts(examples: types.Artifact, split: str, feature: str, count: int,
               max_chars: int) -> tuple[list[str], list[bytes]]:
  """The first `count` non-empty texts of a split (and their serialized examples), in file
  order: a string feature as it is, a list of words joined by spaces, cut to max_chars."""
  uri = artifact_utils.get_split_uri([examples], split)
  files = sorted(tf.io.gfile.glob(os.path.join(uri, "*")))
  if not files:
    raise ValueError(f"ServingCheck: no files in {uri} (split {split!r} of {examples.uri})")
  texts, records = [], []
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    example = tf.train.Example.FromString(record.numpy())
    if feature not in example.features.feature:
      raise ValueError(f"ServingCheck: {uri}: an example has no feature {feature!r} (it has "
                       f"{sorted(example.features.feature)})")
    words = [w.decode("utf-8") for w in example.features.feature[feature].bytes_list.value]
    text = " ".join(words)[:max_chars]
    if text.strip():
      texts.append(text)
      records.append(record.numpy())
    if len(texts) == count:
      break
  return texts, records


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    model = artifact_utils.get_single_instance(input_dict["model"])
    examples = artifact_utils.get_single_instance(input_dict["examples"])
    blessing = artifact_utils.get_single_instance(output_dict["blessing"])
    model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
    texts, records = read_texts(examples, exec_properties["split"],
                                exec_properties["text_feature"],
                                exec_properties["num_examples"], exec_properties["max_chars"])
    result = sessions.check(model_dir, texts, records)
    log = logging.info if result.ok else logging.error
    log("ServingCheck %s: %s (%.1f s): %s", model_dir, "PASSED" if result.ok else "FAILED",
        result.seconds, result.reason)
    blessing.set_int_custom_property("blessed", int(result.ok))
    blessing.set_string_custom_property("reason", result.reason)
    blessing.set_string_custom_property("signatures", ",".join(result.signatures))
    blessing.set_float_custom_property("max_abs_difference", result.max_abs_difference)
    blessing.set_float_custom_property("seconds", result.seconds)
    io_utils.write_string_file(os.path.join(blessing.uri, REPORT_FILE), json.dumps(
        {"model": model_dir, "blessed": result.ok, "reason": result.reason,
         "signatures": result.signatures, "max_abs_difference": result.max_abs_difference,
         "seconds": result.seconds, "texts": texts}, indent=1, ensure_ascii=False))
    io_utils.write_string_file(
        os.path.join(blessing.uri, BLESSED_FILE if result.ok else NOT_BLESSED_FILE), "")
