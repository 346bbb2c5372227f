"""The BiGRU POS tagger (trainers.pos_tagger): padding out of the loss and the metric, and one
short training on a tiny treebank's real Transform output under MirroredStrategy on 2 logical
CPU devices, served with raw sentences in."""
import glob
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft

from components import tagger_preprocessing
from components.treebank_example_gen import executor, reader
from pipeline import config as run_config
from tests.data import treebank
from tests.fixtures import trainer_fn_args
from trainers import pos_tagger

LENGTH = 8
EVAL_FRACTION = 0.25
IDS = np.array([[5, 3, 7, 2, 0, 0, 0, 0], [4, 4, 9, 11, 6, 1, 0, 0]], dtype=np.int64)
LABELS = np.array([[1, 2, 3, 1, 0, 0, 0, 0], [2, 2, 4, 1, 3, 2, 0, 0]], dtype=np.int64)


def test_tfma_token_accuracy_sums_words_over_sentences():
  from components import tagger_metrics  # pylint: disable=import-outside-toplevel
  computation = tagger_metrics.TokenAccuracy().computations()[0]
  combiner = computation.combiner
  inputs = [tfma.metrics.StandardMetricInputs(predictions={"correct": np.array([c]),
                                                           "tokens": np.array([t])})
            for c, t in ((1, 1), (3, 9), (0, 2))]
  left = combiner.add_input(combiner.create_accumulator(), inputs[0])
  right = combiner.add_input(combiner.add_input(combiner.create_accumulator(), inputs[1]),
                             inputs[2])
  value = combiner.extract_output(combiner.merge_accumulators([left, right]))
  assert list(value.values()) == [pytest.approx(4 / 12)]  # not the mean of 1, 1/3, 0


CHARS = 3
GLOVE = np.random.default_rng(1).normal(size=(9, 4)).astype(np.float32)


def _model(mask_zero=True, seed=1, branches=False):
  """The seed's model, or with branches the char CNN and the GloVe vectors beside the words."""
  keras.utils.set_random_seed(seed)
  extra = {"char_filters": 5, "char_embedding_dim": 3, "embedding": "learned+glove"} \
      if branches else {}
  config = pos_tagger.Params(model_name="t", embedding_dim=6, units=4, dropout=0.2,
                             mask_zero=mask_zero, **extra)
  return pos_tagger.build_model(config, vocab_size=12, num_tags=5, char_vocab_size=7, glove_matrix=GLOVE if branches else None,
                                word_chars=CHARS)


def _inputs(ids, branches):
  """The model's inputs for word ids: chars and GloVe ids that are 0 exactly at the padding."""
  if not branches:
    return ids
  real = (ids > 0).astype(np.int64)
  chars = (np.arange(ids.size * CHARS).reshape(*ids.shape, CHARS) % 6 + 1) * real[..., None]
  return {"word_ids": ids, "char_ids": chars,
          "glove_ids": (ids % 8 + 1) * real}


def test_token_accuracy_counts_real_tokens_only():
  rng = np.random.default_rng(0)
  predictions = rng.random((2, LENGTH, 5))
  real = LABELS > 0
  expected = (predictions.argmax(-1) == LABELS)[real].mean()
  metric = pos_tagger.TokenAccuracy()
  metric.update_state(LABELS, predictions)
  assert float(metric.result()) == pytest.approx(expected)
  # whatever is predicted at the padding, the metric does not move
  changed = predictions.copy()
  changed[~real] = rng.random(((~real).sum(), 5))
  changed[~real, 0] = 10  # "predicts padding" there: would count as right if pads were scored
  metric.reset_state()
  metric.update_state(LABELS, changed)
  assert float(metric.result()) == pytest.approx(expected)
  # accumulated over batches as token counts, not as a mean of batch means
  metric.reset_state()
  metric.update_state(LABELS[:1], predictions[:1])
  metric.update_state(LABELS[1:], predictions[1:])
  assert float(metric.result()) == pytest.approx(expected)


