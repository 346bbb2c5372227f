import collections
import json
import os
import zipfile

import pytest

from components.sentence_example_gen import executor, reader
from components.sentence_example_gen.component import SentenceExampleGen
from tests import fixtures

UCI_DIR = "sentiment labelled sentences"
UCI_FILE = "sentiment labelled sentences.zip"
SARCASM_FILE = "Sarcasm_Headlines_Dataset.json.zip"
SARCASM_MEMBER = "Sarcasm_Headlines_Dataset.json"


def _uci_lines(n_per_label=10, prefix="amazon"):
  return [f"{prefix} {'great' if l else 'awful'} sentence {i}.\t{l}"
          for i in range(n_per_label) for l in (0, 1)]


def write_uci(path, amazon=None, imdb=None, yelp=None, extra=()):
  """A UCI-layout zip; each member's lines (str, or bytes kept as is) joined by LF."""
  members = {"amazon_cells": amazon if amazon is not None else _uci_lines(prefix="amazon"),
             "imdb": imdb if imdb is not None else _uci_lines(prefix="imdb"),
             "yelp": yelp if yelp is not None else _uci_lines(prefix="yelp")}
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr(f"{UCI_DIR}/readme.txt", "readme")
    for name, lines in members.items():
      data = b"\n".join(l if isinstance(l, bytes) else l.encode("utf-8") for l in lines) + b"\n"
      zf.writestr(f"{UCI_DIR}/{name}_labelled.txt", data)
    for name, data in extra:
      zf.writestr(name, data)
  return str(path)


def _headline(text, label, site=None):
  site = site or ("theonion" if label else "huffingtonpost")
  return json.dumps({"article_link": f"https://www.{site}.com/{abs(hash(text))}",
                     "headline": text, "is_sarcastic": label})


def write_sarcasm(path, lines=None):
  lines = lines if lines is not None else [_headline(f"headline number {i}", i % 2)
                                           for i in range(20)]
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr(SARCASM_MEMBER, "\r\n".join(lines) + "\r\n")  # upstream has CRLF line ends
  return str(path)


def test_uci_parsing_keeps_quotes_and_strips_outer_space(tmp_path):
  imdb = ['He said "it\'s bad and left.  \t0', 'A "masterpiece\u0096 truly.\t1',
          'tab\tinside the sentence\t1', "", "\t0", "   \t1", 'Un "balanced quote here.\t0']
  path = write_uci(tmp_path / UCI_FILE, imdb=imdb)
  stats = reader.ReadStats()
  records = {r.text: r for r in reader.iter_records(path, "uci_sentences", stats)}
  assert records['He said "it\'s bad and left.'].label == 0
  assert records['A "masterpiece\u2013 truly.'].label == 1  # C1 \x96 -> Windows-1252 en dash
  assert records["tab\tinside the sentence"].label == 1
  assert records['Un "balanced quote here.'].line == 7
  assert len(records) == 40 + 4
  assert stats.empty == [(f"{UCI_DIR}/imdb_labelled.txt", 5), (f"{UCI_DIR}/imdb_labelled.txt", 6)]
  assert stats.blank == [(f"{UCI_DIR}/imdb_labelled.txt", 4)]
  assert stats.c1_repaired == [(f"{UCI_DIR}/imdb_labelled.txt", 2)]
  assert stats.records == {0: 22, 1: 22}


def test_sarcasm_parsing_reads_headline_and_label_only(tmp_path):
  lines = [_headline('pope says "no" to \'quotes\'', 1), _headline("stocks rise", 0), ""]
  path = write_sarcasm(tmp_path / SARCASM_FILE, lines)
  records = list(reader.iter_records(path, "sarcasm"))
  assert [(r.text, r.label, r.line) for r in records] == [
      ('pope says "no" to \'quotes\'', 1, 1), ("stocks rise", 0, 2)]
  example = executor.to_example(records[0])
  assert sorted(example.features.feature) == ["label", "text"]  # no article link or site
  assert example.features.feature["text"].bytes_list.value == [records[0].text.encode()]
  assert example.features.feature["label"].int64_list.value == [1]


