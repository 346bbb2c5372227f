"""The WordPiece subword analyzer and subword-id feature (components/subword.py): in-memory TFT on
tiny synthetic reviews, then the committed samples through the real Transform component under
multi-processing Beam, and the transform graph loaded by a fresh consumer process."""
import collections
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam

from components import preprocessing, subword
from pipeline import config
from tests.fixtures import SAMPLES_DIR, SPLITS, transform_samples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB_SIZE = 42  # the 19 letters, their ## forms, [PAD] and [UNK] leave 2 learned pieces
LENGTH = 24
TRAIN = (["The movie was wonderful, and the acting was wonderful."] * 12
         + ["A boring movie; boring acting and a boring end."] * 12)
OTHER = ["wonderful wonderful wonderful wonderful wonderful wonderful wonderful wonderful",
         "Wondering movies, zebra!", "zzzz " * 30]


def _words(text):
  return [w.decode() for w in preprocessing.tokenize(tf.constant([text])).values.numpy()]


def _join(pieces):
  words = []
  for piece in pieces:
    if piece.startswith("##"):
      words[-1] += piece[2:]
    else:
      words.append(piece)
  return words


def _decode(row, vocab):
  ids = [int(i) for i in row]
  nonzero = [i for i in ids if i != subword.PAD_ID]
  assert ids == nonzero + [subword.PAD_ID] * (len(ids) - len(nonzero)), f"not 0-padded: {ids}"
  return [vocab[i] for i in nonzero]


def _round_trips(text, row, vocab, length):
  """The row's pieces joined are the text's words; a row cut at length is a prefix of them."""
  pieces = _decode(row, vocab)
  words, joined = _words(text), _join(pieces)
  if len(pieces) < length:
    return joined == words
  return joined[:-1] == words[:len(joined) - 1] and words[len(joined) - 1].startswith(joined[-1])


def _preprocessing_fn(inputs):
  tokens = preprocessing.tokenize(inputs["text"])
  vocab = subword.subword_vocabulary(tokens, VOCAB_SIZE, name="subword")
  return {"ids": subword.subword_sequence(tokens, vocab, LENGTH)}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
  """Vocabulary learned on TRAIN only; TRAIN and OTHER transformed with it."""
  tmp = tmp_path_factory.mktemp("subword")
  metadata = tft.DatasetMetadata.from_feature_spec({"text": tf.io.FixedLenFeature([], tf.string)})
  with tft_beam.Context(temp_dir=str(tmp / "tmp")):
    train = ([{"text": t} for t in TRAIN], metadata)
    transform_fn = train | tft_beam.AnalyzeDataset(_preprocessing_fn)
    (train_rows, _) = (train, transform_fn) | "Train" >> tft_beam.TransformDataset()
    (other_rows, _) = (([{"text": t} for t in OTHER], metadata), transform_fn) \
        | "Other" >> tft_beam.TransformDataset()
    _ = transform_fn | tft_beam.WriteTransformFn(str(tmp / "out"))
  output = tft.TFTransformOutput(str(tmp / "out"))
  with open(output.vocabulary_file_by_name("subword"), encoding="utf-8") as f:
    vocab = f.read().splitlines()
  return vocab, [r["ids"] for r in train_rows], [r["ids"] for r in other_rows], output


def test_vocabulary_has_reserved_tokens_first_and_pieces_within_the_size(analysed):
  vocab, _, _, output = analysed
  assert vocab[:2] == ["[PAD]", "[UNK]"]
  assert len(vocab) <= VOCAB_SIZE and len(set(vocab)) == len(vocab)
  assert any(t.startswith("##") for t in vocab)
  assert "zebra" not in vocab and not any("z" in t for t in vocab)  # OTHER was not analysed
  schema = {f.name: f for f in output.transformed_metadata.schema.feature}
  assert schema["ids"].int_domain.max == len(vocab) - 1


