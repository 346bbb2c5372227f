"""Builders for test inputs: tiny IMDB-layout tarballs and ExampleGen-layout artifacts."""
from __future__ import annotations

import io
import os
import tarfile

from tests.data.reviews import REVIEWS, member_name

SAMPLES_DIR = os.path.join(os.path.dirname(__file__), "data", "imdb_tiny")
SPLITS = ("train", "eval", "test")


def write_tarball(path: str, reviews=REVIEWS, extra_members=()) -> str:
  """Writes an aclImdb-layout .tar.gz. extra_members: (name, bytes | None for a symlink)."""
  with tarfile.open(path, "w:gz") as tar:
    def add(name, data):
      info = tarfile.TarInfo(name)
      if data is None:
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
      else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    add("aclImdb/README", b"readme")
    for split, polarity, number, rating, text in reviews:
      add(member_name(split, polarity, number, rating), text.encode("utf-8"))
    for name, data in extra_members:
      add(name, data)
  return path


def read_split(uri: str, split: str) -> list:
  """The tf.Examples an ExampleGen wrote for one split (Split-<split>/*.gz under uri)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  folder = os.path.join(uri, f"Split-{split}")
  return [tf.train.Example.FromString(record.numpy())
          for name in sorted(os.listdir(folder))
          for record in tf.data.TFRecordDataset(os.path.join(folder, name),
                                                compression_type="GZIP")]


def examples_artifact(uri: str = SAMPLES_DIR):
  """An Examples artifact over the committed tiny samples (ExampleGen's output layout)."""
  from tfx.types import artifact_utils, standard_artifacts  # pylint: disable=import-outside-toplevel
  examples = standard_artifacts.Examples()
  examples.uri = uri
  examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
  return examples


def run_local(root, components, beam_args=()) -> None:
  """components under LocalDagRunner with root/root as pipeline root, root/mlmd.sqlite metadata."""
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name="samples", pipeline_root=str(root / "root"), components=components,
      beam_pipeline_args=list(beam_args),
      metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
          str(root / "mlmd.sqlite"))))


def transform_samples(root, custom_config: dict, transform_splits, beam_args=(),
                      transform_beam_args=()) -> str:
  """The committed samples through the real ImportExampleGen -> StatisticsGen -> SchemaGen ->
  Transform (IMDB preprocessing_fn); returns the Transform component's output dir.
  transform_beam_args: Beam args for the Transform component only (e.g. multi-processing)."""
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
  example_gen = tfx.components.ImportExampleGen(
      input_base=SAMPLES_DIR, input_config=tfx.proto.Input(splits=[
          tfx.proto.Input.Split(name=s, pattern=f"Split-{s}/*") for s in SPLITS]))
  statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema.outputs["schema"],
      preprocessing_fn="components.preprocessing.preprocessing_fn", custom_config=custom_config,
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=list(transform_splits)))
  if transform_beam_args:
    transform.with_beam_pipeline_args(list(transform_beam_args))
  run_local(root, [example_gen, statistics, schema, transform], beam_args)
  return str(root / "root" / "Transform")


def trainer_fn_args(transform_dir: str, custom_config: dict, out, splits=("train", "eval")):
  """The FnArgs the TFX Trainer hands a run_fn over a transform_samples() output (the samples
  have 15 train and 5 eval records: a global batch must be <= 5); the model
  goes to out/serving, the run dir to out/model_run."""
  # pylint: disable=import-outside-toplevel
  import glob
  import json
  from tfx.components.trainer import fn_args_utils
  from tfx.types import artifact_utils, standard_artifacts
  examples = standard_artifacts.Examples()
  examples.uri = glob.glob(os.path.join(transform_dir, "transformed_examples", "*"))[0]
  examples.split_names = artifact_utils.encode_split_names(list(splits))
  graph = standard_artifacts.TransformGraph()
  graph.uri = glob.glob(os.path.join(transform_dir, "transform_graph", "*"))[0]
  fn_args = fn_args_utils.get_common_fn_args(
      {"examples": [examples], "transform_graph": [graph]},
      {"train_args": json.dumps({"splits": ["train"]}),
       "eval_args": json.dumps({"splits": ["eval"]}),
       "custom_config": json.dumps(custom_config)})
  fn_args.transform_output = fn_args.transform_graph_path  # what the Trainer executor sets
  fn_args.serving_model_dir = str(out / "serving")
  fn_args.model_run_dir = str(out / "model_run")
  return fn_args
