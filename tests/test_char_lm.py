"""Character LMs on tiny texts: reading/normalising/splitting, the TFT char vocabulary, exact
window contents in both modes, a train step of both models on 2 replicas, the served signatures
and sampling."""
import functools
import math
import os
import tempfile

import apache_beam as beam
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam

from components import char_preprocessing
from components.char_windows import executor as windows
from components.text_example_gen import reader
from trainers import char_rnn, char_serving, strategy as strategy_lib

BOOK = ("The Project Gutenberg EBook of Tiny\r\nLicence words\r\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK TINY ***\r\n\r\n"
        "Alice  was\r\nbeginning to get very tired.\r\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK TINY ***\r\nMore licence\r\n"
        "*** START: FULL LICENSE ***\r\n")


def _write(tmp_path, name, text):
  path = tmp_path / name
  path.write_bytes(text.encode("utf-8"))
  return str(path)


def test_gutenberg_header_and_licence_are_dropped_and_line_ends_normalised(tmp_path):
  text = reader.read_text([_write(tmp_path, "pg.txt", BOOK)], gutenberg=True,
                          collapse_whitespace=False)
  assert text == "Alice  was\nbeginning to get very tired.\n"


def test_collapse_whitespace_joins_every_run_into_one_space(tmp_path):
  text = reader.read_text([_write(tmp_path, "pg.txt", BOOK)], gutenberg=True,
                          collapse_whitespace=True)
  assert text == "Alice was beginning to get very tired. "


def test_book_without_markers_is_an_error_naming_the_file(tmp_path):
  path = _write(tmp_path, "notabook.txt", "just text\n")
  with pytest.raises(reader.CorpusFormatError, match="notabook.txt.*START OF"):
    reader.read_text([path], gutenberg=True, collapse_whitespace=False)


def test_non_utf8_text_is_an_error_naming_file_and_byte(tmp_path):
  path = tmp_path / "bad.txt"
  path.write_bytes(b"abc\xff\xfedef")
  with pytest.raises(reader.CorpusFormatError, match=r"bad.txt: not UTF-8 at byte 3"):
    reader.read_text([str(path)], gutenberg=False, collapse_whitespace=False)


def test_empty_corpus_is_an_error(tmp_path):
  with pytest.raises(reader.CorpusFormatError, match="no text left"):
    reader.read_text([_write(tmp_path, "empty.txt", " \n\n")], gutenberg=False,
                     collapse_whitespace=False)


def test_position_split_and_chunks_reassemble_each_split_exactly():
  text = "".join(chr(ord("a") + i % 26) for i in range(1000))
  got = list(reader.chunks(text, (0.9, 0.05, 0.05), chunk_chars=64))
  by_split = {s: "".join(c.text for c in sorted((c for c in got if c.split == s),
                                                   key=lambda c: c.offset))
              for s in reader.SPLITS}
  assert by_split == {"train": text[:900], "eval": text[900:950], "test": text[950:]}
  assert max(len(c.text) for c in got) == 64


def test_stateless_windows_exact_contents():
  ids = np.arange(1, 11)  # 1..10
  assert windows.stateless_windows(ids, 3, 1).tolist() == [
      [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8], [6, 7, 8, 9],
      [7, 8, 9, 10]]
  assert windows.stateless_windows(ids, 3, 3).tolist() == [[1, 2, 3, 4], [4, 5, 6, 7],
                                                           [7, 8, 9, 10]]
  assert windows.stateless_windows(ids[:3], 3, 1).shape == (0, 4)


def test_stateful_windows_continue_row_by_row_across_batches():
  ids = np.arange(1, 24)  # 23 ids, 2 streams of 11 (id 23 dropped)
  got = windows.stateful_windows(ids, 3, batch_size=2)
  # stream 0 = 1..11, stream 1 = 12..22; windows of 4 with stride 3; rows alternate streams.
  assert got.tolist() == [[1, 2, 3, 4], [12, 13, 14, 15],
                          [4, 5, 6, 7], [15, 16, 17, 18],
                          [7, 8, 9, 10], [18, 19, 20, 21]]
  batches = got.reshape(-1, 2, 4)
  for k in range(len(batches) - 1):  # row i of batch k+1 starts where row i of batch k's input ends
    for i in range(2):
      assert batches[k + 1, i, 0] == batches[k, i, -1]
      assert batches[k + 1, i, 1] == batches[k, i, -1] + 1


