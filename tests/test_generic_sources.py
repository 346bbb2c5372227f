"""The generic labelled-text readers (components/sentence_example_gen/sources.py) on tiny files,
every bad input they must name, and the split of layouts with train/test files or folders."""
import collections
import io
import json
import os
import tarfile
import zipfile

import pytest

from components.sentence_example_gen import executor, reader, sources
from components.sentence_example_gen.reader import SentenceCorpusError
from tests.test_sentence_example_gen import _split_records


def _read(fmt, path, **kw):
  stats = reader.ReadStats()
  return list(sources.iter_records(sources.Source(fmt, str(path), **kw), stats)), stats


def test_csv_reads_named_columns_quoted_newlines_and_skips_empty_texts(tmp_path):
  path = tmp_path / "tickets.csv"
  path.write_text('id,body,team\n1,"printer, on floor 2\nis jammed",it\n2,  ,hr\n'
                  '3,"she said ""hi""",hr\n\n4,laptop broken,it\n', encoding="utf-8")
  records, stats = _read("csv", path, text="body", label="team")
  assert [(r.text, r.label, r.line) for r in records] == [
      ("printer, on floor 2\nis jammed", "it", 3), ('she said "hi"', "hr", 5),
      ("laptop broken", "it", 7)]
  assert stats.empty == [(str(path), 4)] and stats.blank == [(str(path), 6)]