@pytest.mark.parametrize("branches", [False, True], ids=["seed", "chars_glove"])
def test_loss_and_metric_are_over_real_tokens_and_ignore_labels_at_padding(branches):
  model = _model(branches=branches)
  inputs = _inputs(IDS, branches)
  probabilities = model.predict(inputs, verbose=0)
  real = IDS > 0
  picked = np.take_along_axis(probabilities, LABELS[..., None], axis=-1)[..., 0]
  expected_loss = -np.log(picked[real]).mean()
  expected_accuracy = (probabilities.argmax(-1) == LABELS)[real].mean()
  got = model.evaluate(inputs, LABELS, batch_size=2, verbose=0, return_dict=True)
  assert got["loss"] == pytest.approx(expected_loss, rel=1e-4)
  assert got["token_accuracy"] == pytest.approx(expected_accuracy)
  # other labels where the words are padding: the loss does not change
  relabelled = LABELS.copy()
  relabelled[~real] = 3
  again = model.evaluate(inputs, relabelled, batch_size=2, verbose=0, return_dict=True)
  assert again["loss"] == pytest.approx(got["loss"], rel=1e-6)
  # the control: without the mask the padded steps are scored and the loss moves
  unmasked = _model(mask_zero=False, branches=branches)
  before = unmasked.evaluate(inputs, LABELS, batch_size=2, verbose=0, return_dict=True)["loss"]
  after = unmasked.evaluate(inputs, relabelled, batch_size=2, verbose=0,
                            return_dict=True)["loss"]
  assert abs(after - before) > 1e-3


@pytest.mark.parametrize("branches", [False, True], ids=["seed", "chars_glove"])
def test_padding_does_not_change_the_tags_of_real_words(branches):
  """The backward GRU starts at the last word: more padding, same predictions and loss; so a
  batch cut to its longest sentence (as the trainer's trimmed batches) is the padded batch."""
  model = _model(branches=branches)
  real = IDS > 0
  width = int(real.sum(1).max())
  assert width < LENGTH  # the batch can be cut
  trimmed = _inputs(IDS[:, :width], branches)
  padded = _inputs(np.pad(IDS, [(0, 0), (0, 4)]), branches)
  short = model.predict(trimmed, verbose=0)
  long = model.predict(padded, verbose=0)
  np.testing.assert_allclose(long[:, :width][real[:, :width]], short[real[:, :width]], atol=1e-5)
  loss = {name: model.evaluate(x, labels, batch_size=2, verbose=0, return_dict=True)["loss"]
          for name, x, labels in (("trimmed", trimmed, LABELS[:, :width]),
                                  ("padded", padded, np.pad(LABELS, [(0, 0), (0, 4)])))}
  assert loss["trimmed"] == pytest.approx(loss["padded"], rel=1e-5)
  # token_weights: the batch's loss is its words' summed loss over an average batch's words
  mean_length = 3.0
  weights = pos_tagger.token_weights(tf.constant(IDS[:, :width]), mean_length).numpy()
  weighted = model.evaluate(trimmed, LABELS[:, :width], sample_weight=weights, batch_size=2,
                            verbose=0, return_dict=True)["loss"]
  picked = np.take_along_axis(short, LABELS[:, :width, None], axis=-1)[..., 0]
  assert weighted == pytest.approx(-np.log(picked[real[:, :width]]).sum()
                                   / (len(IDS) * mean_length), rel=1e-4)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  root = tmp_path_factory.mktemp("tagger")
  trees = treebank.sentences(96, seed=1)
  path = treebank.write_zip(root / "treebank.zip", {"wsj_0001.mrg": trees[:48],
                                                    "wsj_0002.mrg": trees[48:]})
  # a larger eval share than the seed's 10 %, so the tiny eval split holds whole global batches
  pipeline_root = treebank.transform(root, path, {"sequence_length": LENGTH},
                                     eval_fraction=EVAL_FRACTION)
  return os.path.join(pipeline_root, "Transform"), path


