"""A user's own 3-class CSV (`corpus: {format: csv, ...}`) through the real pipeline: the generic
reader, a TFT label vocabulary, softmax heads (a bag-of-words MLP and a GRU), TFMA's multi-class
metrics gating the push, and served models that return the class names."""
import csv
import json
import os

import numpy as np
import pytest

from pipeline import cli, config, records, report, runner, serving_client
from tests import fixtures, serving_checks

pytestmark = pytest.mark.e2e

WORDS = {"billing": ["invoice", "refund", "charge", "payment"],
         "outage": ["down", "offline", "error", "timeout"],
         "login": ["password", "reset", "locked", "account"]}


def _write_tickets(path):
  rng = np.random.default_rng(5)
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(["id", "body", "team"])
    for i in range(150):
      team = list(WORDS)[i % 3]
      words = " ".join(rng.choice(WORDS[team], size=4))
      writer.writerow([i, f"ticket {i}: {words}, please help", team])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("multiclass")
  data_dir = root / "data"
  data_dir.mkdir()
  _write_tickets(data_dir / "tickets.csv")
  cfg = config.from_dict({
      "corpus": {"format": "csv", "path": "tickets.csv", "text": "body", "label": "team"},
      "output_dir": str(root / "out"), "sequence_length": 8,
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "models": [
          {"name": "bow", "trainer": "bow_mlp", "epochs": 30, "batch_size": 16,
           "accuracy_floor": 0.9},
          {"name": "gru", "trainer": "rnn_classifier", "cell": "gru", "units": 4,
           "embedding_dim": 8, "epochs": 6, "batch_size": 16, "accuracy_floor": 0.0}]})
  pushed = runner.run_local(cfg, data_dir)
  return cfg, pushed


def test_models_are_pushed_and_serve_class_names(run):
  cfg, pushed = run
  assert set(pushed) == {"bow", "gru"}
  texts = ["refund for a double charge", "site is down with a timeout error"]
  for name in pushed:
    model = serving_client.load(os.path.join(cfg.serving_dir, name))
    outputs = model.predict(texts)
    assert outputs["probabilities"].shape == (2, 3)
    np.testing.assert_allclose(outputs["probabilities"].sum(axis=1), 1, rtol=1e-5)
    classes = outputs["classes"].astype(str)
    assert sorted(classes[0]) == sorted(WORDS) and (classes == classes[0]).all()
    if name == "bow":  # trained to the 0.9 floor on words that give the class away
      top = classes[0][outputs["probabilities"].argmax(axis=1)]
      assert list(top) == ["billing", "outage"]
    labelled = [serving_checks.raw_example(text=t, label=l)
                for t, l in zip(texts, ["billing", "outage"])]
    served = serving_checks.session_outputs(model.path, {
        "serving_default": {"text": texts}, "from_examples": {"examples": labelled},
        "transform_features": {"examples": labelled}})
    np.testing.assert_allclose(served["from_examples"]["probabilities"],
                               outputs["probabilities"], rtol=1e-5)
    # TFMA's label ids: the label vocabulary's, in the order of the served class names
    ids = served["transform_features"]["label"]
    assert list(classes[0][ids]) == ["billing", "outage"]


def test_report_has_the_confusion_matrix_with_class_names(run):
  cfg, _ = run
  text = open(report.write(cfg.output_dir)).read()
  section = text.split("## Confusion matrices (test split)")[1]
  assert "`bow`" in section and "`gru`" in section
  header = next(l for l in section.splitlines() if l.startswith("| true / predicted"))
  assert sorted(header.strip("|").split("|")[1:]) == sorted(f" {c} " for c in WORDS)


def _test_split(cfg) -> tuple[list[str], list[str]]:
  """The raw test split's texts and labels, in file order."""
  [examples] = records.RunRecords(cfg.metadata_path).artifacts("SentenceExampleGen", "examples")
  test = fixtures.read_split(examples.uri, "test")
  return ([e.features.feature["text"].bytes_list.value[0].decode() for e in test],
          [e.features.feature["label"].bytes_list.value[0].decode() for e in test])


