"""ServingCheck and the Pusher on tiny exports: a serving module that tracks its Keras variables
(the defect of every pushed model before) fails in TF Serving's session-based loader and is
never published, with the reason recorded; models built under MirroredStrategy and held through
serving.hold_keras pass; models.config lists exactly the published models."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils, proto_utils

from components.atomic_pusher import executor as pusher
from components.serving_check import executor as check_executor
from components.serving_check import sessions
from tests import serving_checks
from trainers import serving
from trainers import strategy as strategy_lib

BUCKETS = 16
TEXTS = ["a wonderful film", "awful and boring", "", "fine"]


def _model():
  strategy = strategy_lib.make_strategy("mirrored", cpu_devices=2)  # one per process
  with strategy.scope():
    inputs = keras.Input((BUCKETS,))
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy")
  model.fit(np.eye(BUCKETS)[:8], np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
  return model


class _HashedText(tf.Module):
  """raw text -> hashed bag of words -> the Keras model; `held` picks how the model is kept."""

  def __init__(self, model, held: bool):
    super().__init__()
    if held:
      serving.hold_keras(self, model=model)
    else:  # what trainers/serving.py did: Keras variables tracked, the model untracked
      self.model_variables = list(model.variables)
      object.__setattr__(self, "model", model)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve(self, text):
    ids = tf.strings.to_hash_bucket_fast(tf.strings.split(text), BUCKETS)
    bag = tf.cast(tf.math.bincount(ids, minlength=BUCKETS, maxlength=BUCKETS, axis=-1,
                                   binary_output=True), tf.float32)
    bag = tf.ensure_shape(bag, [None, BUCKETS])
    return {"probabilities": tf.reshape(self.model(bag, training=False), [-1])}


def _export(module, model_uri: str) -> str:
  directory = path_utils.serving_model_path(model_uri)
  serving.export(module, directory,
                 lambda m: {"serving_default": m.serve.get_concrete_function()})
  return directory


@pytest.fixture(scope="module")
def trained():
  return _model()


def test_held_module_serves_in_the_session_loader_as_in_tf2(trained, tmp_path):
  directory = _export(_HashedText(trained, held=True), str(tmp_path / "model"))
  served = serving_checks.session_outputs(directory, {"serving_default": {"text": TEXTS}})
  assert served["serving_default"]["probabilities"].shape == (4,)
  result = sessions.check(directory, TEXTS)
  assert result.ok and result.signatures == ["serving_default"], result.reason


def test_keras_tracked_module_fails_the_session_loader_with_the_variable_named(trained,
                                                                               tmp_path):
  directory = _export(_HashedText(trained, held=False), str(tmp_path / "model"))
  tf.saved_model.load(directory).signatures["serving_default"](text=tf.constant(TEXTS))  # TF2: ok
  result = sessions.check(directory, TEXTS)
  assert not result.ok
  assert "serving_default fails in the session-based loader" in result.reason
  assert "Could not find variable dense" in result.reason


def _examples(tmp_path) -> standard_artifacts.Examples:
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / "examples")
  examples.split_names = artifact_utils.encode_split_names(["test"])
  os.makedirs(os.path.join(examples.uri, "Split-test"))
  with tf.io.TFRecordWriter(os.path.join(examples.uri, "Split-test", "data.gz"),
                            options="GZIP") as writer:
    for text in TEXTS:
      writer.write(serving_checks.raw_example(text=text))
  return examples


def _check_then_push(tmp_path, name: str, module, examples, serving_root):
  model = standard_artifacts.Model()
  model.uri = str(tmp_path / f"{name}-model")
  _export(module, model.uri)
  blessing = standard_artifacts.InfraBlessing()
  blessing.uri = str(tmp_path / f"{name}-check")
  check_executor.Executor().Do(
      {"model": [model], "examples": [examples]}, {"blessing": [blessing]},
      {"split": "test", "text_feature": "text", "num_examples": 3, "max_chars": 100})
  model_blessing = standard_artifacts.ModelBlessing()
  model_blessing.uri = str(tmp_path / f"{name}-blessing")
  model_blessing.set_int_custom_property("blessed", 1)  # the Evaluator blessed all three
  pushed = standard_artifacts.PushedModel()
  pushed.uri = str(tmp_path / f"{name}-pushed")
  destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
      base_directory=str(serving_root / name)))
  pusher.Executor().Do(
      {"model": [model], "model_blessing": [model_blessing], "infra_blessing": [blessing]},
      {"pushed_model": [pushed]}, {"push_destination": proto_utils.proto_to_json(destination)})
  return blessing, pushed


def test_only_models_that_pass_are_pushed_and_models_config_lists_them(trained, tmp_path):
  examples, root = _examples(tmp_path), tmp_path / "serving"
  results = {name: _check_then_push(tmp_path, name, _HashedText(trained, held), examples, root)
             for name, held in (("first", True), ("second", True), ("broken", False))}
  for name in ("first", "second"):
    blessing, pushed = results[name]
    assert blessing.get_int_custom_property("blessed") == 1
    assert "3 raw inputs through serving_default" in blessing.get_string_custom_property("reason")
    assert pushed.get_int_custom_property("pushed") == 1
  blessing, pushed = results["broken"]
  assert blessing.get_int_custom_property("blessed") == 0
  assert "Could not find variable" in blessing.get_string_custom_property("reason")
  assert os.path.exists(os.path.join(blessing.uri, check_executor.NOT_BLESSED_FILE))
  assert pushed.get_int_custom_property("pushed") == 0
  assert not (root / "broken").exists()  # nothing half-published either
  config = text_format.Parse((root / pusher.MODELS_CONFIG).read_text(),
                             model_server_config_pb2.ModelServerConfig())
  listed = {c.name: c.base_path for c in config.model_config_list.config}
  assert listed == {"first": str(root / "first"), "second": str(root / "second")}
  assert {c.model_platform for c in config.model_config_list.config} == {"tensorflow"}
  assert [f for f in os.listdir(root) if ".tmp" in f] == []


def test_differences_name_the_output_and_the_size(tmp_path):
  a = {"p": np.array([0.5, 0.25], np.float32), "ids": np.array([1, 2])}
  assert sessions.differences(a, {k: v.copy() for k, v in a.items()}) == []
  assert sessions.differences(a, {"p": np.array([0.5, 0.2500001], np.float32),
                                  "ids": np.array([1, 2])}) == []  # within the tolerance
  assert sessions.differences(a, {"p": np.array([0.5, 0.3], np.float32),
                                  "ids": np.array([1, 3])}) == [
      "ids: 1 of 2 values differ", "p: max |difference| 0.05"]
  assert sessions.differences(a, {"p": a["p"][:1]}) == [
      "outputs ['p'] != ['ids', 'p']", "p: float32[1] != float32[2]"]


def test_rest_preview_answers_in_tf_servings_row_format():
  import runpy  # pylint: disable=import-outside-toplevel
  script = runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts",
                                       "rest_preview.py"))
  one = {"probabilities": np.array([0.123456, 0.5], np.float32)}
  assert script["predict_answer"](one, 2) == {"predictions": [0.1235, 0.5]}
  two = {"tags": np.array([[b"DT", b""]]), "tag_ids": np.array([[4, 0]])}
  assert script["predict_answer"](two, 1) == {
      "predictions": [{"tag_ids": [4, 0], "tags": ["DT", ""]}]}
