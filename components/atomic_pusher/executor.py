"""TFX Pusher executor whose filesystem push is atomic.

The stock executor copies files straight into `<base>/<version>/` (saved_model.pb last), so a
crash mid-copy leaves a half-written numeric version that TF Serving's directory scan may load.
This one copies into `<base>/.tmp-<version>-<pid>/` -- TF Serving ignores non-numeric names -- and
renames it to `<base>/<version>` in one step. Blessing checks are the stock executor's.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils


def atomic_copy_version(model_path: str, base_directory: str, version: str) -> str:
  """Copies model_path to base_directory/version via a hidden temp dir and one rename."""
  os.makedirs(base_directory, exist_ok=True)
  final = os.path.join(base_directory, version)
  if os.path.exists(final):
    raise FileExistsError(f"serving version {final} already exists; refusing to overwrite it")
  tmp = os.path.join(base_directory, f".tmp-{version}-{os.getpid()}")
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    io_utils.copy_dir(model_path, tmp)
    os.rename(tmp, final)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return final


PUSH_LOG = ".textzoo-pushes.json"  # hidden: TF Serving only scans numeric folder names


def _read_push_log(base: str) -> list:
  path = os.path.join(base, PUSH_LOG)
  if not os.path.exists(path):
    return []
  try:
    with open(path) as f:
      return json.load(f)
  except ValueError as e:
    raise ValueError(f"{path}: corrupt push log ({e}); it only lists which model each version "
                     "came from, so it can be deleted") from e


def _append_push_log(base: str, version: str, model_path: str) -> None:
  entries = _read_push_log(base) + [{"version": version, "model": model_path}]
  tmp = os.path.join(base, PUSH_LOG + ".tmp")
  with open(tmp, "w") as f:
    json.dump(entries, f, indent=1)
  os.replace(tmp, os.path.join(base, PUSH_LOG))


class Executor(pusher_executor.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    destination = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
        pusher_pb2.PushDestination())
    base = destination.filesystem.base_directory
    if destination.WhichOneof("destination") != "filesystem" or "://" in base:
      return super().Do(input_dict, output_dict, exec_properties)  # remote: stock behaviour
    model_push = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    pushes = _read_push_log(base)
    if pushes and pushes[-1]["model"] == model_path and os.path.isdir(
        os.path.join(base, pushes[-1]["version"])):
      # A rerun re-blessed the model that is already serving: do not copy it again.
      version = pushes[-1]["version"]
      logging.info("Model %s is already serving as version %s.", model_path, version)
      self._MarkPushed(model_push, pushed_destination=os.path.join(base, version),
                       pushed_version=version)
      return
    version = str(int(time.time()))
    while os.path.exists(os.path.join(base, version)):  # two pushes in one second
      version = str(int(version) + 1)
    serving_path = atomic_copy_version(model_path, base, version)
    _append_push_log(base, version, model_path)
    logging.info("Model written to serving path %s.", serving_path)
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