def test_train_windows_are_shuffled_reproducibly_and_eval_windows_keep_order():
  ids = np.arange(1, 40)
  a = windows.split_windows(ids, "train", "stateless", 4, 1, 8, seed=1)
  b = windows.split_windows(ids, "train", "stateless", 4, 1, 8, seed=1)
  assert a.tolist() == b.tolist()
  assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, windows.stateless_windows(ids, 4, 1)
                                                      .tolist()))
  assert a.tolist() != windows.stateless_windows(ids, 4, 1).tolist()
  assert windows.split_windows(ids, "test", "stateless", 4, 1, 8, 1).tolist() == \
      windows.stateless_windows(ids, 4, 4).tolist()


def _char_vocab(texts, lowercase, tmp):
  spec = {"text": tf.io.FixedLenFeature([1], tf.string), "offset": tf.io.FixedLenFeature([1], tf.int64)}
  metadata = tft.DatasetMetadata.from_feature_spec(spec)
  rows = [{"text": [t.encode()], "offset": [i]} for i, t in enumerate(texts)]
  fn = functools.partial(char_preprocessing.preprocessing_fn,
                         custom_config={"lowercase": lowercase})
  with beam.Pipeline() as p, tft_beam.Context(temp_dir=tmp, force_tf_compat_v1=False):
    (transformed, _), transform_fn = (
        (p | beam.Create(rows), metadata) | tft_beam.AnalyzeAndTransformDataset(fn))
    out = os.path.join(tmp, "out")
    _ = transform_fn | tft_beam.WriteTransformFn(out)
    _ = transformed | beam.Map(lambda r: r) | beam.combiners.ToList() | beam.Map(
        lambda rows: np.save(os.path.join(tmp, "rows.npy"),
                             np.array([r["char_ids"].tolist() for r in rows], dtype=object),
                             allow_pickle=True))
  return tft.TFTransformOutput(out), np.load(os.path.join(tmp, "rows.npy"), allow_pickle=True)


def test_char_vocabulary_leaves_zero_free_keeps_newlines_and_respects_case(tmp_path):
  output, rows = _char_vocab(["Abba\n", "ab"], lowercase=False, tmp=str(tmp_path / "cased"))
  vocab = char_preprocessing.vocabulary(output)
  assert vocab[0] == "" and vocab[-1] == "\ufffd"
  assert sorted(vocab[1:-1]) == sorted(["A", "b", "a", "\n"])
  assert vocab[1] == "b"  # most frequent first (b: 3)
  ids = rows[0]
  assert min(ids) >= 1 and "".join(vocab[i] for i in ids) == "Abba\n"
  lower, _ = _char_vocab(["Abba\n", "ab"], lowercase=True, tmp=str(tmp_path / "lower"))
  assert sorted(char_preprocessing.vocabulary(lower)[1:-1]) == sorted(["a", "b", "\n"])


def _window_dataset(ids, length, batch):
  w = windows.stateless_windows(np.asarray(ids), length, 1)
  return tf.data.Dataset.from_tensor_slices((w[:, :-1], w[:, 1:])).batch(batch, drop_remainder=True)


@pytest.mark.parametrize("stateful", [False, True])
def test_one_train_step_on_two_replicas(stateful):
  strategy = strategy_lib.make_strategy("mirrored", 2)
  assert strategy.num_replicas_in_sync == 2
  ids = np.tile(np.arange(1, 6), 20)
  with strategy.scope():
    model = char_rnn.build_model(7, 4, 8, stateful=stateful, batch_size=2)
  before = [w.copy() for w in model.get_weights()]
  history = model.fit(_window_dataset(ids, 5, 4).take(3), epochs=1, verbose=0,
                      callbacks=[char_rnn.ResetStates()] if stateful else [])
  loss, bits = history.history["loss"][0], history.history["bits_per_char"][0]
  assert math.isfinite(loss) and bits == pytest.approx(loss / math.log(2), rel=1e-4)
  assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_cosine_learning_rate_decays_to_zero_over_all_training_steps():
  config = char_rnn.Params(model_name="lm", epochs=3, learning_rate=0.01, lr_decay="cosine")
  rate = char_rnn.learning_rate(config, steps_per_epoch=5)
  assert [float(rate(s)) for s in (0, 7.5, 15)] == pytest.approx([0.01, 0.005, 0.0], abs=1e-7)
  model = char_rnn.build_model(7, learning_rate=rate)
  assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
  config = config.model_copy(update={"lr_decay": "constant"})
  assert char_rnn.learning_rate(config, 5) == 0.01


