"""Multi-worker training: two local worker processes on loopback ports, each with its TF_CONFIG,
train the BoW model under MultiWorkerMirroredStrategy on the tiny transformed samples, sharing
one set of output dirs as on a cluster. Both must end with the same weights, and only the chief
may leave a model (and the run's history) behind."""
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import portpicker
import pytest
from tfx import v1 as tfx

from tests.fixtures import SAMPLES_DIR, SPLITS

pytestmark = pytest.mark.multi_worker
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 2
EPOCHS = 3
BATCH = 2  # per replica: a global batch of 4


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
  """The committed samples through the real Transform (train and eval splits)."""
  root = tmp_path_factory.mktemp("mw_transform")
  example_gen = tfx.components.ImportExampleGen(
      input_base=SAMPLES_DIR, input_config=tfx.proto.Input(splits=[
          tfx.proto.Input.Split(name=s, pattern=f"Split-{s}/*") for s in SPLITS]))
  statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema.outputs["schema"],
      preprocessing_fn="components.preprocessing.preprocessing_fn",
      custom_config={"unigram_top_k": 30, "bigram_top_k": 50},
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=["train", "eval"]))
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name="mw", pipeline_root=str(root / "root"),
      components=[example_gen, statistics, schema, transform],
      beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
      metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
          str(root / "mlmd.sqlite"))))
  transform_dir = root / "root" / "Transform"
  return (glob.glob(str(transform_dir / "transformed_examples" / "*"))[0],
          glob.glob(str(transform_dir / "transform_graph" / "*"))[0])


@pytest.fixture(scope="module")
def cluster_run(transformed, tmp_path_factory):
  examples, graph = transformed
  root = tmp_path_factory.mktemp("mw_run")
  ports = [portpicker.pick_unused_port() for _ in range(WORKERS)]
  args = {"examples": examples, "transform_graph": graph, "out": str(root),
          "serving_model_dir": str(root / "model" / "Format-Serving"),
          "model_run_dir": str(root / "model_run"),
          "custom_config": {"model_name": "bow", "feature": "unigram_multi_hot",
                            "epochs": EPOCHS, "batch_size": BATCH, "strategy": "multi_worker",
                            "seed": 42}}
  procs = []
  start = time.monotonic()
  for index in range(WORKERS):
    tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                 "task": {"type": "worker", "index": index}}
    log = open(root / f"worker-{index}.log", "w")
    procs.append((subprocess.Popen(
        [sys.executable, "-m", "tests.multi_worker_worker", json.dumps(args)], cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CONFIG": json.dumps(tf_config), "CUDA_VISIBLE_DEVICES": ""}),
        log))
  try:
    for proc, _ in procs:
      proc.wait(timeout=300)
  finally:
    for proc, log in procs:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
      log.close()
  seconds = time.monotonic() - start
  for index, (proc, _) in enumerate(procs):
    assert proc.returncode == 0, (root / f"worker-{index}.log").read_text()[-5000:]
  print(f"\n{WORKERS} workers trained in {seconds:.1f}s")
  return root, args


def test_both_workers_trained_together_and_agree_on_the_weights(cluster_run):
  root, _ = cluster_run
  reports = {i: json.loads((root / f"worker-worker-{i}.json").read_text()) for i in range(WORKERS)}
  # 15 train reviews, global batch 2 x 2 = 4: 3 steps an epoch (the last partial batch is
  # dropped), the same on both workers.
  assert [r["replicas"] for r in reports.values()] == [WORKERS] * WORKERS
  steps = 15 // (BATCH * WORKERS)
  for index, report in reports.items():
    assert report["epochs"] == EPOCHS
    log = (root / f"worker-{index}.log").read_text()
    assert len(re.findall(rf"^{steps}/{steps} - .* - val_accuracy", log, re.M)) == EPOCHS, log
  assert reports[0]["optimizer_iterations"] == reports[1]["optimizer_iterations"] > 0
  assert [r["chief"] for r in reports.values()] == [True, False]
  weights = [np.load(root / f"weights-worker-{i}.npz") for i in range(WORKERS)]
  assert len(weights[0].files) == 4  # two Dense layers: kernels and biases
  for name in weights[0].files:
    np.testing.assert_array_equal(weights[0][name], weights[1][name])
  initial_bias = np.zeros_like(weights[0]["arr_1"])
  assert not np.array_equal(weights[0]["arr_1"], initial_bias)  # it did train


def test_only_the_chief_writes_the_model_and_history(cluster_run):
  root, args = cluster_run
  model_dir = args["serving_model_dir"]
  assert os.path.isfile(os.path.join(model_dir, "saved_model.pb"))
  assert sorted(os.listdir(os.path.dirname(model_dir))) == ["Format-Serving"]  # no scratch left
  run_files = sorted(os.listdir(args["model_run_dir"]))
  assert "history.json" in run_files and "training_curves.png" in run_files
  history = json.loads(open(os.path.join(args["model_run_dir"], "history.json")).read())
  assert history["replicas"] == WORKERS and history["epochs"] == EPOCHS
  events = glob.glob(os.path.join(args["model_run_dir"], "**", "events.out.tfevents.*"),
                     recursive=True)
  assert events and len({os.path.dirname(e) for e in events}) <= 2  # train/ and validation/
  from pipeline import serving_client
  probabilities = serving_client.load(model_dir).predict(
      ["A wonderful, great film.", "Awful and boring."])["probabilities"]
  assert probabilities.shape == (2,)