@pytest.mark.parametrize("line, message", [
    ("no tab here", r"imdb_labelled\.txt: line 3: no tab"),
    ("sentence\t2", r"imdb_labelled\.txt: line 3: label '2' is not 0 or 1"),
    ("sentence\tpositive", r"imdb_labelled\.txt: line 3: label 'positive'"),
])
def test_uci_bad_lines_name_zip_member_and_line(tmp_path, line, message):
  path = write_uci(tmp_path / UCI_FILE, imdb=["ok one\t1", "ok two\t0", line])
  with pytest.raises(reader.SentenceCorpusError, match=r"sentences\.zip: .*" + message):
    list(reader.iter_records(path, "uci_sentences"))


@pytest.mark.parametrize("line, message", [
    ('{"headline": "x", "is_sarcastic": 1', "line 2: not valid JSON"),
    ('{"headline": "x"}', r"line 2: missing key\(s\) \['is_sarcastic'\]"),
    ('["x", 1]', "line 2: expected a JSON object, got list"),
    ('{"headline": "x", "is_sarcastic": 2}', "line 2: is_sarcastic 2 is not 0 or 1"),
    ('{"headline": 5, "is_sarcastic": 0}', "line 2: headline is a int"),
])
def test_sarcasm_bad_lines_name_zip_member_and_line(tmp_path, line, message):
  path = write_sarcasm(tmp_path / SARCASM_FILE, [_headline("fine", 1), line])
  with pytest.raises(reader.SentenceCorpusError,
                     match=r"json\.zip: Sarcasm_Headlines_Dataset\.json: " + message):
    list(reader.iter_records(path, "sarcasm"))


def test_non_utf8_and_empty_are_counted_not_fatal(tmp_path):
  lines = [_headline("ok", 0).encode(), b'{"headline": "caf\xe9 \xff", "is_sarcastic": 1}',
           _headline("   ", 1).encode()]
  path = tmp_path / SARCASM_FILE
  with zipfile.ZipFile(path, "w") as zf:
    zf.writestr(SARCASM_MEMBER, b"\n".join(lines))
  stats = reader.ReadStats()
  records = list(reader.iter_records(str(path), "sarcasm", stats))
  assert [r.text for r in records] == ["ok", "caf\ufffd \ufffd"]
  assert stats.non_utf8 == [(SARCASM_MEMBER, 2)] and stats.empty == [(SARCASM_MEMBER, 3)]


def test_missing_member_is_named(tmp_path):
  path = tmp_path / UCI_FILE
  with zipfile.ZipFile(path, "w") as zf:
    zf.writestr(f"{UCI_DIR}/amazon_cells_labelled.txt", "a\t1\nb\t0\n")
  with pytest.raises(reader.SentenceCorpusError,
                     match=r"sentences\.zip: missing member\(s\) .*imdb_labelled\.txt"):
    list(reader.iter_records(str(path), "uci_sentences"))
  with pytest.raises(reader.SentenceCorpusError, match="missing member"):  # wrong format
    list(reader.iter_records(str(path), "sarcasm"))


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", f"{UCI_DIR}/../../evil.txt"])
def test_unsafe_member_names_are_refused(tmp_path, name):
  path = write_uci(tmp_path / UCI_FILE, extra=[(name, "x\t1\n")])
  with pytest.raises(reader.SentenceCorpusError, match="unsafe member name"):
    list(reader.iter_records(path, "uci_sentences"))