def test_stateful_state_is_carried_and_reset():
  model = char_rnn.build_model(7, 4, 8, stateful=True, batch_size=1)
  x = np.array([[1, 2, 3]])
  first = model.predict_on_batch(x)
  second = model.predict_on_batch(x)  # starts from the state the first call left
  assert not np.allclose(first, second)
  callback = char_rnn.ResetStates()
  callback.set_model(model)
  callback.on_epoch_begin(0)
  assert np.allclose(model.predict_on_batch(x), first)


def test_sampling_distribution_temperature_top_k_top_p():
  p = np.array([0.0, 0.5, 0.3, 0.15, 0.05])
  assert char_serving.sampling_distribution(p, 1.0).tolist() == pytest.approx(p.tolist())
  cold = char_serving.sampling_distribution(p, 0.5)
  assert cold[1] > p[1] and cold[4] < p[4]
  assert np.count_nonzero(char_serving.sampling_distribution(p, 1.0, top_k=2)) == 2
  nucleus = char_serving.sampling_distribution(p, 1.0, top_p=0.8)  # 0.5 + 0.3 reaches 0.8
  assert nucleus.tolist() == pytest.approx([0, 0.5 / 0.8, 0.3 / 0.8, 0, 0])
  assert char_serving.sampling_distribution(p, 1.0, banned=(1,))[1] == 0
  with pytest.raises(ValueError, match="not both"):
    char_serving.sampling_distribution(p, 1.0, top_k=2, top_p=0.5)


def test_stateful_model_on_two_replicas_carries_each_rows_state_like_one_device():
  """Row i of batch k+1 must continue row i of batch k on whichever replica it lands."""
  strategy = strategy_lib.make_strategy("mirrored", 2)
  with strategy.scope():
    distributed = char_rnn.build_model(7, 4, 8, stateful=True, batch_size=1)  # per replica
  reference = char_rnn.build_model(7, 4, 8, stateful=True, batch_size=2)
  reference.set_weights(distributed.get_weights())
  b1, b2 = np.array([[1, 2, 3], [4, 5, 6]]), np.array([[2, 3, 4], [5, 6, 1]])
  both = np.concatenate([b1, b2])
  got = distributed.predict(tf.data.Dataset.from_tensor_slices(both).batch(2), verbose=0)
  np.testing.assert_allclose(got[:2], reference.predict_on_batch(b1), atol=1e-5)
  np.testing.assert_allclose(got[2:], reference.predict_on_batch(b2), atol=1e-5)


def test_evaluate_on_windows_files_reports_the_true_mean_loss(tmp_path):
  """Keras 3 evaluate() over a dataset of unknown size counts one step too many in its means;
  windows_dataset gives the size, so the reported loss is the real mean cross-entropy."""
  ids = np.tile(np.arange(1, 8), 30)
  w = windows.stateless_windows(ids, 10, 3)
  path = str(tmp_path / "windows.tfrecord.gz")
  with tf.io.TFRecordWriter(path, options="GZIP") as writer:
    for row in w:
      writer.write(windows._window_example(row))
  ds = char_rnn.windows_dataset([path], 10, 8, shuffle=False, seed=0)
  model = char_rnn.build_model(9, 4, 8)
  reported = model.evaluate(ds, verbose=0, return_dict=True)["loss"]
  n = len(w) // 8 * 8
  true = float(tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
      w[:n, 1:], model(w[:n, :-1]))))
  assert reported == pytest.approx(true, rel=1e-5)
