"""One tiny end-to-end run of the real pipeline under LocalDagRunner, then checks on what it left:
pushed models in TF Serving layout, the served raw-string signature, the blessing gate, and a
cached rerun."""
import json
import os
import re
import subprocess
import sys

import ml_metadata as mlmd
import numpy as np
import pytest
import tensorflow as tf

from pipeline import config, runner, serving_client
from tests import fixtures, serving_checks

pytestmark = pytest.mark.e2e

MODELS = [
    {"name": "bow_unigram_binary", "feature": "unigram_multi_hot", "epochs": 40, "batch_size": 2,
     "accuracy_floor": 0.0},
    {"name": "bow_bigram_tfidf", "feature": "bigram_tfidf", "epochs": 2, "batch_size": 2,
     "accuracy_floor": 1.01},  # impossible floor: must never be pushed
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("e2e")
  data_dir = root / "data"
  data_dir.mkdir()
  fixtures.write_tarball(str(data_dir / "aclImdb_v1.tar.gz"))
  cfg = config.from_dict({
      "output_dir": str(root / "out"), "verify_checksums": False, "unigram_top_k": 100,
      "bigram_top_k": 200, "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2}, "models": MODELS})
  pushed = runner.run_local(cfg, data_dir)
  return cfg, data_dir, pushed


def _executions(cfg):
  store = mlmd.MetadataStore(mlmd.proto.ConnectionConfig(
      sqlite=mlmd.proto.SqliteMetadataSourceConfig(filename_uri=cfg.metadata_path)))
  types = {t.id: t.name for t in store.get_execution_types()}
  return store, [(types[e.type_id], e) for e in store.get_executions()]


def test_blessed_model_is_pushed_in_serving_layout(run):
  cfg, _, pushed = run
  versions = pushed["bow_unigram_binary"]
  assert len(versions) == 1 and versions[0].isdigit()
  version_dir = os.path.join(cfg.serving_dir, "bow_unigram_binary", versions[0])
  assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
  assert os.path.isdir(os.path.join(version_dir, "variables"))
  listing = os.listdir(os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  assert [v for v in listing if not v.startswith(".")] == versions  # no temp dirs left


def test_model_below_its_floor_is_not_pushed(run):
  cfg, _, pushed = run
  assert pushed.get("bow_bigram_tfidf", []) == []
  store, _ = _executions(cfg)
  pushed_flags = {}
  for artifact in store.get_artifacts_by_type("PushedModel"):
    model = "bow_bigram_tfidf" if "bow_bigram_tfidf" in artifact.uri else "bow_unigram_binary"
    pushed_flags.setdefault(model, set()).add(artifact.custom_properties["pushed"].int_value)
  assert pushed_flags == {"bow_bigram_tfidf": {0}, "bow_unigram_binary": {1}}


def test_served_signature_takes_raw_strings(run):
  cfg, _, _ = run
  model = serving_client.load(os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  texts = ["A wonderful, great film. Loved it!", "Awful, boring, terrible. Hated it.", ""]
  probabilities = model.predict(texts)["probabilities"]
  assert probabilities.shape == (3,)
  assert np.all((probabilities >= 0) & (probabilities <= 1))
  assert probabilities[0] > probabilities[1]  # learnt the hand-written sentiment words


def test_examples_signature_agrees_with_text_signature(run):
  cfg, _, _ = run
  loaded = tf.saved_model.load(serving_client.resolve_version_dir(
      os.path.join(cfg.serving_dir, "bow_unigram_binary")))
  text = "Brilliant and moving, a great film."
  example = tf.train.Example(features=tf.train.Features(feature={
      "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}))
  from_examples = loaded.signatures["from_examples"](
      examples=tf.constant([example.SerializeToString()]))["probabilities"].numpy()
  from_text = loaded.signatures["serving_default"](text=tf.constant([text]))["probabilities"]
  np.testing.assert_allclose(from_examples, from_text.numpy(), rtol=1e-6)


def test_pushed_model_answers_in_the_session_loader_as_in_tf2(run):
  """As TF Serving loads it: the MetaGraph's restore op into a session, then Session.run."""
  cfg, _, _ = run
  version_dir = serving_client.resolve_version_dir(
      os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  texts = ["A wonderful, great film. Loved it!", "Awful, boring, terrible. Hated it."]
  served = serving_checks.session_outputs(version_dir, {
      "serving_default": {"text": texts},
      "from_examples": {"examples": [serving_checks.raw_example(text=t) for t in texts]}})
  expected = serving_client.load(version_dir).predict(texts)["probabilities"]
  for name in served:
    np.testing.assert_allclose(served[name]["probabilities"], expected, rtol=1e-6)


def test_saved_model_cli_runs_the_pushed_model(run):
  cfg, _, _ = run
  version_dir = serving_client.resolve_version_dir(
      os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  texts = ["A wonderful, great film. Loved it!", "Awful, boring, terrible. Hated it."]
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  done = subprocess.run(
      [cli, "run", "--dir", version_dir, "--tag_set", "serve", "--signature_def",
       "serving_default", "--input_exprs", f"text={json.dumps(texts)}"],
      capture_output=True, text=True, timeout=300, check=True)
  printed = re.search(r"Result for output key probabilities:\s*\[([^\]]*)\]", done.stdout)
  assert printed, done.stdout + done.stderr
  values = np.array([float(v) for v in printed.group(1).split()])
  expected = serving_client.load(version_dir).predict(texts)["probabilities"]
  np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_serving_check_ran_before_each_push_and_models_config_lists_the_pushed(run):
  from google.protobuf import text_format  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.config import model_server_config_pb2  # pylint: disable=import-outside-toplevel
  cfg, _, pushed = run
  store, _ = _executions(cfg)
  checks = {("bow_bigram_tfidf" if "bow_bigram_tfidf" in a.uri else "bow_unigram_binary"): a
            for a in store.get_artifacts_by_type("InfraBlessing")}
  assert set(checks) == {"bow_unigram_binary", "bow_bigram_tfidf"}
  for artifact in checks.values():  # both serve; the tf-idf model fails only its floor
    assert artifact.custom_properties["blessed"].int_value == 1
    assert "serving_default, from_examples" in artifact.custom_properties["reason"].string_value
  with open(os.path.join(cfg.serving_dir, "models.config")) as f:
    listed = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
  assert [(c.name, c.base_path) for c in listed.model_config_list.config] == [
      (name, os.path.abspath(os.path.join(cfg.serving_dir, name))) for name in pushed]


def test_trainer_ran_on_two_replicas_and_wrote_curves(run):
  cfg, _, _ = run
  histories = []
  for dirpath, _, files in os.walk(cfg.pipeline_root):
    if "history.json" in files:
      histories.append((dirpath, json.load(open(os.path.join(dirpath, "history.json")))))
  assert len(histories) == 2
  for dirpath, summary in histories:
    assert summary["replicas"] == 2
    assert 1 <= summary["best_epoch"] <= summary["epochs"]
    png = open(os.path.join(dirpath, "training_curves.png"), "rb").read()
    assert png.startswith(b"\x89PNG")


def test_rerun_is_served_from_cache(run):
  cfg, data_dir, pushed = run
  again = runner.run_local(cfg, data_dir)
  assert again == pushed  # nothing retrained, nothing pushed again
  store, executions = _executions(cfg)
  trainer_states = [e.last_known_state for t, e in executions if "Trainer" in t]
  assert trainer_states.count(mlmd.proto.Execution.CACHED) == 2
  # The code fingerprints are the same: every component of the rerun came from the cache, but
  # for the blessed model's Evaluator (the first run had no baseline for it, this one has the
  # model it blessed) and so its Pusher.
  from pipeline import report  # pylint: disable=import-outside-toplevel
  latest = {n: e.last_known_state for n, e in report.RunRecords(cfg.metadata_path)
            .executions.items() if not n.startswith("Baseline.")}
  reran = {"Evaluator.bow_unigram_binary", "Pusher.bow_unigram_binary"}
  assert {n for n, state in latest.items() if state != mlmd.proto.Execution.CACHED} == reran


def test_predict_cli_prints_probabilities(run, capsys):
  from pipeline import cli
  cfg, _, _ = run
  assert cli.main(["predict", "--model", os.path.join(cfg.serving_dir, "bow_unigram_binary"),
                   "Great film!", "Awful film."]) == 0
  lines = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
  assert [l["text"] for l in lines] == ["Great film!", "Awful film."]
  assert all(0 <= l["probabilities"] <= 1 for l in lines)


def test_report_matches_evaluation_artifacts(run):
  import tensorflow_model_analysis as tfma
  from pipeline import report
  cfg, _, pushed = run
  path = report.write(cfg.output_dir)
  text = open(path).read()
  rows = {r["model"]: r for r in report.leaderboard(cfg.output_dir)}
  assert set(rows) == {m["name"] for m in MODELS}
  for name, row in rows.items():
    evaluation = os.path.join(cfg.pipeline_root, f"Evaluator.{name}", "evaluation")
    uri = os.path.join(evaluation, max(os.listdir(evaluation), key=int))
    metrics = dict(tfma.load_eval_result(uri).slicing_metrics)[()][""][""]
    assert row["value"] == pytest.approx(metrics["binary_accuracy"]["doubleValue"])
    assert f"| {name} |" in text and f"{row['value']:.4f}" in text
    assert row["serving_check"]["passed"] and row["serving_check"]["seconds"] > 0
  assert "## Serving check (TF Serving's session-based loader)" in text
  assert rows["bow_unigram_binary"]["pushed_version"] == pushed["bow_unigram_binary"][-1]
  assert rows["bow_bigram_tfidf"]["pushed_version"] is None and not rows["bow_bigram_tfidf"][
      "blessed"]
  for name in rows:
    png = tf.io.decode_png(tf.io.read_file(os.path.join(os.path.dirname(path),
                                                        f"curves_{name}.png")))
    height, width, _ = png.shape
    assert width > 1.5 * height  # two panels side by side: accuracy and loss
  history = json.load(open(os.path.join(os.path.dirname(rows["bow_unigram_binary"]["curves"]),
                                        "history.json")))["history"]
  assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history)


def test_model_worse_than_the_blessed_one_is_not_pushed(run):
  """A deliberately broken retrain (learning rate 0: the initial random weights) of the pushed
  model clears its floor of 0 but not the comparison with the last blessed model: not blessed,
  not pushed, and the version already serving stays the only one. Runs last: it adds a run."""
  import tensorflow_model_analysis as tfma
  cfg, data_dir, pushed = run
  broken = config.from_dict({
      "output_dir": cfg.output_dir, "verify_checksums": False, "unigram_top_k": 100,
      "bigram_top_k": 200, "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2},
      "models": [{**MODELS[0], "learning_rate": 0.0}]})
  assert runner.run_local(broken, data_dir) == {"bow_unigram_binary": pushed["bow_unigram_binary"]}
  evaluation = os.path.join(cfg.pipeline_root, "Evaluator.bow_unigram_binary", "evaluation")
  runs = sorted((os.path.join(evaluation, d) for d in os.listdir(evaluation)),
                key=lambda d: int(os.path.basename(d)))
  first, latest = runs[0], runs[-1]  # the first blessed evaluation, the broken model's
  validation = tfma.load_validation_result(latest)
  assert not validation.validation_ok
  [failure] = validation.metric_validations_per_slice[0].failures
  assert failure.metric_key.name == "binary_accuracy" and failure.metric_key.is_diff
  accuracy = {d: dict(tfma.load_eval_result(d).slicing_metrics)[()][""][""]["binary_accuracy"][
      "doubleValue"] for d in (first, latest)}
  assert accuracy[latest] < accuracy[first]