def test_a_small_vocabulary_splits_training_words_into_pieces_that_join_back(analysed):
  vocab, train_rows, _, _ = analysed
  pieces = [_decode(row, vocab) for row in train_rows]
  assert any(p.startswith("##") for row in pieces for p in row)  # "wonderful" cannot be one piece
  assert {row[-1] == subword.PAD_ID for row in train_rows} == {True, False}  # padded and cut rows
  for text, row in zip(TRAIN, train_rows):
    assert _round_trips(text, row, vocab, LENGTH), (text, _decode(row, vocab))


def _learn(tmp_path, vocab_size):
  counts = [(w.encode(), n) for w, n in collections.Counter(
      w for t in TRAIN for w in _words(t)).items()]
  path = os.path.join(tmp_path, "subword")
  subword._learn_and_write(counts, vocab_size, path, {})
  with open(path, encoding="utf-8") as f:
    return f.read().splitlines()


def test_learning_keeps_frequent_words_whole_and_caps_the_size_above_the_alphabet(tmp_path):
  alphabet = {c for t in TRAIN for w in _words(t) for c in w}
  assert len(alphabet) == 19
  large = _learn(tmp_path, 100)
  assert large[:2] == ["[PAD]", "[UNK]"] and {"wonderful", "boring", "movie"} <= set(large)
  # The learner alone returns 42 entries for 40; the cap drops learned pieces, not letters.
  small = _learn(tmp_path, 40)
  assert small[:2] == ["[PAD]", "[UNK]"] and len(small) == 40
  assert alphabet | {"##" + c for c in alphabet} <= set(small)
  with pytest.raises(ValueError, match="vocab_size 30 is below the 40 reserved tokens"):
    _learn(tmp_path, 30)


def test_unseen_words_become_pieces_or_unk_and_rows_are_padded_or_cut_to_length(analysed):
  vocab, _, (repeated, unseen, long), _ = analysed
  assert _round_trips(OTHER[0], repeated, vocab, LENGTH)
  assert repeated.shape == (LENGTH,) and repeated[-1] != subword.PAD_ID  # cut: 8 words, 64 pieces
  # "wondering" and "movies" were never seen: spelled from pieces; "zebra" has an unseen letter.
  pieces = _decode(unseen, vocab)
  assert _join(pieces) == ["wondering", "movies", "[UNK]"]
  assert unseen.shape == (LENGTH,) and unseen[len(pieces):].tolist() == [0] * (LENGTH - len(pieces))
  assert long.tolist() == [subword.UNK_ID] * LENGTH


@pytest.fixture(scope="module")
def samples_transform(tmp_path_factory):
  """The committed samples through the real Transform on 2 Beam worker processes."""
  output_dir = transform_samples(
      tmp_path_factory.mktemp("samples"), {"sequence_length": 32, "subword_vocab_size": 300},
      SPLITS, transform_beam_args=config.direct_beam_args(2, "multi_processing"))
  graph_dir = glob.glob(os.path.join(output_dir, "transform_graph", "*"))[0]
  examples_dir = glob.glob(os.path.join(output_dir, "transformed_examples", "*"))[0]
  return graph_dir, examples_dir


