"""TFX Pusher executor whose filesystem push is atomic.

The stock executor copies files straight into `<base>/<version>/` (saved_model.pb last), so a
crash mid-copy leaves a half-written numeric version that TF Serving's directory scan may load.
This one copies into `<base>/.tmp-<version>-<pid>/` -- TF Serving ignores non-numeric names -- and
renames it to `<base>/<version>` in one step. Blessing checks are the stock executor's (the
Evaluator's model_blessing and, when wired, the ServingCheck's infra_blessing).

After each push it rewrites `<serving root>/models.config` (the parent of `<base>`): the
`model_config_list` text proto that `tensorflow_model_server --model_config_file` reads, naming
every model under the serving root that has a published version, with its base path.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from typing import Any, Dict, List

from absl import logging
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2
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


MODELS_CONFIG = "models.config"


def published_models(serving_root: str) -> dict[str, str]:
  """name -> base path of every model under serving_root with a complete numeric version."""
  found = {}
  for name in sorted(os.listdir(serving_root)) if os.path.isdir(serving_root) else []:
    base = os.path.join(serving_root, name)
    if not name.startswith(".") and os.path.isdir(base) and any(
        v.isdigit() and os.path.isfile(os.path.join(base, v, "saved_model.pb"))
        for v in os.listdir(base)):
      found[name] = os.path.abspath(base)
  return found


def models_config(serving_root: str) -> model_server_config_pb2.ModelServerConfig:
  config = model_server_config_pb2.ModelServerConfig()
  for name, base in published_models(serving_root).items():
    config.model_config_list.config.add(name=name, base_path=base, model_platform="tensorflow")
  return config


@contextlib.contextmanager
def _locked(path: str):
  with open(path, "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)  # two Pushers at once: the second writes after the first
    yield


def write_models_config(serving_root: str) -> str:
  """Rewrites serving_root/models.config from the directory (temp file, then one rename)."""
  path = os.path.join(serving_root, MODELS_CONFIG)
  with _locked(os.path.join(serving_root, f".{MODELS_CONFIG}.lock")):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
      f.write(text_format.MessageToString(models_config(serving_root)))
    os.replace(tmp, path)
  return path


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
      write_models_config(os.path.dirname(os.path.abspath(base)))
      self._MarkPushed(model_push, pushed_destination=os.path.join(base, version),
                       pushed_version=version)
      return
    version = str(int(time.time()))
    while os.path.exists(os.path.join(base, version)):  # two pushes in one second
      version = str(int(version) + 1)
    serving_path = atomic_copy_version(model_path, base, version)
    _append_push_log(base, version, model_path)
    logging.info("Model written to serving path %s; TF Serving's model list: %s.", serving_path,
                 write_models_config(os.path.dirname(os.path.abspath(base))))
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
