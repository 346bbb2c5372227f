"""Multi-worker training: two local worker processes on loopback ports, each with its TF_CONFIG,
train under MultiWorkerMirroredStrategy, sharing one set of output dirs as on a cluster. Both must
end with the same weights, and only the chief may leave a model (and the run's history) behind.
The BoW trainer on the tiny transformed IMDB samples, and the char-RNN on tiny windows."""
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

from components.char_windows.component import CharWindows
from pipeline import config, corpora, tasks
from pipeline import pipeline as pipeline_lib
from tests import fixtures

pytestmark = pytest.mark.multi_worker
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 2
EPOCHS = 3
BATCH = 2  # per replica: a global batch of 4
LOCAL_BEAM = config.direct_beam_args(1, "in_memory")


def _local_run(root, components) -> None:
  fixtures.run_local(root, components, LOCAL_BEAM)


def run_workers(root, args: dict) -> float:
  """Starts WORKERS processes of tests/multi_worker_worker.py; returns their wall seconds."""
  ports = [portpicker.pick_unused_port() for _ in range(WORKERS)]
  args = {**args, "out": str(root), "serving_model_dir": str(root / "model" / "Format-Serving"),
          "model_run_dir": str(root / "model_run")}
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
  for index, (proc, _) in enumerate(procs):
    assert proc.returncode == 0, (root / f"worker-{index}.log").read_text()[-5000:]
  return time.monotonic() - start


@pytest.fixture(scope="module")
def bow_run(tmp_path_factory):
  """The committed samples through the real Transform, then the BoW run_fn on 2 workers."""
  root = tmp_path_factory.mktemp("mw_bow")
  fixtures.transform_samples(root, {"unigram_top_k": 30, "bigram_top_k": 50},
                             ["train", "eval"], LOCAL_BEAM)
  out = root / "workers"
  out.mkdir()
  seconds = run_workers(out, {
      "trainer": "bow_mlp", "splits": ["train", "eval"],
      "examples": glob.glob(str(root / "root" / "Transform" / "transformed_examples" / "*"))[0],
      "transform_graph": glob.glob(str(root / "root" / "Transform" / "transform_graph" / "*"))[0],
      "custom_config": {"model_name": "bow", "feature": "unigram_multi_hot", "epochs": EPOCHS,
                        "batch_size": BATCH, "strategy": "multi_worker", "seed": 42}})
  print(f"\nBoW: {WORKERS} workers trained in {seconds:.1f}s")
  return out


def _reports(root):
  return {i: json.loads((root / f"worker-worker-{i}.json").read_text()) for i in range(WORKERS)}


def _assert_same_weights(root) -> list:
  weights = [np.load(root / f"weights-worker-{i}.npz") for i in range(WORKERS)]
  for name in weights[0].files:
    np.testing.assert_array_equal(weights[0][name], weights[1][name])
  return weights


def _assert_only_chief_wrote(root) -> str:
  model_dir = str(root / "model" / "Format-Serving")
  assert os.path.isfile(os.path.join(model_dir, "saved_model.pb"))
  assert sorted(os.listdir(os.path.dirname(model_dir))) == ["Format-Serving"]  # no scratch left
  run_dir = root / "model_run"
  assert {"history.json", "training_curves.png"} <= set(os.listdir(run_dir))
  history = json.loads((run_dir / "history.json").read_text())
  assert history["replicas"] == WORKERS
  return model_dir


def test_both_workers_trained_together_and_agree_on_the_weights(bow_run):
  reports = _reports(bow_run)
  # 15 train reviews, global batch 2 x 2 = 4: 3 steps an epoch (the last partial batch is
  # dropped), the same on both workers.
  steps = 15 // (BATCH * WORKERS)
  assert [r["replicas"] for r in reports.values()] == [WORKERS] * WORKERS
  assert [r["chief"] for r in reports.values()] == [True, False]
  for index, report in reports.items():
    assert report["epochs"] == EPOCHS
    log = (bow_run / f"worker-{index}.log").read_text()
    assert len(re.findall(rf"^{steps}/{steps} - .* - val_accuracy", log, re.M)) == EPOCHS, log
  assert reports[0]["optimizer_iterations"] == reports[1]["optimizer_iterations"] > 0
  weights = _assert_same_weights(bow_run)
  assert len(weights[0].files) == 4  # two Dense layers: kernels and biases
  assert not np.array_equal(weights[0]["arr_1"], np.zeros_like(weights[0]["arr_1"]))  # trained