def _raw_texts(split):
  files = glob.glob(os.path.join(SAMPLES_DIR, f"Split-{split}", "*"))
  return [tf.train.Example.FromString(r.numpy()).features.feature["text"].bytes_list.value[0]
          .decode() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _transformed_ids(examples_dir, split, spec):
  files = glob.glob(os.path.join(examples_dir, f"Split-{split}", "*"))
  return [tf.io.parse_single_example(r, spec)["subword_ids"].numpy()
          for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def test_transform_component_writes_subword_ids_for_every_split(samples_transform):
  graph_dir, examples_dir = samples_transform
  output = tft.TFTransformOutput(graph_dir)
  with open(output.vocabulary_file_by_name(preprocessing.SUBWORD_VOCAB), encoding="utf-8") as f:
    vocab = f.read().splitlines()
  assert vocab[:2] == ["[PAD]", "[UNK]"] and len(vocab) <= 300
  spec = output.transformed_feature_spec()
  assert spec["subword_ids"] == tf.io.FixedLenFeature([32], tf.int64)
  for split in SPLITS:
    rows = _transformed_ids(examples_dir, split, spec)
    assert len(rows) == len(_raw_texts(split)) > 0
    assert all(0 <= row.min() and row.max() < len(vocab) for row in rows)
  texts = _raw_texts("train")
  for row in _transformed_ids(examples_dir, "train", spec):  # rows come in any order
    assert any(_round_trips(text, row, vocab, 32) for text in texts), _decode(row, vocab)


CONSUMER = """
import sys
import numpy as np
import tensorflow as tf
{imports}
import tensorflow_transform as tft
layer = tft.TFTransformOutput(sys.argv[1]).transform_features_layer()
texts = [line for line in sys.stdin.read().split("\\0") if line]
ids = layer({{"text": tf.reshape(tf.constant(texts), [-1, 1])}})["subword_ids"].numpy()
np.save(sys.argv[2], ids)
"""


def _consume(graph_dir, imports, texts, out):
  return subprocess.run(
      [sys.executable, "-c", CONSUMER.format(imports=imports), graph_dir, str(out)],
      input="\0".join(texts), capture_output=True, text=True, cwd="/", timeout=300,
      env={**os.environ, "PYTHONPATH": "", "CUDA_VISIBLE_DEVICES": ""})


@pytest.mark.parametrize("imports", ["import tensorflow_text",
                                     "import tensorflow_model_analysis  # imports tensorflow_text"])
def test_a_fresh_consumer_turns_raw_text_into_the_transformed_ids(samples_transform, tmp_path,
                                                                  imports):
  graph_dir, examples_dir = samples_transform
  texts = _raw_texts("train")
  result = _consume(graph_dir, imports, texts, tmp_path / "ids.npy")
  assert result.returncode == 0, result.stderr[-3000:]
  served = np.load(tmp_path / "ids.npy")
  spec = tft.TFTransformOutput(graph_dir).transformed_feature_spec()
  expected = _transformed_ids(examples_dir, "train", spec)
  assert sorted(map(tuple, served.tolist())) == sorted(map(tuple, (r.tolist() for r in expected)))


def test_a_consumer_without_tensorflow_text_cannot_load_the_graph(samples_transform, tmp_path):
  result = _consume(samples_transform[0], "", ["a film"], tmp_path / "ids.npy")
  assert result.returncode != 0
  assert "Op type not registered 'WordpieceTokenizeWithOffsets'" in result.stderr


def test_an_exported_model_predicts_from_raw_text_in_a_fresh_serving_client(samples_transform,
                                                                             tmp_path):
  """trainers.serving export of a tiny model on subword_ids, called through
  pipeline.serving_client (textzoo predict/score) in a process that never ran Transform."""
  import keras  # pylint: disable=import-outside-toplevel
  from trainers import serving  # pylint: disable=import-outside-toplevel
  output = tft.TFTransformOutput(samples_transform[0])
  inputs = keras.Input((32,), dtype="int64")
  hidden = keras.layers.Embedding(output.vocabulary_size_by_name(preprocessing.SUBWORD_VOCAB), 4,
                                  mask_zero=True)(inputs)
  model = keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(
      keras.layers.GlobalAveragePooling1D()(hidden)))
  serving.export(serving.ServingModule(model, output, lambda t: t["subword_ids"]),
                 str(tmp_path / "model"))
  texts = ["A wonderful film.", "Dull and boring."]
  expected = model(output.transform_features_layer()(
      {"text": tf.reshape(tf.constant(texts), [-1, 1])})["subword_ids"]).numpy().reshape(-1)
  script = ("import sys, numpy as np\n"
            "from pipeline.serving_client import ServedModel\n"
            "np.save(sys.argv[2], ServedModel(sys.argv[1]).predict(sys.argv[3:])['probabilities'])")
  result = subprocess.run(
      [sys.executable, "-c", script, str(tmp_path / "model"), str(tmp_path / "p.npy"), *texts],
      capture_output=True, text=True, timeout=300, cwd=ROOT,
      env={**os.environ, "PYTHONPATH": ROOT, "CUDA_VISIBLE_DEVICES": ""})
  assert result.returncode == 0, result.stderr[-3000:]
  np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-5)
