"""TreebankExampleGen (parse trees in a zip -> tagged sentences, seeded split) and the tagger's
Transform, on tiny hand-written treebank-layout zips."""
import collections
import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components import tagger_preprocessing
from components.treebank_example_gen import executor, reader
from tests.data import treebank

LENGTH = 6  # the template clauses have 6 words, the passives 5 (their trace dropped), LONG 8
LONG = ("( (S (NP-SBJ (DT the) (JJ big) (JJ red) (NN dog) ) (VP (VBD saw) (NP (DT a) (NN cat) ))"
        " (. .) ))")


def test_words_and_tags_with_empty_elements_dropped_or_kept(tmp_path):
  trees = [treebank.simple_tree("the", "dog", "saw", "a", "cat"),
           treebank.passive_tree("a", "bird", "heard")]
  path = treebank.write_zip(tmp_path / "treebank.zip", {"wsj_0007.mrg": trees})
  assert reader.members(path) == ["treebank/combined/wsj_0007.mrg"]  # README, tagged/ ignored
  stats = reader.ReadStats()
  dropped = list(reader.iter_sentences(path, "treebank/combined/wsj_0007.mrg", True, stats))
  assert [s.sentence_id for s in dropped] == ["wsj_0007.mrg:1", "wsj_0007.mrg:2"]
  assert dropped[0].words == ("the", "dog", "saw", "a", "cat", ".")
  assert dropped[0].tags == ("DT", "NN", "VBD", "DT", "NN", ".")
  assert dropped[1].words == ("a", "bird", "was", "heard", ".")
  assert dropped[1].tags == ("DT", "NN", "VBD", "VBN", ".")
  assert (stats.trees, stats.none_dropped) == (2, 1)
  kept = list(reader.iter_sentences(path, "treebank/combined/wsj_0007.mrg", False))
  assert kept[1].words == ("a", "bird", "was", "heard", "*-1", ".")
  assert kept[1].tags == ("DT", "NN", "VBD", "VBN", "-NONE-", ".")


def test_a_sentence_of_empty_elements_only_is_skipped_and_counted(tmp_path):
  path = treebank.write_zip(tmp_path / "t.zip", {"wsj_0001.mrg": [
      "( (S (NP-SBJ (-NONE- *) ) ))\n", treebank.simple_tree("a", "man", "saw", "the", "girl")]})
  stats = reader.ReadStats()
  got = list(reader.iter_sentences(path, "treebank/combined/wsj_0001.mrg", True, stats))
  assert [s.sentence_id for s in got] == ["wsj_0001.mrg:2"]
  assert stats.empty_skipped == 1


@pytest.mark.parametrize("bad,problem", [
    ("( (S (NP-SBJ (DT the) (NN dog) ) (VP (VBD barked) )\n", r"expected '\)'"),  # a ')' missing
    ("( (S (NP-SBJ the dog) (VP (VBD barked) ) ))\n", "several words"),  # words without tags
])
def test_a_malformed_tree_is_an_error_naming_member_and_position(tmp_path, bad, problem):
  trees = [treebank.simple_tree("the", "dog", "saw", "a", "cat"), bad,
           treebank.simple_tree("a", "cat", "saw", "a", "dog")]
  path = treebank.write_zip(tmp_path / "t.zip", {"wsj_0002.mrg": trees})
  with pytest.raises(reader.TreebankError, match=problem) as error:
    list(reader.iter_sentences(path, "treebank/combined/wsj_0002.mrg"))
  # the first tree is 5 lines, joined by a blank line: the bad one starts at line 7
  assert "t.zip: treebank/combined/wsj_0002.mrg: tree 2 (from line 7" in str(error.value)


def test_a_zip_without_trees_or_not_a_zip_is_an_error(tmp_path):
  empty = treebank.write_zip(tmp_path / "empty.zip", {})
  with pytest.raises(reader.TreebankError, match="no treebank/combined/wsj_"):
    reader.members(empty)
  broken = tmp_path / "broken.zip"
  broken.write_bytes(b"PK\x03\x04 not really")
  with pytest.raises(reader.TreebankError, match="broken.zip: not a zip archive"):
    reader.members(str(broken))


def test_split_is_deterministic_seeded_and_has_the_seed_shares():
  ids = [f"wsj_{i // 20:04d}.mrg:{i % 20 + 1}" for i in range(9000)]
  first = [executor.assign_split(i, 3, 1 / 3, 0.1) for i in ids]
  assert first == [executor.assign_split(i, 3, 1 / 3, 0.1) for i in reversed(ids)][::-1]
  other = [executor.assign_split(i, 4, 1 / 3, 0.1) for i in ids]
  assert sum(a != b for a, b in zip(first, other)) > 3000  # another seed, another split
  counts = collections.Counter(first)
  # test: 1/3 of all; eval: 10 % of the other 2/3; binomial sd ~45 and ~35
  assert abs(counts["test"] - 3000) < 200
  assert abs(counts["eval"] - 600) < 150
  assert counts["train"] == 9000 - counts["test"] - counts["eval"]


