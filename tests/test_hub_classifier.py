"""trainers.hub_classifier on the committed samples' Transform output (keep_text), under
MirroredStrategy on 2 logical CPUs. No hub is reachable: the encoder is a tiny SavedModel written
here (hashed bag of words -> mean of a trainable embedding), shaped like TF-Hub's text encoders.
"""
import functools
import glob
import hashlib
import http.server
import io
import json
import re
import tarfile
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils, standard_artifacts

from components import preprocessing
from components.serving_check import sessions as sessions_lib
from pipeline import config, serving_client
from tests import fixtures, serving_checks
from trainers import common, hub_classifier

LOCAL_BEAM = config.direct_beam_args(1, "in_memory")
DIM, BUCKETS = 8, 64
EPOCHS = 3
TEXTS = ["A wonderful, great film.<br /><br />Loved every minute.", "Awful and boring.<br/>Dull."]


def write_encoder(path) -> str:
  """A reusable SavedModel: __call__ [batch] strings -> [batch, DIM], plus its variable lists."""
  root = tf.train.Checkpoint()
  root.embeddings = tf.Variable(tf.random.stateless_normal([BUCKETS, DIM], seed=[1, 2]))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def encode(text):
    ids = tf.strings.to_hash_bucket_fast(tf.strings.split(tf.strings.lower(text)), BUCKETS)
    return tf.reduce_mean(tf.nn.embedding_lookup(root.embeddings, ids), axis=1)

  root.__call__ = encode
  root.variables = [root.embeddings]
  root.trainable_variables = [root.embeddings]
  tf.saved_model.save(root, str(path))
  return str(path)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
  return write_encoder(tmp_path_factory.mktemp("encoder") / "1")


@pytest.fixture(scope="module")
def transform_dir(tmp_path_factory):
  return fixtures.transform_samples(
      tmp_path_factory.mktemp("hub_samples"),
      {"keep_text": True, "unigram_top_k": 30, "bigram_top_k": 50}, ["train", "eval"], LOCAL_BEAM)


def make_fn_args(transform_dir, out, custom_config: dict):
  """The fn_args the TFX Trainer executor gives run_fn (as tests/multi_worker_worker.py)."""
  examples = standard_artifacts.Examples()
  examples.uri = glob.glob(f"{transform_dir}/transformed_examples/*")[0]
  examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
  graph = standard_artifacts.TransformGraph()
  graph.uri = glob.glob(f"{transform_dir}/transform_graph/*")[0]
  fn_args = fn_args_utils.get_common_fn_args(
      {"examples": [examples], "transform_graph": [graph]},
      {"train_args": json.dumps({"splits": ["train"]}),
       "eval_args": json.dumps({"splits": ["eval"]}),
       "custom_config": json.dumps(custom_config)})
  fn_args.transform_output = fn_args.transform_graph_path
  fn_args.serving_model_dir = str(out / "Format-Serving")
  fn_args.model_run_dir = str(out / "model_run")
  return fn_args


@pytest.fixture(scope="module", params=[False, True], ids=["frozen", "trainable"])
def run(request, transform_dir, encoder, tmp_path_factory):
  out = tmp_path_factory.mktemp("hub_run")
  fn_args = make_fn_args(transform_dir, out, {
      "model_name": "hub", "hub_handle": encoder, "hub_trainable": request.param,
      "epochs": EPOCHS, "batch_size": 2, "learning_rate": 0.01, "strategy": "mirrored",
      "cpu_devices": 2, "seed": 42})
  model = hub_classifier.run_fn(fn_args)
  return request.param, model, fn_args


def test_encoder_variables_train_only_when_trainable(run, encoder):
  trainable, model, fn_args = run
  layer = model.get_layer("hub_encoder")
  assert [w.trainable for w in layer.trainable_weights] == ([True] if trainable else [])
  (weight,) = layer.weights
  replicas = model.distribute_strategy.experimental_local_results(weight.value)
  assert len(replicas) == 2
  np.testing.assert_array_equal(replicas[0].numpy(), replicas[1].numpy())  # mirrored, in sync
  original = tf.saved_model.load(encoder)
  moved = np.abs(weight.numpy() - original.embeddings.numpy()).max()
  # The encoder function reads the variable Keras trained, not a copy of it.
  outputs_moved = np.abs(layer(tf.constant(TEXTS)) - original(tf.constant(TEXTS))).max()
  if trainable:
    assert moved > 1e-3 and outputs_moved > 1e-4
  else:
    assert moved == 0 and outputs_moved == 0
  history = json.loads(open(f"{fn_args.model_run_dir}/history.json").read())
  assert history["replicas"] == 2 and len(history["history"]["val_accuracy"]) == EPOCHS


