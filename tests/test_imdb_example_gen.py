import collections
import gzip

import pytest
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components.imdb_example_gen import executor, reader
from components.imdb_example_gen.component import ImdbExampleGen
from tests import fixtures
from tests.data.reviews import REVIEWS

EVIL = [
    ("../evil_1.txt", b"outside"),
    ("/abs/aclImdb/train/pos/7_7.txt", b"absolute"),
    ("aclImdb/train/pos/../../../etc/5_5.txt", b"dotdot"),
    ("aclImdb/train/pos/90_9.txt", None),                      # symlink to /etc/passwd
    ("aclImdb/train/neg/91_2.txt", b"caf\xe9 was awful\xff"),  # Latin-1, not UTF-8
    ("aclImdb/train/neg/92_1.txt", b"   \n"),                  # empty review
]


def test_reader_reads_only_expected_members(tmp_path):
  tar = fixtures.write_tarball(str(tmp_path / "a.tar.gz"), extra_members=EVIL)
  stats = reader.ReadStats()
  reviews = list(reader.iter_reviews(tar, stats))
  ids = {r.id for r in reviews}
  assert len(reviews) == len(REVIEWS) + 1  # + the non-UTF-8 one
  assert "train/neg/91" in ids and "train/pos/90" not in ids and "train/neg/92" not in ids
  assert stats.skipped_links == ["aclImdb/train/pos/90_9.txt"]
  assert sorted(stats.skipped_unexpected) == sorted(n for n, _ in EVIL[:3])
  assert stats.non_utf8 == ["aclImdb/train/neg/91_2.txt"] and stats.empty == [
      "aclImdb/train/neg/92_1.txt"]
  latin = next(r for r in reviews if r.id == "train/neg/91")
  assert latin.text == "caf\ufffd was awful\ufffd" and latin.label == 0 and latin.rating == 2


def test_reader_keeps_raw_text_and_parses_names(tmp_path):
  tar = fixtures.write_tarball(str(tmp_path / "a.tar.gz"))
  first = next(reader.iter_reviews(tar))
  split, polarity, number, rating, text = REVIEWS[0]
  assert (first.split, first.label, first.rating, first.id) == (split, 1, rating,
                                                                 f"{split}/{polarity}/{number}")
  assert "<br />" in first.text and first.text == text


def test_truncated_archive_is_a_clear_error(tmp_path):
  tar = fixtures.write_tarball(str(tmp_path / "a.tar.gz"))
  data = open(tar, "rb").read()
  with open(tar, "wb") as f:
    f.write(data[: len(data) // 2])
  with pytest.raises(reader.ImdbArchiveError, match=r"a\.tar\.gz: not a complete \.tar\.gz"):
    list(reader.iter_reviews(tar))


def test_not_gzip_is_a_clear_error(tmp_path):
  bad = tmp_path / "a.tar.gz"
  bad.write_bytes(b"<html>404 not found</html>")
  with pytest.raises(reader.ImdbArchiveError, match="not a complete"):
    list(reader.iter_reviews(str(bad)))


def test_missing_archive_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"nothere\.tar\.gz: no such file"):
    list(reader.iter_reviews(str(tmp_path / "nothere.tar.gz")))


def test_missing_label_folder_is_an_error(tmp_path):
  without_test_neg = [r for r in REVIEWS if (r[0], r[1]) != ("test", "neg")]
  tar = fixtures.write_tarball(str(tmp_path / "a.tar.gz"), reviews=without_test_neg)
  with pytest.raises(reader.ImdbArchiveError, match="no reviews under aclImdb/test/neg/"):
    list(reader.iter_reviews(tar))


def test_split_assignment_is_seeded_and_about_eighty_twenty():
  reviews = [reader.Review("train", 1, 8, f"train/pos/{i}", "x") for i in range(5000)]
  splits = [executor.assign_split(r, 42, 20) for r in reviews]
  relabelled = [reader.Review("train", 0, 1, r.id, "other text") for r in reviews]
  assert splits == [executor.assign_split(r, 42, 20) for r in relabelled]  # only the id counts
  share = splits.count("eval") / len(splits)
  assert 0.18 < share < 0.22
  assert splits != [executor.assign_split(r, 7, 20) for r in reviews]  # the seed matters
  assert executor.assign_split(reader.Review("test", 1, 8, "test/pos/1", "x"), 42, 20) == "test"


def test_executor_writes_three_splits(tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  fixtures.write_tarball(str(data_dir / "aclImdb_v1.tar.gz"), extra_members=EVIL)
  component = ImdbExampleGen(input_base=str(data_dir), split_seed=42, eval_percent=20)
  exec_properties = {
      k: proto_utils.proto_to_json(v) if hasattr(v, "DESCRIPTOR") else v
      for k, v in component.exec_properties.items() if v is not None}
  output = standard_artifacts.Examples()
  output.uri = str(tmp_path / "out")
  output.split_names = artifact_utils.encode_split_names(["train", "eval", "test"])
  executor.Executor().Do({}, {"examples": [output]}, exec_properties)

  by_split = {s: fixtures.read_split(output.uri, s) for s in ("train", "eval", "test")}
  ids = {s: {e.features.feature["id"].bytes_list.value[0].decode() for e in ex}
         for s, ex in by_split.items()}
  n_train = sum(1 for r in REVIEWS if r[0] == "train") + 1  # + the Latin-1 review
  assert len(ids["train"]) + len(ids["eval"]) == n_train
  assert not ids["train"] & ids["eval"]
  assert ids["test"] == {f"test/{p}/{n}" for s, p, n, _, _ in REVIEWS if s == "test"}
  labels = collections.Counter(
      (e.features.feature["id"].bytes_list.value[0].decode().split("/")[1],
       e.features.feature["label"].int64_list.value[0]) for e in by_split["test"])
  assert set(labels) == {("pos", 1), ("neg", 0)}
  for review in by_split["train"] + by_split["eval"]:
    rid = review.features.feature["id"].bytes_list.value[0].decode()
    expected = executor.assign_split(reader.Review("train", 0, 0, rid, ""), 42, 20)
    assert rid in ids[expected]