def test_tsv_and_jsonl_labels_of_any_kind_become_label_text(tmp_path):
  (tmp_path / "a.tsv").write_text('text\tlabel\n"good one\t1\nbad "one"\t0\n')
  records, _ = _read("tsv", tmp_path / "a.tsv")  # TSV quotes are plain characters
  assert [(r.text, r.label) for r in records] == [('"good one', "1"), ('bad "one"', "0")]
  lines = [{"headline": "a", "y": True}, {"headline": "b", "y": 0}, {"headline": "c", "y": "x"}]
  (tmp_path / "a.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
  records, _ = _read("jsonl", tmp_path / "a.jsonl", text="headline", label="y")
  assert [r.label for r in records] == ["1", "0", "x"]


@pytest.mark.parametrize("content, message", [
    ("id,body\n1,x\n", r"t.csv: line 1: no column\(s\) \['team'\]; the header has \['id', 'body'\]"),
    ("body,team\nx,a\ny\n", r"t.csv: line 3: 1 fields, the header has 2"),
    ("body,team\nx,a\ny,\n", r"t.csv: line 3: label '' is empty"),
    ("body,team\nx,a\nz,b\ny,c\n", r"t.csv: line 4: label 'c' is not one of the config's labels"),
    ("", r"t.csv: empty file"),
])
def test_csv_bad_input_names_file_and_line(tmp_path, content, message):
  (tmp_path / "t.csv").write_text(content)
  with pytest.raises(SentenceCorpusError, match=message):
    _read("csv", tmp_path / "t.csv", text="body", label="team", labels=("a", "b"))


@pytest.mark.parametrize("line, message", [
    ("{not json", r"t.jsonl: line 2: not valid JSON"),
    ("[1, 2]", r"t.jsonl: line 2: expected a JSON object, got list"),
    ('{"text": "x"}', r"t.jsonl: line 2: missing key\(s\) \['label'\]"),
    ('{"text": 3, "label": "a"}', r"t.jsonl: line 2: text is a int, not a string"),
    ('{"text": "x", "label": null}', r"t.jsonl: line 2: label None is empty or not"),
])
def test_jsonl_bad_input_names_file_and_line(tmp_path, line, message):
  (tmp_path / "t.jsonl").write_text('{"text": "ok", "label": "a"}\n' + line + "\n")
  with pytest.raises(SentenceCorpusError, match=message):
    _read("jsonl", tmp_path / "t.jsonl")


def test_a_line_that_is_not_utf8_is_an_error_naming_file_and_line(tmp_path):
  (tmp_path / "t.csv").write_bytes(b"text,label\nfine,a\ncaf\xe9,b\n")
  with pytest.raises(SentenceCorpusError, match=r"t.csv: line 3: not UTF-8 at byte 3"):
    _read("csv", tmp_path / "t.csv")


def test_one_label_only_and_no_file_are_errors(tmp_path):
  (tmp_path / "t.csv").write_text("text,label\nx,a\ny,a\n")
  with pytest.raises(SentenceCorpusError, match=r"1 label\(s\) \['a'\]; a classifier needs"):
    _read("csv", tmp_path / "t.csv")
  with pytest.raises(SentenceCorpusError, match=r"nothing\*.csv: no such file"):
    _read("csv", tmp_path / "nothing*.csv")


def test_file_names_give_splits_and_mixing_is_an_error(tmp_path):
  for name in ("tickets_train.csv", "tickets-test.csv"):
    (tmp_path / name).write_text("text,label\nx,a\ny,b\n")
  records, _ = _read("csv", tmp_path / "tickets*.csv")
  assert [r.split for r in records] == ["test", "test", "train", "train"]
  (tmp_path / "tickets_extra.csv").write_text("text,label\nz,a\n")
  with pytest.raises(SentenceCorpusError, match="some files name a split and some do not"):
    _read("csv", tmp_path / "tickets*.csv")


def _tree(root, files):
  for name, text in files.items():
    os.makedirs(os.path.dirname(root / name), exist_ok=True)
    (root / name).write_text(text)


FOLDERS = {"aclImdb/train/pos/1.txt": "great", "aclImdb/train/neg/2.txt": "awful",
           "aclImdb/test/pos/3.txt": "lovely", "aclImdb/test/neg/4.txt": "dull"}


def _archive(path, files):
  if str(path).endswith(".zip"):
    with zipfile.ZipFile(path, "w") as zf:
      for name, text in files.items():
        zf.writestr(name, text)
  else:
    with tarfile.open(path, "w:gz") as tf:
      for name, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
  return path


@pytest.mark.parametrize("kind", ["dir", "tar.gz", "zip"])
def test_class_folders_with_split_level_in_a_folder_or_archive(tmp_path, kind):
  if kind == "dir":
    _tree(tmp_path / "data", FOLDERS)
    path = tmp_path / "data"
  else:
    path = _archive(tmp_path / f"data.{kind}", FOLDERS)
  records, _ = _read("class_folders", path)
  assert sorted((r.split, r.label, r.text) for r in records) == [
      ("test", "neg", "dull"), ("test", "pos", "lovely"), ("train", "neg", "awful"),
      ("train", "pos", "great")]
  assert {r.source for r in records} == set(FOLDERS)


def test_class_folders_without_split_level(tmp_path):
  _tree(tmp_path, {"news/sport/a.txt": "goal", "news/sport/b.txt": "match",
                   "news/tech/c.txt": "chip", "news/README.md": "not a text"})
  records, _ = _read("class_folders", tmp_path / "news")
  assert sorted((r.split, r.label) for r in records) == [("", "sport"), ("", "sport"),
                                                          ("", "tech")]


def test_class_folder_with_no_files_and_stray_files_are_errors(tmp_path):
  _tree(tmp_path, {"d/sport/a.txt": "goal", "d/tech/c.txt": "chip"})
  os.makedirs(tmp_path / "d" / "empty")
  with pytest.raises(SentenceCorpusError, match=r"class folder\(s\) with no .txt files: "
                     r"\['empty'\]"):
    _read("class_folders", tmp_path / "d")
  _tree(tmp_path, {"e/sport/a.txt": "goal", "e/tech/c.txt": "chip", "e/stray.txt": "?"})
  with pytest.raises(SentenceCorpusError, match=r"stray.txt is not <class>/<file>.txt"):
    _read("class_folders", tmp_path / "e")
  _tree(tmp_path, {"f/sport/a.txt": "goal", "f/tech/c.txt": "chip"})
  (tmp_path / "f" / "tech" / "bad.txt").write_bytes(b"\xff\xfe")
  with pytest.raises(SentenceCorpusError, match=r"/f: tech/bad.txt: not UTF-8"):
    _read("class_folders", tmp_path / "f")


def test_layout_splits_are_kept_and_eval_is_cut_from_train(tmp_path):
  records = ([reader.Record("train.csv", i, "ab"[i % 2], f"train text {i}", "train")
              for i in range(100)]
             + [reader.Record("test.csv", i, "ab"[i % 2], f"test text {i}", "test")
                for i in range(20)])
  split = _split_records(records, [0.8, 0.1, 0.1], 42, tmp_path / "a")
  counts = collections.Counter((s, label) for s, _, label in split)
  # the 20 test records stay test; eval takes 0.1 / (0.8 + 0.1) of each label's 50 train texts
  assert counts == {("train", "a"): 44, ("train", "b"): 44, ("eval", "a"): 6, ("eval", "b"): 6,
                    ("test", "a"): 10, ("test", "b"): 10}
  assert executor.layout_fractions("test", ["train", "test"], [0.8, 0.1, 0.1]) == [0, 0, 1]
  assert executor.layout_fractions("train", ["train"], [0.8, 0.1, 0.1]) == [0.8, 0.1, 0.1]
  assert executor.layout_fractions("train", ["train", "eval"], [0.8, 0.1, 0.1]) == \
      pytest.approx([0.8 / 0.9, 0, 0.1 / 0.9])
  assert executor.layout_fractions("train", ["train", "eval", "test"], [0.8, 0.1, 0.1]) == [
      1, 0, 0]