def test_trains_under_mirrored_strategy_and_tags_raw_sentences(corpus, tmp_path):
  transform_dir, zip_path = corpus
  config = {"model_name": "pos_bigru", "epochs": 4, "batch_size": 4, "embedding_dim": 16,
            "units": 16, "dropout": 0.1, "learning_rate": 0.01, "strategy": "mirrored",
            "cpu_devices": 2}
  fn_args = trainer_fn_args(transform_dir, config, tmp_path)
  model = pos_tagger.run_fn(fn_args)

  assert model.distribute_strategy.num_replicas_in_sync == 2
  with open(os.path.join(fn_args.model_run_dir, "history.json")) as f:
    history = json.load(f)["history"]
  assert len(history["loss"]) == 4 and np.all(np.isfinite(history["loss"]))
  # the templates' tags follow from word and position: a few epochs learn most of them
  assert history["token_accuracy"][-1] > history["token_accuracy"][0]
  assert history["val_token_accuracy"][-1] > 0.8

  sentences = ["the dog saw a cat .", "a zebra was heard .",
               "the girl chased a bird and the man heard the dog ."]  # 11 words > LENGTH
  served = tf.saved_model.load(fn_args.serving_model_dir)
  out = served.signatures["serving_default"](text=tf.constant(sentences))
  tags = out["tags"].numpy().astype(str)
  assert tags.shape == (3, LENGTH)
  words = out["words"].numpy().astype(str)
  assert list(words[1][:5]) == ["a", "zebra", "was", "heard", "."] and words[1][5] == ""
  for row, sentence in zip(tags, sentences):
    n = min(len(sentence.split()), LENGTH)
    assert all(row[:n] != "") and all(row[n:] == "")
  # the same sentences through the Transform graph by hand, then the Keras model
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  names = np.array(tagger_preprocessing.tag_names(tft_output))
  raw = {"words": tf.ragged.constant([s.split() for s in sentences]).to_sparse(),
         "tags": tf.sparse.from_dense(tf.zeros([3, 0], tf.string)),
         "sentence_id": tf.fill([3, 1], "x")}
  word_ids = tft_output.transform_raw_features(raw)["word_ids"].numpy()
  assert word_ids[1][1] == 1  # "zebra": OOV
  expected = model(word_ids, training=False).numpy()[:, :, 1:].argmax(-1) + 1
  expected = np.where(word_ids > 0, names[expected], "")
  np.testing.assert_array_equal(tags, expected)

  # from_examples: per sentence, the correctly tagged words and all its words
  test = [s for s in reader.read_all(zip_path)
          if executor.assign_split(s.sentence_id, 3, 1 / 3, EVAL_FRACTION) == "test"]
  serialized = tf.constant([executor.to_example(s).SerializeToString() for s in test])
  counts = served.signatures["from_examples"](examples=serialized)
  assert list(counts["tokens"].numpy()) == [len(s.words) for s in test]
  predicted = served.signatures["serving_default"](
      text=tf.constant([" ".join(s.words) for s in test]))["tags"].numpy().astype(str)
  correct = [sum(p == t for p, t in zip(row, s.tags)) for row, s in zip(predicted, test)]
  assert list(counts["correct"].numpy()) == correct

  # TFMA over the served from_examples signature: the token accuracy of the test sentences
  data = str(tmp_path / "test.tfrecord")
  with tf.io.TFRecordWriter(data) as writer:
    for record in serialized.numpy():
      writer.write(record)
  eval_config = tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", model_type=tfma.TF_GENERIC)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(
          class_name="TokenAccuracy", module="components.tagger_metrics")])])
  result = tfma.run_model_analysis(
      eval_shared_model=tfma.default_eval_shared_model(fn_args.serving_model_dir,
                                                       eval_config=eval_config),
      eval_config=eval_config, data_location=data, output_path=str(tmp_path / "tfma"))
  metrics = dict(result.slicing_metrics)[()][""][""]
  assert metrics["token_accuracy"]["doubleValue"] == pytest.approx(
      sum(correct) / sum(len(s.words) for s in test))


