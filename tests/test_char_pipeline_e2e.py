"""One tiny end-to-end char-LM run of the real pipeline (TextExampleGen -> Transform ->
CharWindows -> Trainer -> Evaluator -> Pusher) on 2 replicas, then checks on what it left."""
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from pipeline import config, generate, lm_score, records as run_records, report, runner, runs
from tests import serving_checks

pytestmark = pytest.mark.e2e

LINES = ["To be, or not to be, that is the question:", "Whether 'tis nobler in the mind to suffer",
         "The slings and arrows of outrageous fortune,", "Or to take arms against a sea of troubles"]
LENGTH = 20
MODELS = [
    {"name": "char_gru", "trainer": "char_rnn", "epochs": 2, "batch_size": 2, "units": 16,
     "perplexity_ceiling": 1000.0},
    {"name": "char_gru_stateful", "trainer": "char_rnn", "stateful": True, "epochs": 2,
     "batch_size": 4, "units": 16, "perplexity_ceiling": 1.0,  # impossible: never pushed
     "sample_every": 1, "sample_prompt": "to ", "sample_chars": 25},
]


def tiny_play() -> str:
  rng = np.random.default_rng(0)
  return "".join(f"{LINES[i]}\n" for i in rng.integers(0, len(LINES), 120))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("char_e2e")
  data_dir = root / "data"
  data_dir.mkdir()
  (data_dir / "tinyshakespeare.txt").write_text(tiny_play())
  cfg = config.from_dict({
      "corpus": "tinyshakespeare", "output_dir": str(root / "out"), "verify_checksums": False,
      "text": {"lowercase": True, "window_length": LENGTH, "train_stride": 3,
               "chunk_chars": 500},
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2}, "models": MODELS})
  pushed = runner.run_local(cfg, data_dir)
  return cfg, pushed


def _windows_artifact(cfg, model):
  records = run_records.RunRecords(cfg.metadata_path)
  return records.artifacts(f"CharWindows.{model}", "windows")[0]


def _count(uri, split):
  return sum(1 for _ in tf.data.TFRecordDataset(
      tf.io.gfile.glob(os.path.join(uri, f"Split-{split}", "*")), compression_type="GZIP"))