def test_truncated_and_corrupt_zips_are_clear_errors(tmp_path):
  path = write_sarcasm(tmp_path / SARCASM_FILE, [_headline(f"h {i}" * 50, i % 2)
                                                  for i in range(200)])
  data = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(data[:len(data) // 2])
  with pytest.raises(reader.SentenceCorpusError, match=r"json\.zip: not a complete zip"):
    list(reader.iter_records(path, "sarcasm"))
  with open(path, "wb") as f:  # intact directory, damaged compressed data
    f.write(data[:100] + bytes(b ^ 0xFF for b in data[100:400]) + data[400:])
  with pytest.raises(reader.SentenceCorpusError,
                     match=r"json\.zip: Sarcasm_Headlines_Dataset\.json: not a complete zip"):
    list(reader.iter_records(path, "sarcasm"))
  with pytest.raises(FileNotFoundError, match="nothere.zip: no such file"):
    list(reader.iter_records(str(tmp_path / "nothere.zip"), "sarcasm"))


def test_one_label_only_is_an_error(tmp_path):
  path = write_sarcasm(tmp_path / SARCASM_FILE, [_headline(f"h {i}", 0) for i in range(5)])
  with pytest.raises(reader.SentenceCorpusError, match="no sentences labelled 1"):
    list(reader.iter_records(path, "sarcasm"))


def test_cut_is_seeded_and_proportional():
  keys = [f"text {i}" for i in range(1000)]
  splits = executor.cut(keys, [0.7, 0.1, 0.2], 42)
  assert collections.Counter(splits.values()) == {"train": 700, "eval": 100, "test": 200}
  assert splits == executor.cut(list(reversed(keys)), [0.7, 0.1, 0.2], 42)  # order-free
  other = executor.cut(keys, [0.7, 0.1, 0.2], 7)
  assert 0 < sum(splits[k] != other[k] for k in keys) < len(keys)


def _split_records(records, fractions, seed, out):
  """The records through executor._SplitRecords: [(split, line, label)]."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  with beam.Pipeline() as p:
    _ = (p | beam.Create(records)
         | executor._SplitRecords(fractions, seed, "test.zip")  # pylint: disable=protected-access
         | beam.Map(lambda kv: json.dumps([kv[0], kv[1].line, kv[1].label]))
         | beam.io.WriteToText(str(out), shard_name_template=""))
  with open(out) as f:
    return [tuple(json.loads(line)) for line in f]


def test_split_is_stratified_deterministic_and_keeps_duplicates_together(tmp_path):
  records = [reader.Record("m", i, int(i % 4 == 0), f"Sentence {i}") for i in range(200)]
  dups = [reader.Record("m", 1000 + i, 0, f"  sentence   {i * 4 + 1} ") for i in range(10)]
  conflict = [reader.Record("m", 2000, 1, "SENTENCE 3"), reader.Record("m", 2001, 1, "x y"),
              reader.Record("m", 2002, 0, "X  y")]
  split = _split_records(records + dups + conflict, [0.6, 0.2, 0.2], 42, tmp_path / "a")
  by_line = {line: s for s, line, _ in split}
  assert 3 not in by_line and 2000 not in by_line  # "sentence 3" has both labels: dropped
  assert not {2001, 2002} & set(by_line)
  assert len(split) == len(by_line) == 200 - 1 + 10
  counts = collections.Counter((s, label) for s, line, label in split if line < 1000)
  # 50 texts labelled 1 and 149 labelled 0 ("sentence 3" gone), each label cut 60/20/20.
  assert {s: counts[(s, 1)] for s in ("train", "eval", "test")} == {
      "train": 30, "eval": 10, "test": 10}
  assert {s: counts[(s, 0)] for s in ("train", "eval", "test")} == {
      "train": 89, "eval": 30, "test": 30}
  for i in range(10):  # each copy sits with its original
    assert by_line[1000 + i] == by_line[i * 4 + 1]
  again = _split_records(list(reversed(records + dups + conflict)), [0.6, 0.2, 0.2], 42,
                         tmp_path / "b")
  assert sorted(again) == sorted(split)
  other = {line: s for s, line, _ in _split_records(records + dups + conflict, [0.6, 0.2, 0.2],
                                                    7, tmp_path / "c")}
  assert other != by_line and set(other) == set(by_line)


def test_component_runs_under_local_dag_runner(tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  dup = "amazon great sentence 3.\t1"  # a copy of an amazon line, in the yelp file
  write_uci(data_dir / UCI_FILE, yelp=_uci_lines(prefix="yelp") + [dup])
  gen = SentenceExampleGen(input_base=str(data_dir), corpus_format="uci_sentences",
                           split_fractions=[0.6, 0.2, 0.2], split_seed=3)
  fixtures.run_local(tmp_path, [gen])
  root = tmp_path / "root" / "SentenceExampleGen" / "examples"
  uri = str(root / os.listdir(root)[0])
  by_split = {s: fixtures.read_split(uri, s) for s in ("train", "eval", "test")}
  counts = {s: collections.Counter(e.features.feature["label"].int64_list.value[0] for e in ex)
            for s, ex in by_split.items()}
  # 30 unique texts a label -> 18/6/6; the duplicate joins its twin's split.
  texts = {s: [e.features.feature["text"].bytes_list.value[0].decode() for e in ex]
           for s, ex in by_split.items()}
  dup_split = next(s for s, t in texts.items() if "amazon great sentence 3." in t)
  assert texts[dup_split].count("amazon great sentence 3.") == 2
  expected = {s: {0: 6, 1: 6 + (s == dup_split)} for s in ("eval", "test")}
  expected["train"] = {0: 18, 1: 18 + (dup_split == "train")}
  assert counts == expected
  assert {k for e in by_split["train"] for k in e.features.feature} == {"text", "label"}
