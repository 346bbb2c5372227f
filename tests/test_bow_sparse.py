"""The bag-of-words models read sparse vectors: the same vectors, the same probabilities and the
same gradients as the dense multi-hot / tf-idf / NB-weighted input they replace, from the real
Transform of the committed samples; and the NB-weighted model through run_fn to a served model
that answers in TF Serving's session loader as in TF2."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from tests import fixtures, serving_checks
from trainers import bow_mlp, features, serving

TOP_K = {"unigram_top_k": 30, "bigram_top_k": 50, "nb_top_k": 60, "nb_ngrams": 2, "nb_alpha": 1.0}


@pytest.fixture(scope="module")
def transform_dir(tmp_path_factory):
  return fixtures.transform_samples(tmp_path_factory.mktemp("bow_sparse"), TOP_K,
                                    ["train", "eval"])


def _transformed_batch(transform_dir: str) -> tuple[dict, tft.TFTransformOutput]:
  output = tft.TFTransformOutput(glob.glob(os.path.join(transform_dir, "transform_graph", "*"))[0])
  files = glob.glob(os.path.join(transform_dir, "transformed_examples", "*", "Split-train", "*"))
  source = tfxio.TFExampleRecord(files, schema=output.transformed_metadata.schema)
  batch = next(iter(source.TensorFlowDataset(tfxio.TensorFlowDatasetOptions(
      batch_size=15, shuffle=False, num_epochs=1))))
  return batch, output


def _dense_vectors(batch: dict, feature: str, size: int) -> tf.Tensor:
  """The dense vectors the models read before (and still do on more than one replica)."""
  return features.bow_featurizer(feature, size, sparse=False)(batch)


@pytest.mark.parametrize("feature", sorted(features.BOW_FEATURES))
def test_sparse_vectors_give_the_dense_models_probabilities_and_gradients(transform_dir, feature):
  batch, output = _transformed_batch(transform_dir)
  size = features.bow_input_size(feature, output)
  sparse = features.bow_featurizer(feature, size)(batch)
  dense = _dense_vectors(batch, feature, size)
  assert sparse.shape[-1] == size
  np.testing.assert_allclose(tf.sparse.to_dense(sparse).numpy(), dense.numpy(), rtol=1e-6)
  assert 0 < tf.size(sparse.values).numpy() < dense.numpy().size / 2  # sparse indeed
  for hidden in (16, 0):
    sparse_model = bow_mlp.build_model(size, hidden_units=hidden)
    dense_model = bow_mlp.build_model(size, hidden_units=hidden, sparse=False)
    dense_model.set_weights(sparse_model.get_weights())
    labels = tf.cast(batch["label"], tf.float32)[:, None]
    grads = []
    for model, x in ((sparse_model, sparse), (dense_model, dense)):
      with tf.GradientTape() as tape:
        probabilities = model(x, training=False)
        loss = tf.keras.losses.binary_crossentropy(labels, probabilities)
      grads.append([tf.convert_to_tensor(g).numpy()  # the sparse input's kernel gradient:
                    for g in tape.gradient(loss, model.trainable_variables)])  # IndexedSlices
      grads[-1].append(probabilities.numpy())
    for got, want in zip(*grads):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 sums, other order


def test_nb_model_trains_and_serves_raw_text_in_the_session_loader(transform_dir, tmp_path):
  fn_args = fixtures.trainer_fn_args(transform_dir, {
      "model_name": "nb", "feature": "bigram_nb", "hidden_units": 0, "epochs": 3,
      "batch_size": 5, "learning_rate": 0.01, "seed": 42}, tmp_path)
  model = bow_mlp.run_fn(fn_args)
  assert len(model.get_weights()) == 2  # logistic regression: one kernel, one bias
  texts = ["A wonderful, moving film.", "Dull, awful and far too long."]
  examples = [serving_checks.raw_example(text=t) for t in texts]
  served = serving_checks.session_outputs(fn_args.serving_model_dir, {
      "serving_default": {"text": texts}, "from_examples": {"examples": examples}})
  # The dense model of the same weights, on the dense NB vectors of the same texts.
  _, output = _transformed_batch(transform_dir)
  transformed = output.transform_features_layer()(
      serving.raw_features_from_text(tf.constant(texts), output.raw_feature_spec()))
  size = features.bow_input_size("bigram_nb", output)
  dense_model = bow_mlp.build_model(size, hidden_units=0, sparse=False)
  dense_model.set_weights(model.get_weights())
  want = dense_model(_dense_vectors(transformed, "bigram_nb", size)).numpy().ravel()
  for outputs in served.values():
    np.testing.assert_allclose(outputs["probabilities"], want, rtol=1e-5)


def test_patience_stops_training_and_keeps_the_best_epoch(transform_dir, tmp_path):
  """learning_rate 0: the eval accuracy never improves on epoch 1's, so patience 1 stops after
  epoch 2 of 6, and epoch 1 is the one kept."""
  fn_args = fixtures.trainer_fn_args(transform_dir, {
      "model_name": "stop", "feature": "unigram_multi_hot", "epochs": 6, "patience": 1,
      "batch_size": 5, "learning_rate": 0.0, "seed": 42}, tmp_path)
  bow_mlp.run_fn(fn_args)
  history = json.loads((tmp_path / "model_run" / "history.json").read_text())
  assert (history["epochs"], history["best_epoch"]) == (2, 1)
  assert len(history["history"]["val_accuracy"]) == 2
  fn_args = fixtures.trainer_fn_args(transform_dir, {
      "model_name": "all", "feature": "unigram_multi_hot", "epochs": 3, "batch_size": 5,
      "learning_rate": 0.0, "seed": 42}, tmp_path / "all")
  bow_mlp.run_fn(fn_args)
  history = json.loads((tmp_path / "all" / "model_run" / "history.json").read_text())
  assert history["epochs"] == 3  # patience 0: every epoch


def test_count_vectors_count_repeats_where_multi_hot_marks_them(transform_dir):
  """seed 000's output_mode="count": each id's number of occurrences in the review."""
  batch, output = _transformed_batch(transform_dir)
  size = features.bow_input_size("unigram_count", output)
  counts = _dense_vectors(batch, "unigram_count", size).numpy()
  multi_hot = _dense_vectors(batch, "unigram_multi_hot", size).numpy()
  ids = tf.sparse.to_dense(batch["unigram_ids"], default_value=-1).numpy()
  want = np.stack([np.bincount(row[row >= 0], minlength=size) for row in ids])
  np.testing.assert_array_equal(counts, want)
  np.testing.assert_array_equal(multi_hot, (want > 0).astype(np.float32))
  assert counts.max() > 1  # the samples do repeat words
