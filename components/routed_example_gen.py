"""What textzoo's ExampleGens share: they read one source once and route every record to train,
eval or test themselves, so all three input splits name the same file pattern, and their
settings travel as a Struct in the ExampleGen's CustomConfig."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict

import apache_beam as beam

from google.protobuf import any_pb2, struct_pb2
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import fingerprint

SPLITS = ("train", "eval", "test")


def input_config(pattern: str) -> example_gen_pb2.Input:
  """All three splits name the same pattern (it drives the span/fingerprint logic and caching)."""
  return example_gen_pb2.Input(
      splits=[example_gen_pb2.Input.Split(name=s, pattern=pattern) for s in SPLITS])


def custom_config(params: Dict[str, Any], executor_module: str) -> example_gen_pb2.CustomConfig:
  """params, and the fingerprint of the executor's code (so an edit of a reader reruns it)."""
  struct = struct_pb2.Struct()
  struct.update({**params, fingerprint.KEY: fingerprint.of_modules(executor_module)})
  packed = any_pb2.Any()
  packed.Pack(struct)
  return example_gen_pb2.CustomConfig(custom_config=packed)


def custom_params(exec_properties: Dict[str, Any]) -> dict:
  """The Struct packed by custom_config(), as a dict ({} when there is none)."""
  raw = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
  struct = struct_pb2.Struct()
  if raw:
    proto_utils.json_to_proto(raw, example_gen_pb2.CustomConfig()).custom_config.Unpack(struct)
  return {k: v for k, v in struct.items() if k != fingerprint.KEY}


def source_pattern(exec_properties: Dict[str, Any], component: str, what: str) -> str:
  """The one pattern all three input splits name; an error naming the component otherwise."""
  config = proto_utils.json_to_proto(
      exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input())
  patterns = {s.pattern for s in config.splits}
  if sorted(s.name for s in config.splits) != sorted(SPLITS) or len(patterns) != 1:
    raise ValueError(f"{component} needs input splits train, eval and test naming the same "
                     f"{what}; got {[(s.name, s.pattern) for s in config.splits]}")
  return patterns.pop()


def source_path(exec_properties: Dict[str, Any], component: str, what: str) -> str:
  """input_base joined with the one source pattern (source_pattern)."""
  return os.path.join(exec_properties[standard_component_specs.INPUT_BASE_KEY],
                      source_pattern(exec_properties, component, what))


def route(keyed: beam.PCollection, to_example: Callable) -> Dict[str, beam.PCollection]:
  """(split name, record) pairs -> {split name: tf.Examples of its records}."""
  parts = keyed | "Route" >> beam.Partition(lambda kv, _n: SPLITS.index(kv[0]), len(SPLITS))
  return {name: parts[i] | f"ToExample[{name}]" >> beam.Map(lambda kv: to_example(kv[1]))
          for i, name in enumerate(SPLITS)}