def test_fractions_are_checked():
  with pytest.raises(ValueError, match="test_fraction and eval_fraction"):
    executor.checked({**executor.DEFAULTS, "test_fraction": 1.2})


def test_lowercase_option_lowercases_the_words_only():
  words = tf.ragged.constant([["The", "DOG"], ["Émile"]]).to_sparse()
  lowered = tagger_preprocessing.words_of(words, lowercase=True)
  assert [w.decode() for w in lowered.values.numpy()] == ["the", "dog", "émile"]
  np.testing.assert_array_equal(lowered.indices, words.indices)
  assert tagger_preprocessing.words_of(words, lowercase=False) is words


def _read(pattern, spec):
  files = sorted(glob.glob(pattern))
  assert files, pattern
  return [tf.io.parse_single_example(r, spec)
          for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


@pytest.fixture(scope="module")
def pipeline_root(tmp_path_factory):
  root = tmp_path_factory.mktemp("treebank")
  trees = treebank.sentences(60)
  path = treebank.write_zip(root / "treebank.zip", {
      "wsj_0001.mrg": trees[:25], "wsj_0002.mrg": trees[25:] + [LONG]})
  return treebank.transform(root, path, {"sequence_length": LENGTH}), path


def test_example_gen_routes_every_sentence_by_its_hash(pipeline_root):
  root, path = pipeline_root
  spec = {"words": tf.io.VarLenFeature(tf.string), "tags": tf.io.VarLenFeature(tf.string),
          "sentence_id": tf.io.FixedLenFeature([], tf.string)}
  expected = {s.sentence_id: s for s in reader.read_all(path)}
  seen = {}
  for split in ("train", "eval", "test"):
    for ex in _read(os.path.join(root, "TreebankExampleGen", "examples", "*", f"Split-{split}",
                                 "*"), spec):
      sid = ex["sentence_id"].numpy().decode()
      assert executor.assign_split(sid, 3, 1 / 3, 0.1) == split
      words = [w.decode() for w in tf.sparse.to_dense(ex["words"]).numpy()]
      tags = [t.decode() for t in tf.sparse.to_dense(ex["tags"]).numpy()]
      assert (tuple(words), tuple(tags)) == (expected[sid].words, expected[sid].tags)
      seen[sid] = split
  assert sorted(seen) == sorted(expected) and len(seen) == 61
  assert "-NONE-" not in {t for s in expected.values() for t in s.tags}


def test_transform_aligns_word_and_tag_ids_pads_and_truncates(pipeline_root):
  root, path = pipeline_root
  transform_dir = glob.glob(os.path.join(root, "Transform", "transform_graph", "*"))[0]
  output = tft.TFTransformOutput(transform_dir)
  tags = tagger_preprocessing.tag_names(output)
  words = list(output.vocabulary_by_name(tagger_preprocessing.WORD_VOCAB))
  raw_spec = {"words": tf.io.VarLenFeature(tf.string), "tags": tf.io.VarLenFeature(tf.string),
              "sentence_id": tf.io.FixedLenFeature([], tf.string)}
  train = _read(os.path.join(root, "TreebankExampleGen", "examples", "*", "Split-train", "*"),
                raw_spec)
  train_counts = collections.Counter(w for ex in train for w in
                                     tf.sparse.to_dense(ex["words"]).numpy())
  transformed = _read(os.path.join(root, "Transform", "transformed_examples", "*",
                                   "Split-train", "*"), output.transformed_feature_spec())
  assert len(transformed) == len(train)
  lengths = collections.Counter()
  raw_rows = {(tuple(tf.sparse.to_dense(e["words"]).numpy()[:LENGTH]),
               tuple(tf.sparse.to_dense(e["tags"]).numpy()[:LENGTH])) for e in train}
  for ex in transformed:
    word_ids, tag_ids = ex["word_ids"].numpy(), ex["tag_ids"].numpy()
    assert word_ids.shape == tag_ids.shape == (LENGTH,)
    real = word_ids > 0
    assert np.array_equal(real, tag_ids > 0)  # aligned: padding at the same places, at the end
    assert np.all(np.diff(real.astype(int)) <= 0)
    n = int(real.sum())
    decoded_tags = tuple(tags[i].encode() for i in tag_ids[:n])
    # a word id is its vocabulary index + 2, or 1 (OOV) for a word seen fewer than twice in train
    matches = [r for r in raw_rows if r[1] == decoded_tags and len(r[0]) == n and all(
        (wid == 1) == (train_counts[w] < 2) and (wid == 1 or words[wid - 2] == w)
        for w, wid in zip(r[0], word_ids[:n]))]
    assert matches, (word_ids, tag_ids)
    lengths[n] += 1
  # every sentence is cut to LENGTH, none loses a word otherwise
  assert lengths == collections.Counter(min(len(e["words"].values), LENGTH) for e in train)
  assert "-NONE-" not in tags and tags[0] == "" and tags[-1] == "<unseen>"
