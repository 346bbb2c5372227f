"""The sequence classifiers' fast paths give the padded, one-hot models' numbers: batches of
similar length cut short (trainers.common.LengthBuckets) and the one-hot LSTM computed from its
kernel rows (trainers.recurrent.ProjectedRNN)."""
import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures import trainer_fn_args, transform_samples
from trainers import (common, conv1d_classifier, recurrent, rnn_classifier, sequence,
                      transformer_classifier)

IDS = np.array([[5, 3, 7, 2, 9, 0, 0, 0, 0, 0, 0, 0],
                [4, 4, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                [8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.int64)
LABELS = np.array([1.0, 0.0, 1.0], dtype=np.float32)


def loss_and_gradients(model, ids):
  with tf.GradientTape() as tape:
    probabilities = model(ids, training=False)
    loss = keras.losses.binary_crossentropy(LABELS[:, None], probabilities)
  gradients = tape.gradient(loss, model.trainable_weights)  # the embedding's: IndexedSlices
  return (probabilities.numpy(), float(tf.reduce_mean(loss)),
          [tf.convert_to_tensor(g).numpy() for g in gradients])


def assert_same_numbers(ours, theirs):
  """Two loss_and_gradients() results agree to float32 rounding."""
  np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
  assert ours[1] == pytest.approx(theirs[1], rel=1e-5)
  for a, b in zip(ours[2], theirs[2], strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("module,extra", [
    (rnn_classifier, {"units": 4}), (rnn_classifier, {"units": 4, "cell": "gru", "layers": 2}),
    (rnn_classifier, {"units": 3, "bidirectional": False}),
    (transformer_classifier, {"hidden_units": 8})])
def test_a_trimmed_batch_gives_the_padded_batchs_loss_predictions_and_gradients(module, extra):
  keras.utils.set_random_seed(3)
  params = module.Params(model_name="m", embedding_dim=6, **extra)
  assert sequence.trims_batches(params, masks_padding=True)
  model = sequence.build_model(module.body, params, vocab_size=12, sequence_length=IDS.shape[1])
  trimmed = common.LengthBuckets("word_ids", IDS.shape[1]).cut(tf.constant(IDS))
  assert trimmed.shape == (3, 5)  # the widths of 12 in 16 buckets are 1, 2, ... 10 and 12
  assert_same_numbers(loss_and_gradients(model, trimmed), loss_and_gradients(model, IDS))


def test_unmasked_models_are_not_trimmed_since_their_padding_counts():
  """Cutting the padding of an unmasked model changes its output, so such batches stay whole."""
  keras.utils.set_random_seed(3)
  params = rnn_classifier.Params(model_name="m", embedding_dim=6, units=4, mask_zero=False)
  model = sequence.build_model(rnn_classifier.body, params, 12, IDS.shape[1])
  change = np.abs(model.predict(IDS, verbose=0) - model.predict(IDS[:, :5], verbose=0)).max()
  assert change > 1e-4
  assert not sequence.trims_batches(params, masks_padding=True)
  assert not sequence.trims_batches(rnn_classifier.Params(embedding="onehot"), True)
  assert not sequence.trims_batches(conv1d_classifier.Params(mask_zero=True), False)


@pytest.mark.parametrize("layers,bidirectional,cell", [(1, True, "lstm"), (2, True, "lstm"),
                                                       (1, False, "lstm"), (1, True, "gru")])
def test_the_onehot_rnn_from_kernel_rows_equals_the_rnn_on_one_hot_vectors(layers, bidirectional,
                                                                           cell):
  vocab = 11
  keras.utils.set_random_seed(5)
  params = rnn_classifier.Params(model_name="m", embedding="onehot", units=3, layers=layers,
                                 bidirectional=bidirectional, dropout=0.0, cell=cell)
  rows = sequence.build_model(rnn_classifier.body, params, vocab, IDS.shape[1])
  assert not any(l.name.startswith("one_hot") for l in rows.layers)

  def reference_body(x, config):  # the model as DLwP writes it: tf.one_hot -> LSTM
    x = keras.ops.one_hot(x.ids, x.depth)
    for i in range(config.layers):
      layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell](
          config.units, return_sequences=i < config.layers - 1)
      x = keras.layers.Bidirectional(layer)(x) if config.bidirectional else layer(x)
    return x

  reference = sequence.build_model(reference_body, params, vocab, IDS.shape[1])
  assert [w.shape for w in reference.weights] == [w.shape for w in rows.weights]
  reference.set_weights(rows.get_weights())
  assert_same_numbers(loss_and_gradients(rows, IDS), loss_and_gradients(reference, IDS))


def test_a_batch_is_cut_to_the_widest_length_of_its_bucket():
  buckets = common.LengthBuckets("word_ids", 600)
  widths = [b - 1 for b in buckets.bounds] + [600]
  assert len(widths) == buckets.BUCKETS + 1 and widths[0] == 34 and widths[-2] == 564
  for longest, width in [(1, 34), (34, 34), (35, 70), (230, 246), (564, 564), (565, 600),
                         (600, 600)]:
    ids = np.zeros((2, 600), np.int64)
    ids[0, :longest] = 7
    ids[1, :min(longest, 3)] = 5
    assert buckets.cut(tf.constant(ids)).shape == (2, width), longest


def test_onehot_is_for_the_recurrent_classifiers_only():
  with pytest.raises(ValueError, match="'learned' or 'glove'"):
    conv1d_classifier.Params(embedding="onehot")


@pytest.fixture(scope="module")
def transform_dir(tmp_path_factory):
  return transform_samples(tmp_path_factory.mktemp("samples"),
                           {"unigram_top_k": 40, "bigram_top_k": 40, "sequence_length": 64},
                           ["train", "eval"])


@pytest.mark.parametrize("cache", [True, False])
def test_bucketed_batches_hold_every_example_once_cut_to_their_longest(transform_dir, tmp_path,
                                                                        cache):
  fn_args = trainer_fn_args(transform_dir, {"model_name": "m"}, tmp_path)
  tft_output = common.load_transform_output(fn_args)
  read = lambda **kw: common.dataset(  # noqa: E731
      fn_args, fn_args.train_files, tft_output, 4, shuffle=False, seed=1, drop_remainder=False,
      cache=cache, **kw)
  whole = read(featurize=lambda t: t["word_ids"])
  buckets = common.LengthBuckets("word_ids", 64)
  cut = read(featurize=lambda t: buckets.cut(t["word_ids"]), buckets=buckets)

  def examples(ds):
    rows = collections.Counter()
    for ids, labels in ds:
      for row, label in zip(ids.numpy(), labels.numpy()):
        rows[(tuple(row[row > 0]), float(label))] += 1
    return rows

  assert examples(cut) == examples(whole)
  assert sum(examples(whole).values()) == 15
  assert int(cut.cardinality()) == sum(1 for _ in cut)
  # Each batch is one bucket's rows: lengths from the previous bound up to the batch's width.
  lower = {w: b for w, b in zip([b - 1 for b in buckets.bounds[1:]] + [64], buckets.bounds)}
  lower[buckets.bounds[0] - 1] = 0
  widths = []
  for ids, _ in cut:
    lengths = tf.math.count_nonzero(ids, axis=1).numpy()
    width = ids.shape[1]
    assert width in lower and lengths.max() <= width and lengths.min() >= lower[width]
    widths.append(width)
  assert max(widths) < 64  # the samples' reviews are shorter than the padding


# A row of padding only, one short, one long and one with no padding: what the fused LSTM loop
# reads at each row's own last step.
RAGGED_IDS = np.array([[5, 3, 7, 2, 9, 0, 0, 0, 0, 0, 0, 0],
                       [0] * 12,
                       [8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                       [8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], dtype=np.int64)


@pytest.mark.parametrize("cell,bidirectional,masked,sequences,backwards", [
    ("lstm", True, True, True, False), ("lstm", True, True, False, False),
    ("lstm", True, False, True, False), ("lstm", True, False, False, False),
    ("lstm", False, True, True, True), ("lstm", False, True, False, True),
    ("lstm", False, True, True, False), ("lstm", False, False, False, True),
    ("gru", False, True, True, False), ("gru", True, False, True, False),
    ("gru", True, True, False, False), ("gru", False, True, True, True),
    ("gru", False, True, False, True), ("gru", False, False, False, False)])
def test_the_projected_rnn_is_keras_rnn_with_the_same_weights(cell, bidirectional, masked,
                                                              sequences, backwards):
  """recurrent.ProjectedRNN against keras.layers.LSTM / GRU: outputs and gradients (the LSTM's
  loop is the fused BlockLSTM op, in its masked and backwards readings)."""
  keras.utils.set_random_seed(2)
  ids = keras.Input(shape=(RAGGED_IDS.shape[1],), dtype="int64")

  def model(layer):
    layer = keras.layers.Bidirectional(layer) if bidirectional else layer
    return keras.Model(ids, layer(keras.layers.Embedding(12, 6, mask_zero=masked)(ids)))

  kwargs = {"return_sequences": sequences, "go_backwards": backwards}
  ours = model(recurrent.ProjectedRNN(3, cell, **kwargs))
  keras_layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
  theirs = model(keras_layer(3, **kwargs))
  assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
  theirs.set_weights(ours.get_weights())
  results = []
  for m in (ours, theirs):
    with tf.GradientTape() as tape:
      out = m(RAGGED_IDS)
      loss = tf.reduce_sum(out * tf.range(1, out.shape[-1] + 1, dtype=tf.float32))
    grads = tape.gradient(loss, m.trainable_weights)
    results.append((out.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]))
  np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
  for a, b in zip(results[0][1], results[1][1]):  # float32 sums in another order
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * np.abs(b).max())


def test_the_fused_lstm_refuses_a_mask_that_is_not_right_padding():
  layer = recurrent.ProjectedRNN(3)
  x = tf.random.normal((2, 4, 5))
  with pytest.raises(tf.errors.InvalidArgumentError, match="padding at the end"):
    layer(x, mask=tf.constant([[True, False, True, False], [True, True, False, False]]))


def test_texts_are_batched_with_texts_of_similar_length():
  lengths = [3, 70, 5, 900, 100, 60, 80, 1000, 10, 2000, 75, 20]
  texts = ["é" * n for n in lengths]  # characters, not bytes, decide the bucket
  ds = tf.data.Dataset.from_tensor_slices(({"text": texts}, [0] * len(texts)))
  buckets = common.TextLengthBuckets("text")
  batches = [[len(t.decode()) for t in x["text"].numpy()]
             for x, _ in buckets.batch(ds.map(buckets.select), 2, drop_remainder=False)]
  assert sorted(n for b in batches for n in b) == sorted(lengths)
  bucket = lambda n: sum(n >= b for b in buckets.BOUNDS)
  assert all(len({bucket(n) for n in b}) == 1 for b in batches), batches