def test_only_the_chief_writes_the_model_and_history(bow_run):
  model_dir = _assert_only_chief_wrote(bow_run)
  history = json.loads((bow_run / "model_run" / "history.json").read_text())
  assert history["epochs"] == EPOCHS
  events = glob.glob(str(bow_run / "model_run" / "**" / "events.out.tfevents.*"), recursive=True)
  run_dir = str(bow_run / "model_run")
  # Keras' train/ and validation/ curves and the HParams summary at the top, all from one
  # process (event file names end in <host>.<pid>.<n>.v2): the chief's.
  assert events and {os.path.dirname(e) for e in events} <= {
      run_dir, os.path.join(run_dir, "train"), os.path.join(run_dir, "validation")}
  assert len({os.path.basename(e).split(".")[-3] for e in events}) == 1, events
  from pipeline import serving_client
  probabilities = serving_client.load(model_dir).predict(
      ["A wonderful, great film.", "Awful and boring."])["probabilities"]
  assert probabilities.shape == (2,)


TEXT = "".join(f"{line}\n" for line in [
    "To be, or not to be, that is the question:", "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,", "Or to take arms against a sea of troubles"
] * 20)


def test_char_rnn_trains_on_two_workers_with_the_same_weights(tmp_path):
  """The char trainer too: its own windows input, test-split evaluation and LM export."""
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  (data_dir / "tinyshakespeare.txt").write_text(TEXT)
  cfg = config.from_dict({
      "corpus": "tinyshakespeare", "output_dir": str(tmp_path / "unused"),
      "verify_checksums": False, "strategy": {"name": "multi_worker"},
      "text": {"window_length": 20, "train_stride": 10, "split_fractions": [0.8, 0.1, 0.1]},
      "models": [{"name": "lm", "trainer": "char_rnn", "epochs": 2, "batch_size": 4,
                  "units": 16}]})
  # The pipeline's own components up to the windows (a TFX pipeline cannot be cut short).
  task = tasks.get(cfg.task)
  example_gen = task.example_gen(cfg, cfg.corpus_entry, str(data_dir))
  statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"],
                                    infer_feature_shape=True)
  transform = task.transform(cfg, example_gen, schema)
  windows = CharWindows(examples=transform.outputs["transformed_examples"], mode="stateless",
                        length=20, stride=10, batch_size=8, seed=42).with_id("CharWindows.lm")
  _local_run(tmp_path, [example_gen, statistics, schema, transform, windows])
  out = tmp_path / "workers"
  out.mkdir()
  seconds = run_workers(out, {
      "trainer": "char_rnn", "splits": ["train", "eval", "test"],
      "examples": glob.glob(str(tmp_path / "root" / "CharWindows.lm" / "windows" / "*"))[0],
      "transform_graph": glob.glob(str(tmp_path / "root" / "Transform" / "transform_graph" /
                                       "*"))[0],
      "custom_config": pipeline_lib.trainer_config(cfg, cfg.models[0])})
  print(f"\nchar-RNN: {WORKERS} workers trained in {seconds:.1f}s")
  reports = _reports(out)
  assert [(r["replicas"], r["chief"]) for r in reports.values()] == [(2, True), (2, False)]
  assert len(_assert_same_weights(out)[0].files) == 6  # embedding, GRU (3), dense (2)
  _assert_only_chief_wrote(out)
  history = json.loads((out / "model_run" / "history.json").read_text())
  assert "test_loss_nats" in history and np.isfinite(history["test_loss_nats"])
