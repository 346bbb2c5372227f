"""The sequence classifiers (trainers.rnn_classifier, conv1d_classifier, transformer_classifier):
masking, and one short training of each on the committed samples' real Transform output under
MirroredStrategy on 2 logical CPU devices, exported with raw text in."""
import importlib
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from tests import serving_checks
from tests.data.reviews import REVIEWS
from tests.fixtures import trainer_fn_args, transform_samples
from trainers import conv1d_classifier, rnn_classifier, sequence, transformer_classifier

LENGTH = 16
MODELS = {
    "onehot_bilstm": ("rnn_classifier", {"embedding": "onehot", "units": 4}),
    "bilstm": ("rnn_classifier", {"embedding_dim": 8, "units": 4, "mask_zero": False}),
    "bilstm_masked": ("rnn_classifier", {"embedding_dim": 8, "units": 4}),
    "gru": ("rnn_classifier", {"embedding_dim": 8, "units": 4, "cell": "gru",
                               "bidirectional": False}),
    "stacked_bilstm": ("rnn_classifier", {"embedding_dim": 8, "units": [6, 3], "head_units": 5,
                                          "optimizer": "adam"}),
    "conv1d": ("conv1d_classifier", {"embedding_dim": 8, "units": 8, "kernel_size": 3,
                                     "mask_zero": False, "pooling": "average"}),
    "transformer": ("transformer_classifier", {"embedding_dim": 8, "hidden_units": 8,
                                               "num_heads": 2}),
}


@pytest.mark.parametrize("module,extra", [
    (rnn_classifier, {"units": 4}), (rnn_classifier, {"units": 4, "cell": "gru", "layers": 2}),
    (transformer_classifier, {"hidden_units": 8})])
def test_masked_models_ignore_padding_and_unmasked_ones_do_not(module, extra):
  """Rewriting the padding row of the embedding changes nothing when padding is masked."""
  ids = np.array([[5, 3, 7, 2, 0, 0, 0, 0], [4, 4, 9, 0, 0, 0, 0, 0]], dtype=np.int64)
  changes = {}
  for mask in (True, False):
    keras.utils.set_random_seed(1)
    params = module.Params(model_name="m", embedding_dim=6, mask_zero=mask, **extra)
    model = sequence.build_model(module.body, params, vocab_size=12, sequence_length=8)
    before = model.predict(ids, verbose=0)
    embedding = next(l for l in model.layers if isinstance(l, keras.layers.Embedding))
    table = embedding.embeddings.numpy()
    table[0] = np.random.default_rng(0).normal(size=table.shape[1]) * 5
    embedding.embeddings.assign(table)
    changes[mask] = np.abs(model.predict(ids, verbose=0) - before).max()
  assert changes[True] < 1e-6
  assert changes[False] > 1e-4


def test_onehot_embedding_feeds_one_hot_vectors():
  model = sequence.build_model(rnn_classifier.body,
                               rnn_classifier.Params(embedding="onehot", units=2),
                               vocab_size=10, sequence_length=4)
  lstm = next(l for l in model.layers if isinstance(l, keras.layers.Bidirectional))
  assert lstm.forward_layer.cell.kernel.shape[0] == 10  # the one-hot width, no embedding


def test_units_list_gives_each_stacked_layer_its_width():
  model = sequence.build_model(rnn_classifier.body,
                               rnn_classifier.Params(embedding_dim=5, units=[6, 3]),
                               vocab_size=10, sequence_length=4)
  rnns = [l for l in model.layers if isinstance(l, keras.layers.Bidirectional)]
  assert [r.forward_layer.units for r in rnns] == [6, 3]
  assert rnns[0].forward_layer.return_sequences and not rnns[1].forward_layer.return_sequences
  assert isinstance(model.optimizer, keras.optimizers.RMSprop)
  head = sequence.build_model(rnn_classifier.body,
                              rnn_classifier.Params(embedding_dim=5, units=2, head_units=7,
                                                    optimizer="adam"), 10, 4)
  assert [l.units for l in head.layers if isinstance(l, keras.layers.Dense)] == [7, 1]
  assert isinstance(head.optimizer, keras.optimizers.Adam)
  assert rnn_classifier.Params(units=4, layers=3).layer_units() == [4, 4, 4]
  with pytest.raises(ValueError, match=r"units \[6, 3\] gives 2 layers, but layers is 3"):
    rnn_classifier.Params(units=[6, 3], layers=3)
  with pytest.raises(ValueError, match="units must be >= 1"):
    rnn_classifier.Params(units=[])