def test_trimmed_batches_hold_every_sentence_whole_and_are_cut_to_its_bucket(corpus):
  transform_dir, _ = corpus
  graph = glob.glob(os.path.join(transform_dir, "transform_graph", "*"))[0]
  files = glob.glob(os.path.join(transform_dir, "transformed_examples", "*", "Split-train", "*"))
  spec = tft.TFTransformOutput(graph).transformed_feature_spec()
  spec = {k: spec[k] for k in pos_tagger.features(pos_tagger.Params(
      model_name="t", char_filters=2)) + (pos_tagger.LABEL,)}
  chars = tagger_preprocessing.DEFAULT_WORD_CHARS

  mean_length = pos_tagger.mean_sentence_length(files, spec)

  def rows(trim):
    out, widths, weighted_words = [], [], 0.0
    for inputs, tags, *weights in pos_tagger.dataset(files, spec, 4, shuffle=True, seed=1,
                                                     drop_remainder=False, trim=trim):
      ids, grid = inputs["word_ids"].numpy(), inputs["char_ids"].numpy()
      if trim:  # each batch weighted by its real words over an average batch's
        (w,) = weights
        np.testing.assert_allclose(w.numpy(), (ids > 0).sum() / (len(ids) * mean_length),
                                   rtol=1e-6)
        weighted_words += float(w.numpy().flat[0]) * len(ids)
      assert grid.shape == (*ids.shape, chars) and tags.shape == ids.shape
      widths.append(ids.shape[1])
      assert ids.shape[1] >= (ids > 0).sum(1).max()  # no word cut off
      for w, g, t in zip(ids, grid, tags.numpy()):
        n = int((w > 0).sum())
        assert not w[n:].any() and not g[n:].any() and not t[n:].any()
        out.append((tuple(w[:n]), g[:n].tobytes(), tuple(t[:n])))
    return sorted(out), widths, weighted_words

  padded, padded_widths, _ = rows(trim=False)
  trimmed, widths, weighted_words = rows(trim=True)
  # the weights sum to the sentence count: a word weighs the same in every batch
  assert weighted_words == pytest.approx(len(padded))
  assert mean_length == pytest.approx(np.mean([len(w) for w, _, _ in padded]))
  assert set(padded_widths) == {LENGTH}
  assert trimmed == padded  # every sentence once, with its characters and tags
  assert min(widths) < LENGTH and max(widths) <= LENGTH


def test_transform_gives_each_words_characters_and_lowercased_key(corpus):
  transform_dir, _ = corpus
  tft_output = tft.TFTransformOutput(glob.glob(os.path.join(transform_dir, "transform_graph",
                                                            "*"))[0])
  chars = tagger_preprocessing.DEFAULT_WORD_CHARS
  sentences = [["The", "dog", "saw", "Zébra#", "a" * (chars + 3)], ["a", "cat"]]
  raw = {"words": tf.ragged.constant(sentences).to_sparse(),
         "tags": tf.sparse.from_dense(tf.zeros([2, 0], tf.string)),
         "sentence_id": tf.fill([2, 1], "x")}
  out = tft_output.transform_raw_features(raw)
  keys = [[k.decode("utf-8") for k in row] for row in out["word_keys"].numpy()]
  assert list(keys[0][:5]) == ["the", "dog", "saw", "zébra#", "a" * (chars + 3)]
  assert list(keys[1][2:]) == [""] * (LENGTH - 2)
  grid = out["char_ids"].numpy().reshape(2, LENGTH, chars)
  vocab = [int(c) for c in tft_output.vocabulary_by_name(tagger_preprocessing.CHAR_VOCAB)]
  ids = {chr(c): i + 2 for i, c in enumerate(vocab)}  # 0 padding, 1 unseen

  def expected(word):
    row = [ids.get(c, 1) for c in word[:chars]]
    return row + [0] * (chars - len(row))

  for b, sentence in enumerate(sentences):
    for j in range(LENGTH):
      want = expected(sentence[j]) if j < len(sentence) else [0] * chars
      assert list(grid[b, j]) == want, (b, j)
  # the capital, the accent and "#" never occur in the train words: the unseen-character id
  assert grid[0, 0, 0] == 1 and grid[0, 3, 0] == 1 and grid[0, 3, 1] == 1 and grid[0, 3, 5] == 1
  assert grid[0, 1, 0] == ids["d"] > 1


