"""A tiny sarcasm-format corpus through the real pipeline: SentenceExampleGen, Transform with word
and subword ids, GloveEmbedding from a GloVe text file, a GloVe BiLSTM (EmbeddingTrainer) and a
subword Conv1D, each evaluated and pushed with raw text in."""
import json
import os

import ml_metadata as mlmd
import numpy as np
import pytest
import tensorflow as tf

from pipeline import config, report, runner, serving_client
from tests import serving_checks
from tests.test_sentence_example_gen import SARCASM_FILE, _headline, write_sarcasm

pytestmark = pytest.mark.e2e

SARCASTIC = ["area man", "nation", "local", "shocked", "finally", "totally"]
PLAIN = ["report", "says", "senate", "budget", "study", "court"]


def _headlines():
  rng = np.random.default_rng(3)
  lines = []
  for i in range(120):
    label = i % 2
    words = rng.choice(SARCASTIC if label else PLAIN, size=4)
    lines.append(_headline(f"{' '.join(words)} story {i}", label))
  return lines


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("sentences")
  data_dir = root / "data"
  data_dir.mkdir()
  write_sarcasm(data_dir / SARCASM_FILE, _headlines())
  rng = np.random.default_rng(0)
  glove_words = ["area", "man", "report", "senate", "story", "nation"]  # 6 of the 14 words
  (data_dir / "glove.txt").write_text("".join(
      f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(size=5))}\n" for w in glove_words))
  cfg = config.from_dict({
      "corpus": "sarcasm", "output_dir": str(root / "out"), "verify_checksums": False,
      "sequence_length": 8, "subword_vocab_size": 120, "glove_source": "glove.txt",
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2},
      "models": [
          {"name": "glove_bilstm", "trainer": "rnn_classifier", "embedding": "glove",
           "units": 4, "epochs": 2, "batch_size": 2, "accuracy_floor": 0.0},
          {"name": "subword_conv", "trainer": "conv1d_classifier",
           "sequence_feature": "subword_ids", "embedding_dim": 8, "units": 8, "kernel_size": 3,
           "mask_zero": False, "epochs": 2, "batch_size": 2, "accuracy_floor": 0.0}]})
  pushed = runner.run_local(cfg, data_dir)
  return cfg, pushed


def test_both_models_are_pushed_and_serve_raw_headlines(run):
  cfg, pushed = run
  assert set(pushed) == {"glove_bilstm", "subword_conv"}
  for name in pushed:
    assert len(pushed[name]) == 1
    model = serving_client.load(os.path.join(cfg.serving_dir, name))
    texts = ["area man finally shocked", "senate budget report"]
    probabilities = model.predict(texts)["probabilities"]
    assert probabilities.shape == (2,) and np.all((probabilities >= 0) & (probabilities <= 1))
    # GloVe and WordPiece (tensorflow_text ops) models as TF Serving loads them: in a session
    served = serving_checks.session_outputs(model.path, {
        "serving_default": {"text": texts},
        "from_examples": {"examples": [serving_checks.raw_example(text=t) for t in texts]}})
    for outputs in served.values():
      np.testing.assert_allclose(outputs["probabilities"], probabilities, rtol=1e-6)


def test_glove_matrix_is_recorded_and_feeds_the_frozen_embedding(run):
  cfg, _ = run
  store = mlmd.MetadataStore(mlmd.proto.ConnectionConfig(
      sqlite=mlmd.proto.SqliteMetadataSourceConfig(filename_uri=cfg.metadata_path)))
  [matrix] = store.get_artifacts_by_type("textzoo.EmbeddingMatrix")
  with open(os.path.join(matrix.uri, "coverage.json")) as f:
    coverage = json.load(f)
  assert coverage["found"] == 6 and coverage["dim"] == 5
  assert matrix.custom_properties["coverage"].double_value == pytest.approx(
      6 / coverage["vocabulary_size"], abs=1e-5)
  # The pushed GloVe model still holds the matrix rows (frozen), word for word.
  from components.glove_embedding import load_matrix  # pylint: disable=import-outside-toplevel
  rows = load_matrix(matrix.uri)
  served = serving_client.load(os.path.join(cfg.serving_dir, "glove_bilstm"))
  checkpoint = tf.train.load_checkpoint(os.path.join(served.path, "variables", "variables"))
  assert any(np.array_equal(checkpoint.get_tensor(name), rows)
             for name, shape in checkpoint.get_variable_to_shape_map().items()
             if tuple(shape) == rows.shape)


def test_run_report_has_both_models_and_the_glove_coverage(run):
  cfg, _ = run
  with open(report.write(cfg.output_dir)) as f:
    text = f.read()
  assert "| glove_bilstm | classification | word_ids, glove, masked | test accuracy |" in text
  assert "| subword_conv | classification | subword_ids, learned 8 | test accuracy |" in text
  assert "## GloVe matrix" in text and "6 of " in text and "5-d vector" in text