def test_report_lists_the_worst_scored_test_examples_of_each_classifier(run):
  cfg, _ = run
  text = open(report.write(cfg.output_dir)).read()
  section = text.split("## Worst-scored test examples")[1]
  texts, labels = _test_split(cfg)
  for name in ("bow", "gru"):
    block = section.split(f"`{name}` (")[1].split("\n\n", 2)[1]
    shown = [[c.strip() for c in l.strip("|").split("|")] for l in block.splitlines()[2:]]
    assert len(shown) == 5
    # The served model's probability of the true class, lowest first, over the whole test split
    # (smaller than the sample): the report's rows are those five.
    outputs = serving_client.load(os.path.join(cfg.serving_dir, name)).predict(texts)
    classes = list(outputs["classes"][0].astype(str))
    p_true = outputs["probabilities"][np.arange(len(texts)), [classes.index(l) for l in labels]]
    assert [float(s[0]) for s in shown] == pytest.approx(sorted(p_true)[:5], abs=1e-4)
    for p, label, predicted, text_shown in shown:
      i = texts.index(text_shown)
      assert labels[i] == label
      assert classes[int(outputs["probabilities"][i].argmax())] == predicted


def test_predict_prints_the_top_classes(run, capsys):
  cfg, _ = run
  assert cli.main(["predict", "--model", os.path.join(cfg.serving_dir, "bow"), "--top", "2",
                   "refund for a double charge"]) == 0
  [line] = [l for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
  top = json.loads(line)["top_classes"]
  assert len(top) == 2 and top[0]["class"] == "billing"
  assert top[0]["probability"] >= top[1]["probability"]


def test_tfma_metrics_are_those_of_the_served_models_argmax(run):
  """TFMA's accuracy and confusion matrix, and the per-class precision, recall and F1 and macro
  F1 the report derives from it, equal sklearn's on the served model's most probable class over
  the test split (the GRU, trained 6 epochs, leaves a class unpredicted)."""
  from sklearn import metrics as sk  # pylint: disable=import-outside-toplevel
  cfg, _ = run
  run_records = records.RunRecords(cfg.metadata_path)
  texts, labels = _test_split(cfg)
  for name in ("bow", "gru"):
    row = {r["model"]: r for r in records.model_rows(run_records)}[name]
    metrics = records.metrics(run_records.artifacts(f"Evaluator.{name}", "evaluation")[0].uri)
    outputs = serving_client.load(os.path.join(cfg.serving_dir, name)).predict(texts)
    classes = list(outputs["classes"][0].astype(str))
    predicted = outputs["probabilities"].argmax(axis=1)
    truth = [classes.index(l) for l in labels]
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        truth, predicted, labels=range(3), zero_division=0)
    assert row["value"] == pytest.approx(sk.accuracy_score(truth, predicted), abs=1e-6)
    for class_id in range(3):
      got = row["per_class"][class_id]
      assert got["precision"] == pytest.approx(precision[class_id], abs=1e-6)
      assert got["recall"] == pytest.approx(recall[class_id], abs=1e-6)
      assert got["f1"] == pytest.approx(f1[class_id], abs=1e-6)
    assert row["macro_f1"] == pytest.approx(f1.mean(), abs=1e-6)
    assert metrics["example_count"] == len(texts)
    with open(os.path.join(os.path.dirname(row["curves"]), "history.json")) as f:
      history = json.load(f)
    budget = {m.name: m.params.epochs for m in cfg.models}[name]
    assert row["epochs"] == len(history["history"]["loss"]) <= budget
    matrix = sk.confusion_matrix(truth, predicted, labels=range(3))
    assert {k: v for k, v in row["confusion"].items() if v} == {
        (a, p): int(matrix[a, p]) for a in range(3) for p in range(3) if matrix[a, p]}


def test_a_label_outside_the_config_list_fails_before_any_artifact(tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  _write_tickets(data_dir / "tickets.csv")
  cfg = config.from_dict({
      "corpus": {"format": "csv", "path": "tickets.csv", "text": "body", "label": "team",
                 "labels": ["billing", "outage"]},
      "output_dir": str(tmp_path / "out"),
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "models": [{"name": "bow", "epochs": 1}]})
  with pytest.raises(Exception, match=r"tickets.csv: line 4: label 'login' is not one of"):
    runner.run_local(cfg, data_dir)
  assert not os.path.exists(cfg.serving_dir)