def _glove_artifact(tmp_path) -> str:
  """A GloveEmbedding (source words, no Transform graph) over a tiny GloVe text: nouns near one
  direction, everything else near another; "zebra" is in GloVe but not in the corpus."""
  from tfx.dsl.components.base import base_beam_executor  # pylint: disable=import-outside-toplevel
  from components.glove_embedding import executor as glove_executor  # pylint: disable=import-outside-toplevel
  from components.glove_embedding.component import EmbeddingMatrix  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  lines = []
  for word in ["the", "a", "dog", "cat", "bird", "man", "girl", "saw", "was", "zebra", "."]:
    base = np.array([1.0, 0, 0, 0]) if word in treebank.NOUNS + ("zebra",) else np.array(
        [0, 1.0, 0, 0])
    lines.append(word + " " + " ".join(f"{v:.5f}" for v in base + 0.1 * rng.random(4)) + "\n")
  path = tmp_path / "glove.txt"
  path.write_text("".join(lines), encoding="utf-8")
  embedding = EmbeddingMatrix()
  embedding.uri = str(tmp_path / "glove")
  glove_executor.Executor(base_beam_executor.BaseBeamExecutor.Context(
      beam_pipeline_args=run_config.direct_beam_args(1, "in_memory"))).Do(
          {}, {"embedding": [embedding]}, {"source": str(path), "source_fingerprint": "",
                                          "vocabulary_name": "", "reserved_rows": 2})
  return embedding.uri


def test_char_and_glove_branches_train_on_cut_batches_on_one_replica_and_serve(
    corpus, tmp_path, monkeypatch):
  transform_dir, _ = corpus
  glove_uri = _glove_artifact(tmp_path)
  config = {"model_name": "pos_chars_glove", "epochs": 3, "batch_size": 4, "embedding_dim": 8,
            "units": 8, "dropout": 0.1, "learning_rate": 0.01, "strategy": "mirrored",
            "cpu_devices": 1, "char_filters": 6, "char_embedding_dim": 4,
            "embedding": "learned+glove", "embedding_uri": glove_uri}
  fn_args = trainer_fn_args(transform_dir, config, tmp_path)
  widths, dataset = [], pos_tagger.dataset

  def recorded(*args, **kwargs):
    ds = dataset(*args, **kwargs)
    widths.extend(int(x["word_ids"].shape[1]) for x, *_ in ds)
    return ds

  monkeypatch.setattr(pos_tagger, "dataset", recorded)
  model = pos_tagger.run_fn(fn_args)
  assert model.distribute_strategy.num_replicas_in_sync == 1
  assert min(widths) < LENGTH  # train and eval batches were cut (the 2-replica test: padded)
  assert sorted(model.input) == ["char_ids", "glove_ids", "word_ids"]

  from components.glove_embedding import load_matrix, load_words  # pylint: disable=import-outside-toplevel
  words, matrix = load_words(glove_uri), load_matrix(glove_uri)
  lookup = pos_tagger.glove_lookup(words)
  got = lookup(tf.constant([["zebra", "dog", "", "gnu"]])).numpy()[0]
  assert list(got) == [words.index("zebra") + 2, words.index("dog") + 2, 0, 1]
  # frozen: training left the GloVe rows as they were
  np.testing.assert_array_equal(model.get_layer("glove").get_weights()[0], matrix)

  sentences = ["the dog saw a zebra .", "A Gnu was heard ."]
  served = tf.saved_model.load(fn_args.serving_model_dir)
  tags = served.signatures["serving_default"](text=tf.constant(sentences))["tags"].numpy()
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  raw = {"words": tf.ragged.constant([s.split() for s in sentences]).to_sparse(),
         "tags": tf.sparse.from_dense(tf.zeros([2, 0], tf.string)),
         "sentence_id": tf.fill([2, 1], "x")}
  transformed = tft_output.transform_raw_features(raw)
  features = pos_tagger.model_inputs(transformed, ("word_ids", "char_ids", "word_keys"), lookup)
  assert features["char_ids"].shape[1:] == (LENGTH, tagger_preprocessing.DEFAULT_WORD_CHARS)
  probabilities = model(features, training=False).numpy()
  names = np.array(tagger_preprocessing.tag_names(tft_output))
  word_ids = transformed["word_ids"].numpy()
  expected = np.where(word_ids > 0, names[probabilities[:, :, 1:].argmax(-1) + 1], "")
  np.testing.assert_array_equal(tags.astype(str), expected)