def test_the_model_is_its_best_epoch_and_reads_text_as_the_head_read_vectors(run):
  """Frozen, the head trains on the eval texts' vectors encoded once (fit_frozen); the model
  returned (text -> encoder -> head) must score the texts as the head scores those vectors, and
  both must be the best epoch's (its eval loss, over the batches that epoch saw)."""
  trainable, model, fn_args = run
  history = json.loads(open(f"{fn_args.model_run_dir}/history.json").read())
  best_loss = history["history"]["val_loss"][history["best_epoch"] - 1]
  assert best_loss == pytest.approx(min(history["history"]["val_loss"]))
  tft_output = common.load_transform_output(fn_args)
  texts = functools.partial(common.dataset, fn_args, fn_args.eval_files, tft_output, 4,
                            hub_classifier.featurize, shuffle=False, seed=0)
  head = model.get_layer("head")
  vectors, labels = hub_classifier.encode_split(model.get_layer("hub_encoder"), fn_args,
                                                fn_args.eval_files, tft_output, "eval")
  # Every eval text (in file order; the vectors are in batches of similar length).
  loss = keras.losses.BinaryCrossentropy()
  text_labels, text_probabilities = zip(*[(y, model(x)) for x, y in texts(drop_remainder=False)])
  text_loss = loss(np.concatenate(text_labels), np.concatenate(text_probabilities).reshape(-1))
  assert float(text_loss) == pytest.approx(float(loss(labels, head(vectors)[:, 0])), rel=1e-5)
  # The eval batches of training: 2 replicas drop the last partial one (common.train_and_eval).
  if trainable:
    seen_loss, _ = model.evaluate(texts(drop_remainder=True), verbose=0)
  else:
    seen_loss, _ = head.evaluate(hub_classifier.vector_dataset(
        vectors, labels, 4, shuffle=False, seed=0, drop_remainder=True, split="eval"), verbose=0)
  assert seen_loss == pytest.approx(best_loss, rel=1e-5)


def test_export_serves_raw_strings_like_the_keras_model(run):
  _, model, fn_args = run
  served = serving_client.load(fn_args.serving_model_dir)
  probabilities = served.predict(TEXTS)["probabilities"]
  assert probabilities.shape == (2,) and np.all((probabilities >= 0) & (probabilities <= 1))
  # Serving runs the Transform graph (HTML breaks -> spaces) before the model.
  transformed = [re.sub(preprocessing.HTML_BREAK_REGEX, " ", t) for t in TEXTS]
  expected = model(tf.constant(transformed)).numpy().reshape(-1)
  np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
  examples = [tf.train.Example(features=tf.train.Features(feature={"text": tf.train.Feature(
      bytes_list=tf.train.BytesList(value=[t.encode()]))})).SerializeToString() for t in TEXTS]
  # predict() reads through TF Serving's session-based loader; tf.saved_model.load agrees.
  from_examples = sessions_lib.Tf2Model(served.path).run(
      "from_examples", {"examples": np.array(examples, dtype=object)})["probabilities"]
  np.testing.assert_allclose(from_examples, probabilities, rtol=1e-6)
  # Both signatures in the session loader, with the encoder's (fine-tuned) variables.
  sessions = serving_checks.session_outputs(fn_args.serving_model_dir, {
      "serving_default": {"text": TEXTS}, "from_examples": {"examples": examples}})
  for outputs in sessions.values():
    np.testing.assert_allclose(outputs["probabilities"], probabilities, rtol=1e-6)


def test_run_fn_needs_a_hub_handle(transform_dir, tmp_path):
  fn_args = make_fn_args(transform_dir, tmp_path, {"model_name": "hub", "strategy": "mirrored",
                                                    "cpu_devices": 2})
  with pytest.raises(ValueError, match=r"model .hub. does not fit trainers.hub_classifier.Params"
                     r"(.|\n)*hub_handle"):
    hub_classifier.run_fn(fn_args)


def test_url_handles_are_downloaded_compressed_once(encoder, tmp_path, monkeypatch):
  """TF-Hub's protocol: GET <handle>?tf-hub-format=compressed, a .tar.gz of the SavedModel."""
  archive = io.BytesIO()
  with tarfile.open(fileobj=archive, mode="w:gz") as tar:
    tar.add(encoder, arcname=".")
  requests = []

  class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
      requests.append(self.path)
      self.send_response(200)
      self.end_headers()
      self.wfile.write(archive.getvalue())

    def log_message(self, *args):
      pass

  server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
  handle = f"http://127.0.0.1:{server.server_port}/google/tiny-encoder/1"
  try:
    path = hub_classifier.resolve(handle)
    assert hub_classifier.resolve(handle) == path  # the second time from the cache
  finally:
    server.shutdown()
  assert requests == ["/google/tiny-encoder/1?tf-hub-format=compressed"]
  assert path == str(tmp_path / "cache" / hashlib.sha1(handle.encode()).hexdigest())
  layer = hub_classifier.hub_encoder(handle)  # the server is down: from the cache
  np.testing.assert_allclose(layer(tf.constant(TEXTS)),
                             tf.saved_model.load(encoder)(tf.constant(TEXTS)))