def test_window_counts_are_recorded_and_match_the_files(run):
  cfg, _ = run
  n = len(tiny_play())
  train_chars = round(n * 0.9)
  for model, expected_train in (("char_gru", (train_chars - LENGTH - 1) // 3 + 1),
                                ("char_gru_stateful", 4 * ((train_chars // 4 - 1) // LENGTH))):
    artifact = _windows_artifact(cfg, model)
    props = {k: v.int_value for k, v in artifact.custom_properties.items()}
    assert props["windows_train"] == expected_train == _count(artifact.uri, "train")
    for split in ("eval", "test"):
      assert props[f"windows_{split}"] == _count(artifact.uri, split) > 0
    assert props["chars_train"] + props["chars_eval"] + props["chars_test"] == n


def test_blessed_lm_is_pushed_and_the_impossible_ceiling_is_not(run):
  _, pushed = run
  assert len(pushed["char_gru"]) == 1
  assert pushed.get("char_gru_stateful", []) == []


def test_served_model_generates_reproducibly_from_its_vocabulary(run):
  cfg, pushed = run
  generator = generate.CharGenerator(os.path.join(cfg.serving_dir, "char_gru"))
  assert set(generator.chars[1:-1]) == set("".join(LINES).lower() + "\n")  # lowercased
  a = generator.generate("to be", 40, temperature=0.5, seed=7)
  b = generator.generate("to be", 40, temperature=0.5, seed=7)
  assert a == b and len(a) == 40 and set(a) <= set(generator.chars[1:-1])
  assert generator.generate("to be", 40, temperature=1.5, top_k=3, seed=8) != a


def test_step_signature_matches_reading_the_whole_text(run):
  cfg, _ = run
  loaded = tf.saved_model.load(os.path.join(cfg.serving_dir, "char_gru", _version(cfg)))
  whole = loaded.signatures["serving_default"](text=tf.constant(["to be, or", "whe"]))
  primed = loaded.signatures["serving_default"](text=tf.constant(["to be, o"]))
  chars = [c.decode() for c in loaded.signatures["vocabulary"]()["chars"].numpy()]
  stepped = loaded.signatures["step"](char_id=tf.constant([chars.index("r")], tf.int64),
                                      state=primed["state"])
  np.testing.assert_allclose(stepped["probabilities"][0], whole["probabilities"][0], atol=1e-5)
  np.testing.assert_allclose(np.sum(whole["probabilities"], axis=1), 1.0, atol=1e-5)


def test_every_signature_answers_in_the_session_loader_as_in_tf2(run):
  cfg, _ = run
  records = list(tf.data.TFRecordDataset(tf.io.gfile.glob(os.path.join(
      _windows_artifact(cfg, "char_gru").uri, "Split-test", "*")), compression_type="GZIP"))
  served = serving_checks.session_outputs(
      os.path.join(cfg.serving_dir, "char_gru", _version(cfg)), {
          "serving_default": {"text": ["to be, o", "whe"]},
          "vocabulary": {},
          "step": lambda out: {"char_id": np.array([3, 4], np.int64),
                               "state": out["serving_default"]["state"]},
          "from_windows": {"examples": [r.numpy() for r in records[:4]]}})
  assert served["step"]["probabilities"].shape == served["serving_default"]["probabilities"].shape
  np.testing.assert_allclose(np.sum(served["step"]["probabilities"], axis=1), 1.0, atol=1e-5)


def _version(cfg):
  return sorted(os.listdir(os.path.join(cfg.serving_dir, "char_gru")), key=lambda v: (
      not v.isdigit(), v))[0]


def test_evaluator_perplexity_is_exp_of_the_test_cross_entropy(run):
  cfg, _ = run
  rows = {r["model"]: r for r in report.leaderboard(cfg.output_dir)}
  row = rows["char_gru"]
  assert row["metric"] == "test nats/char"
  assert row["perplexity"] == pytest.approx(math.exp(row["value"]), rel=1e-5)
  assert row["bits_per_char"] == pytest.approx(row["value"] / math.log(2), rel=1e-5)
  # The same windows read back through the served signature give the same number.
  artifact = _windows_artifact(cfg, "char_gru")
  loaded = tf.saved_model.load(os.path.join(cfg.serving_dir, "char_gru", _version(cfg)))
  records = list(tf.data.TFRecordDataset(
      tf.io.gfile.glob(os.path.join(artifact.uri, "Split-test", "*")), compression_type="GZIP"))
  ce = loaded.signatures["from_windows"](examples=tf.constant([r.numpy() for r in records]))
  assert float(np.mean(ce["cross_entropy"])) == pytest.approx(row["value"], rel=1e-4)
  # next-character accuracy: TFMA's is the served windows' share of argmax hits
  assert 0 < row["next_char_accuracy"] < 1
  assert float(np.mean(ce["next_char_accuracy"])) == pytest.approx(row["next_char_accuracy"],
                                                                    rel=1e-4)
  with open(os.path.join(os.path.dirname(row["curves"]), "history.json")) as f:
    assert "test_loss_nats" in json.load(f)


def test_streamed_score_reads_the_test_text_in_order(run):
  cfg, _ = run
  rows = {r["model"]: r for r in report.leaderboard(cfg.output_dir)}
  uri = _windows_artifact(cfg, "char_gru").uri
  ids = lm_score.text_ids(os.path.join(uri, "Split-test", "*"))
  windows = _count(uri, "test")
  assert len(ids) == windows * LENGTH + 1
  model = os.path.join(cfg.serving_dir, "char_gru")
  # One stream per window, each from a zero state: exactly what the Evaluator scored.
  cold = lm_score.streamed_cross_entropy(model, ids, streams=windows)
  assert cold["chars"] == windows * LENGTH
  assert cold["nats_per_char"] == pytest.approx(rows["char_gru"]["value"], rel=1e-4)
  carried = lm_score.streamed_cross_entropy(model, ids, streams=1)
  assert carried["chars"] == windows * LENGTH and math.isfinite(carried["nats_per_char"])
  assert carried["nats_per_char"] != pytest.approx(cold["nats_per_char"], rel=1e-4)
  with pytest.raises(ValueError, match=r"Split-train.*does not continue the one before"):
    lm_score.text_ids(os.path.join(uri, "Split-train", "*"))
  # The Transform's test examples hold the same text, with the tail the windows leave out.
  whole = lm_score.split_ids(runs.char_lm_text(cfg.output_dir, "char_gru", "test"))
  assert len(ids) <= len(whole) < len(ids) + LENGTH
  np.testing.assert_array_equal(whole[:len(ids)], ids)


def test_generate_and_score_lm_take_a_run_and_a_model_name(run, capsys):
  from pipeline import cli  # pylint: disable=import-outside-toplevel
  cfg, _ = run
  windows = os.path.join(_windows_artifact(cfg, "char_gru").uri, "Split-test", "*")
  served = os.path.join(cfg.serving_dir, "char_gru")
  outputs = []
  for way in (["--model", served], ["--run", cfg.output_dir, "--model", "char_gru"]):
    assert cli.main(["generate", *way, "--prompt", "to be", "--chars", "30", "--seed", "3"]) == 0
    outputs.append(capsys.readouterr().out)
  assert outputs[0] == outputs[1]
  # score-lm: given windows, their text; given a run, the split's whole text from the Transform
  scores = {}
  for way in (["--model", served, "--windows", windows],
              ["--run", cfg.output_dir, "--model", "char_gru", "--split", "test"],
              ["--run", cfg.output_dir, "--model", "char_gru_stateful"]):
    assert cli.main(["score-lm", *way, "--streams", "2"]) == 0
    scores[way[-1]] = json.loads(capsys.readouterr().out)
  whole = lm_score.split_ids(runs.char_lm_text(cfg.output_dir, "char_gru", "test"))
  assert scores["test"] == lm_score.streamed_cross_entropy(served, whole, streams=2)
  assert scores[windows]["chars"] <= scores["test"]["chars"]
  # the stateful model's windows interleave its streams; its run is read in text order all
  # the same, through its (unpushed) Trainer export
  assert scores["char_gru_stateful"]["chars"] == scores["test"]["chars"]
  assert math.isfinite(scores["char_gru_stateful"]["nats_per_char"])
  assert "Trainer" in scores["char_gru_stateful"]["model"]
  assert cli.main(["score-lm", "--run", cfg.output_dir, "--model", "char_grux"]) == 2
  assert "no model 'char_grux'; its models: char_gru, char_gru_stateful" in capsys.readouterr().err
  # the stateful model was never pushed: its Trainer export is what --run resolves to
  assert cli.main(["generate", "--run", cfg.output_dir, "--model", "char_gru_stateful",
                   "--prompt", "to be", "--chars", "10", "--seed", "3"]) == 0
  assert "char_gru_stateful: the latest Trainer export (never pushed)" in capsys.readouterr().err
  assert cli.main(["score-lm", "--model", served]) == 2  # no windows and no run: said clearly
  assert "score-lm needs --windows, or --run and --model" in capsys.readouterr().err



def test_samples_are_written_while_training(run):
  """sample_every 1: one sample per epoch trained, in the Trainer's run artifact, each the prompt
  and 25 characters of the vocabulary (never padding or the unseen-character id)."""
  cfg, _ = run
  rows = {r["model"]: r for r in report.leaderboard(cfg.output_dir)}
  run_dir = os.path.dirname(rows["char_gru_stateful"]["curves"])
  with open(os.path.join(run_dir, "samples.txt"), encoding="utf-8") as f:
    blocks = f.read().split("--- epoch ")[1:]
  with open(os.path.join(run_dir, "history.json")) as f:
    epochs = len(json.load(f)["history"]["loss"])
  assert [b.split(",")[0] for b in blocks] == [str(e + 1) for e in range(epochs)]
  allowed = set("".join(LINES).lower() + "\n")
  for block in blocks:
    text = block.split("---\n", 1)[1][:-2]  # each sample ends with a blank line
    assert text.startswith("to ") and len(text) == 3 + 25
    assert set(text[3:]) <= allowed
  assert not os.path.exists(os.path.join(os.path.dirname(rows["char_gru"]["curves"]),
                                         "samples.txt"))  # sample_every 0: none
