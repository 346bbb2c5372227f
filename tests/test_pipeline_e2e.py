"""One tiny end-to-end run of the real pipeline under LocalDagRunner, started as a user starts it
(`textzoo run` in its own process), then checks on what it left: the console and the log,
pushed models in TF Serving layout, the served raw-string signature, the blessing gate, the
commands that take a run and a model name, and a cached rerun."""
import json
import os
import re
import subprocess
import sys

import ml_metadata as mlmd
import numpy as np
import pytest
import tensorflow as tf

import yaml

from pipeline import cli, config, runner, serving_client
from tests import fixtures, serving_checks

pytestmark = pytest.mark.e2e

MODELS = [
    {"name": "bow_unigram_binary", "feature": "unigram_multi_hot", "epochs": 40, "batch_size": 2,
     "accuracy_floor": 0.0},
    {"name": "bow_bigram_tfidf", "feature": "bigram_tfidf", "epochs": 2, "batch_size": 2,
     "accuracy_floor": 1.01},  # impossible floor: must never be pushed
]


def textzoo_run(config_dict: dict, path, data_dir, *flags) -> subprocess.CompletedProcess:
  """`textzoo run` in a process of its own (its console is what a user sees)."""
  with open(path, "w") as f:
    f.write(yaml.safe_dump(config_dict))
  return subprocess.run(
      [sys.executable, "-m", "pipeline.entry", "run", "--config", str(path), "--data-dir",
       str(data_dir), *flags], capture_output=True, text=True, timeout=1200, check=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("e2e")
  data_dir = root / "data"
  data_dir.mkdir()
  fixtures.write_tarball(str(data_dir / "aclImdb_v1.tar.gz"))
  settings = {
      "output_dir": str(root / "out"), "verify_checksums": False, "unigram_top_k": 100,
      "bigram_top_k": 200, "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2}, "models": MODELS}
  done = textzoo_run(settings, root / "run.yaml", data_dir)
  cfg = config.from_dict(settings)
  return cfg, data_dir, runner.pushed_versions(cfg.serving_dir), done


def _executions(cfg):
  store = mlmd.MetadataStore(mlmd.proto.ConnectionConfig(
      sqlite=mlmd.proto.SqliteMetadataSourceConfig(filename_uri=cfg.metadata_path)))
  types = {t.id: t.name for t in store.get_execution_types()}
  return store, [(types[e.type_id], e) for e in store.get_executions()]


COMPONENTS = ["ImdbExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform"] + [
    f"{kind}.{m['name']}" for m in MODELS
    for kind in ("Trainer", "Evaluator", "ServingCheck", "Pusher")]


def test_console_has_a_line_as_each_component_starts_and_ends_and_the_final_table(run):
  cfg, _, pushed, done = run
  lines = done.stdout.splitlines()
  log_path = lines[0].removeprefix("log: ")
  assert lines[0].startswith("log: ") and os.path.isfile(log_path)
  starts = [l for l in lines if re.match(r"\[\d+/13\] ", l)]
  ends = [l for l in lines if re.match(r" +\S+ done in \d+ s", l)]
  assert sorted(l.split()[1] for l in starts) == sorted(COMPONENTS)
  assert sorted(l.split()[0] for l in ends) == sorted(COMPONENTS)
  assert [l.split()[0] for l in starts] == [f"[{i}/13]" for i in range(1, 14)]
  by_node = {l.split()[0]: l for l in ends}
  assert re.search(r"eval \d+, test \d+, train \d+ examples", by_node["ImdbExampleGen"])
  assert re.search(r"vocabularies bigram \d+, unigram \d+", by_node["Transform"])
  assert "40 epochs in" in by_node["Trainer.bow_unigram_binary"]
  assert by_node["Pusher.bow_unigram_binary"].endswith(
      f"pushed as version {pushed['bow_unigram_binary'][0]}")
  # the refused model says which bound it missed, on its Evaluator's line and in the table
  assert "binary_accuracy" in by_node["Evaluator.bow_bigram_tfidf"]
  assert "is below its floor 1.01" in by_node["Evaluator.bow_bigram_tfidf"]
  table = lines[lines.index(next(l for l in lines if l.startswith("model "))):]
  assert re.match(r"bow_bigram_tfidf +test accuracy +\d\.\d{4}  no: not blessed: "
                  r"binary_accuracy \d\.\d{4} is below its floor 1\.01$", table[1])
  assert re.match(r"bow_unigram_binary +test accuracy +\d\.\d{4}  version \d+$", table[2])
  # Keras' epoch lines come through; TFX's protobuf dumps, Beam and TF's logs do not
  assert sum(1 for l in lines if re.match(r" +Epoch \d+/\d+$", l)) == 42
  for noise in ("node_info {", "ExecutionInfo(", "FutureWarning", "tensorflow/core", "INFO"):
    assert noise not in done.stdout + done.stderr, noise
  log = open(log_path).read()
  assert "node_info {" in log and "Component Transform is running." in log
  assert len(log.splitlines()) > 10 * len(lines)


def test_models_command_lists_each_model_and_why_it_was_not_pushed(run, capsys):
  cfg, _, pushed, _ = run
  assert cli.main(["models", "--output-dir", cfg.output_dir, "--json"]) == 0
  rows = {r["model"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
  version = pushed["bow_unigram_binary"][-1]
  assert rows["bow_unigram_binary"]["pushed_version"] == version and rows[
      "bow_unigram_binary"]["serving_path"] == os.path.join(cfg.serving_dir,
                                                              "bow_unigram_binary", version)
  assert rows["bow_unigram_binary"]["why_not_pushed"] is None
  assert rows["bow_bigram_tfidf"]["serving_path"] is None
  assert rows["bow_bigram_tfidf"]["why_not_pushed"].endswith("is below its floor 1.01")
  assert rows["bow_bigram_tfidf"]["trainer_export"].endswith("Format-Serving")


def test_commands_take_a_run_and_a_model_name(run, capsys):
  cfg, _, _, _ = run
  served = os.path.join(cfg.serving_dir, "bow_unigram_binary")
  texts = ["Great film!", "Awful film."]
  # both ways print the same predictions
  results = []
  for way in (["--model", served], ["--run", cfg.output_dir, "--model", "bow_unigram_binary"]):
    assert cli.main(["predict", *way, *texts]) == 0
    out = capsys.readouterr()
    results.append(out.out)
  assert results[0] == results[1] and len(results[0].splitlines()) == 2
  assert "bow_unigram_binary: pushed version" in out.err
  # the never-pushed model resolves to its Trainer export, saying so
  assert cli.main(["predict", "--run", cfg.output_dir, "--model", "bow_bigram_tfidf", "x"]) == 0
  assert "bow_bigram_tfidf: the latest Trainer export (never pushed)" in capsys.readouterr().err
  assert cli.main(["predict", "--run", cfg.output_dir, "--model", "nope", "x"]) == 2
  assert "no model 'nope'; its models: bow_bigram_tfidf, bow_unigram_binary" in \
      capsys.readouterr().err


def test_blessed_model_is_pushed_in_serving_layout(run):
  cfg, _, pushed, _ = run
  versions = pushed["bow_unigram_binary"]
  assert len(versions) == 1 and versions[0].isdigit()
  version_dir = os.path.join(cfg.serving_dir, "bow_unigram_binary", versions[0])
  assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
  assert os.path.isdir(os.path.join(version_dir, "variables"))
  listing = os.listdir(os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  assert [v for v in listing if not v.startswith(".")] == versions  # no temp dirs left


def test_model_below_its_floor_is_not_pushed(run):
  cfg, _, pushed, _ = run
  assert pushed.get("bow_bigram_tfidf", []) == []
  store, _ = _executions(cfg)
  pushed_flags = {}
  for artifact in store.get_artifacts_by_type("PushedModel"):
    model = "bow_bigram_tfidf" if "bow_bigram_tfidf" in artifact.uri else "bow_unigram_binary"
    pushed_flags.setdefault(model, set()).add(artifact.custom_properties["pushed"].int_value)
  assert pushed_flags == {"bow_bigram_tfidf": {0}, "bow_unigram_binary": {1}}


def test_served_signature_takes_raw_strings(run):
  cfg, _, _, _ = run
  model = serving_client.load(os.path.join(cfg.serving_dir, "bow_unigram_binary"))
  texts = ["A wonderful, great film. Loved it!", "Awful, boring, terrible. Hated it.", ""]
  probabilities = model.predict(texts)["probabilities"]
  assert probabilities.shape == (3,)
  assert np.all((probabilities >= 0) & (probabilities <= 1))
  assert probabilities[0] > probabilities[1]  # learnt the hand-written sentiment words


def test_examples_signature_agrees_with_text_signature(run):
  cfg, _, _, _ = run
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
  cfg, _, _, _ = run
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
  cfg, _, _, _ = run
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
  cfg, _, pushed, _ = run
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
  cfg, _, _, _ = run
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
  cfg, data_dir, pushed, _ = run
  again = runner.run_local(cfg, data_dir)
  assert again == pushed  # nothing retrained, nothing pushed again
  store, executions = _executions(cfg)
  trainer_states = [e.last_known_state for t, e in executions if "Trainer" in t]
  assert trainer_states.count(mlmd.proto.Execution.CACHED) == 2
  # The code fingerprints are the same: every component of the rerun came from the cache, but
  # for the blessed model's Evaluator (the first run had no baseline for it, this one has the
  # model it blessed) and so its Pusher.
  from pipeline import records as run_records  # pylint: disable=import-outside-toplevel
  latest = {n: e.last_known_state for n, e in run_records.RunRecords(cfg.metadata_path)
            .executions.items() if not n.startswith("Baseline.")}
  reran = {"Evaluator.bow_unigram_binary", "Pusher.bow_unigram_binary"}
  assert {n for n, state in latest.items() if state != mlmd.proto.Execution.CACHED} == reran


def test_predict_cli_prints_probabilities(run, capsys):
  from pipeline import cli
  cfg, _, _, _ = run
  assert cli.main(["predict", "--model", os.path.join(cfg.serving_dir, "bow_unigram_binary"),
                   "Great film!", "Awful film."]) == 0
  lines = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
  assert [l["text"] for l in lines] == ["Great film!", "Awful film."]
  assert all(0 <= l["probabilities"] <= 1 for l in lines)


def test_report_matches_evaluation_artifacts(run):
  import tensorflow_model_analysis as tfma
  from pipeline import report
  cfg, _, pushed, _ = run
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
    # TFMA's confusion matrix at 0.5: all test examples, and the accuracy on its diagonal
    counts = row["confusion"]
    assert sum(counts.values()) == row["examples"]
    assert (counts[(0, 0)] + counts[(1, 1)]) / row["examples"] == pytest.approx(row["value"])
  assert "## Serving check (TF Serving's session-based loader)" in text
  assert "## Confusion matrices (test split)" in text
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
  cfg, data_dir, pushed, _ = run
  done = textzoo_run({
      "output_dir": cfg.output_dir, "verify_checksums": False, "unigram_top_k": 100,
      "bigram_top_k": 200, "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2},
      "models": [{**MODELS[0], "learning_rate": 0.0}]},
      os.path.join(os.path.dirname(cfg.output_dir), "broken.yaml"), data_dir, "-q")
  assert runner.pushed_versions(cfg.serving_dir) == pushed  # nothing new published
  # -q: only the final table, which says the model lost to the blessed one, by how much
  lines = done.stdout.splitlines()
  assert len(lines) == 3 and lines[1].startswith("model ")
  assert re.match(r"bow_unigram_binary +test accuracy +(\d\.\d{4})  no: not blessed: "
                  r"binary_accuracy (\d\.\d{4}) is worse than the blessed baseline's "
                  r"(\d\.\d{4})$", lines[2]), lines[2]
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