def test_conv1d_average_pooling_averages_over_positions():
  ids = np.array([[5, 3, 7, 2, 1, 4]], dtype=np.int64)
  outputs = {}
  for pooling in ("max", "average"):
    keras.utils.set_random_seed(1)
    params = conv1d_classifier.Params(embedding_dim=4, units=3, kernel_size=2, mask_zero=False,
                                      pooling=pooling)
    model = sequence.build_model(conv1d_classifier.body, params, vocab_size=10, sequence_length=6)
    pool = next(l for l in model.layers if isinstance(l, conv1d_classifier.POOLING[pooling]))
    features = keras.Model(model.inputs, pool.output)(ids).numpy()
    conv = keras.Model(model.inputs, pool.input)(ids).numpy()
    outputs[pooling] = (features, conv)
  np.testing.assert_allclose(outputs["max"][0], outputs["max"][1].max(axis=1), rtol=1e-6)
  np.testing.assert_allclose(outputs["average"][0], outputs["average"][1].mean(axis=1),
                             rtol=1e-6)


def test_glove_embedding_without_matrix_is_a_clear_error():
  with pytest.raises(ValueError, match="needs the GloVe matrix"):
    sequence.build_model(rnn_classifier.body, rnn_classifier.Params(embedding="glove"), 10, 4)


@pytest.fixture(scope="module")
def transform_dir(tmp_path_factory):
  return transform_samples(tmp_path_factory.mktemp("samples"),
                           {"unigram_top_k": 40, "bigram_top_k": 40, "sequence_length": LENGTH},
                           ["train", "eval"])


@pytest.mark.parametrize("name", list(MODELS))
def test_trains_under_mirrored_strategy_and_serves_raw_text(name, transform_dir, tmp_path):
  trainer, settings = MODELS[name]
  config = {"model_name": name, "epochs": 2, "batch_size": 2, "strategy": "mirrored",
            "cpu_devices": 2, **settings}
  module = importlib.import_module(f"trainers.{trainer}")
  fn_args = trainer_fn_args(transform_dir, config, tmp_path)
  model = module.run_fn(fn_args)

  assert model.distribute_strategy.num_replicas_in_sync == 2
  with open(os.path.join(fn_args.model_run_dir, "history.json")) as f:
    history = json.load(f)["history"]
  assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"]))
  assert 0 <= history["val_accuracy"][-1] <= 1

  texts = [r[-1] for r in REVIEWS[:6]]
  served = tf.saved_model.load(fn_args.serving_model_dir)
  probabilities = served.signatures["serving_default"](text=tf.constant(texts))["probabilities"]
  assert probabilities.shape == (6,)
  # The same texts through the Transform graph by hand, then the Keras model.
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  raw = {"text": tf.constant(texts)[:, None], "label": tf.zeros([6, 1], tf.int64),
         "id": tf.fill([6, 1], "x")}
  spec = tft_output.raw_feature_spec()
  raw = {k: v for k, v in raw.items() if k in spec}
  ids = tft_output.transform_raw_features(raw)["word_ids"]
  assert ids.shape == (6, LENGTH)
  expected = model(ids, training=False).numpy().reshape(-1)
  np.testing.assert_allclose(probabilities.numpy(), expected, atol=1e-5)
  # As TF Serving runs it: restored into a session, every signature equal to the TF2 load's.
  served = serving_checks.session_outputs(fn_args.serving_model_dir, {
      "serving_default": {"text": texts},
      "from_examples": {"examples": [serving_checks.raw_example(text=t) for t in texts]}})
  for name in served:
    np.testing.assert_allclose(served[name]["probabilities"], expected, atol=1e-5)
