"""The generic corpus formats of the other tasks (conll, pairs, text): the CoNLL reader on tiny
files with its bad inputs, and each format from a run config's corpus mapping through its task's
ExampleGen under LocalDagRunner."""
import collections
import os

import pytest

from components.treebank_example_gen import conll
from components.treebank_example_gen.reader import TreebankError
from pipeline import config, tasks
from tests import fixtures

CONLLU = """# newdoc
# sent_id = doc1-s1
# text = Don't stop.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\t_
3.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_conllu_reads_form_and_upos_skipping_multiword_tokens_and_empty_nodes(tmp_path):
  path = tmp_path / "en-ud-train.conllu"
  path.write_text(CONLLU)
  sentences = list(conll.iter_file(str(path)))
  assert [(s.sentence_id, s.words, s.tags, s.split) for s in sentences] == [
      ("doc1-s1", ("Do", "n't", "stop", "."), ("AUX", "PART", "VERB", "PUNCT"), "train"),
      ("en-ud-train.conllu:2", ("Yes",), ("INTJ",), "train")]
  xpos = list(conll.iter_file(str(path), conll.Columns(tag=5)))
  assert xpos[0].tags == ("VBP", "RB", "VB", ".")


def test_plain_columns_word_first_tag_last_split_on_spaces(tmp_path):
  path = tmp_path / "tagged.txt"
  path.write_text("The DT B-NP\ncat NN I-NP\n# NN I-NP\n\n\nsat VBD B-VP\n")
  sentences = list(conll.iter_file(str(path)))
  assert [(s.words, s.tags, s.split) for s in sentences] == [  # mid-sentence # is a token
      (("The", "cat", "#"), ("B-NP", "I-NP", "I-NP"), ""), (("sat",), ("B-VP",), "")]
  (tmp_path / "pound.conll").write_text("#\t#\n15\tCD\n")
  assert list(conll.iter_file(str(tmp_path / "pound.conll")))[0].words == ("#", "15")
  assert list(conll.iter_file(str(path), conll.Columns(tag=2)))[0].tags == ("DT", "NN", "NN")


@pytest.mark.parametrize("text, message", [
    ("a\tDT\nb\tNN\tX\n", r"t.conll: line 2: 3 columns, the sentence's first token line has 2 "
     r"\(a ragged line\)"),
    ("word\n", r"t.conll: line 1: 1 column\(s\)"),
    ("a\t\n", r"t.conll: line 1: empty word or tag"),
])
def test_bad_conll_lines_name_file_and_line(tmp_path, text, message):
  (tmp_path / "t.conll").write_text(text)
  with pytest.raises(TreebankError, match=message):
    list(conll.iter_file(str(tmp_path / "t.conll")))


def test_non_utf8_conll_is_an_error(tmp_path):
  (tmp_path / "t.conll").write_bytes(b"a\tDT\n\xe9t\tNN\n")
  with pytest.raises(TreebankError, match=r"t.conll: line 2: not UTF-8 at byte 0"):
    list(conll.iter_file(str(tmp_path / "t.conll")))


def _example_gen_splits(tmp_path, corpus: dict, **run):
  """The corpus mapping's task's ExampleGen under LocalDagRunner: {split: [tf.Example]}."""
  cfg = config.from_dict({"corpus": corpus, "output_dir": str(tmp_path / "out"), **run,
                          "models": [{"name": "m"}]})
  gen = tasks.get(cfg.task).example_gen(cfg, cfg.corpus_entry, str(tmp_path / "data"))
  fixtures.run_local(tmp_path, [gen])
  root = tmp_path / "root" / gen.id / "examples"
  uri = str(root / os.listdir(root)[0])
  return cfg, {s: fixtures.read_split(uri, s) for s in ("train", "eval", "test")}


def _strings(example, key):
  return [v.decode() for v in example.features.feature[key].bytes_list.value]


def test_conll_corpus_trains_the_tagger_task_with_file_splits(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  for split, n in (("train", 30), ("test", 6)):
    (data / f"pos-{split}.conll").write_text("".join(
        f"# sent_id = {split}-{i}\nthe\tDT\ndog{i}\tNN\n\n" for i in range(n)))
  cfg, splits = _example_gen_splits(tmp_path, {"format": "conll", "path": "pos-*.conll"})
  assert cfg.task == "tagging"
  ids = {s: {_strings(e, "sentence_id")[0] for e in ex} for s, ex in splits.items()}
  assert ids["test"] == {f"test-{i}" for i in range(6)}  # the test file's, all of them
  assert ids["eval"] and ids["eval"] | ids["train"] == {f"train-{i}" for i in range(30)}
  assert _strings(splits["train"][0], "tags") == ["DT", "NN"]


def test_pairs_corpus_is_the_translation_task(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  (data / "en-de.tsv").write_text("".join(f"sentence {i}.\tSatz {i}.\n" for i in range(60))
                                  + "\n\tleer\n")
  cfg, splits = _example_gen_splits(tmp_path, {"format": "pairs", "path": "en-de.tsv"},
                                    split_fractions=[0.5, 0.25, 0.25])
  assert cfg.task == "translation"
  pairs = [(_strings(e, "source")[0], _strings(e, "target")[0])
           for ex in splits.values() for e in ex]
  assert sorted(pairs) == sorted((f"sentence {i}.", f"Satz {i}.") for i in range(60))
  assert all(len(ex) > 5 for ex in splits.values())  # hash split, 50/25/25 in expectation


def test_pairs_files_named_by_split_keep_it_and_eval_is_cut_from_train(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  (data / "news-train.tsv").write_text("".join(f"train {i}.\tZug {i}.\n" for i in range(80)))
  (data / "news-test.tsv").write_text("".join(f"test {i}.\tTest {i}.\n" for i in range(10)))
  _, splits = _example_gen_splits(tmp_path, {"format": "pairs", "path": "news-*.tsv"})
  sources = {s: {_strings(e, "source")[0].split()[0] for e in ex} for s, ex in splits.items()}
  assert sources == {"train": {"train"}, "eval": {"train"}, "test": {"test"}}
  assert len(splits["test"]) == 10 and 0 < len(splits["eval"]) < 25


def test_text_corpus_is_the_char_lm_task_split_by_position(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  book = "".join(f"Line {i} of my own book.\n" for i in range(400))
  (data / "book.txt").write_text(book)
  cfg, splits = _example_gen_splits(tmp_path, {"format": "text", "path": "book.txt"},
                                    text={"chunk_chars": 1000})
  assert cfg.task == "char_lm"
  by_split = collections.OrderedDict(
      (s, "".join(_strings(e, "text")[0] for e in sorted(
          ex, key=lambda e: e.features.feature["offset"].int64_list.value[0])))
      for s, ex in splits.items())
  assert "".join(by_split.values()) == book
  assert len(by_split["train"]) == round(len(book) * 0.9)


def test_pairs_files_bad_lines_name_file_and_line_and_non_utf8_is_counted(tmp_path):
  from components.parallel_example_gen import reader as parallel  # pylint: disable=import-outside-toplevel
  path = tmp_path / "p.tsv"
  path.write_bytes(b"Hi.\tHallo.\ncaf\xe9.\tCaf\xc3\xa9.\n")
  stats = parallel.ReadStats()
  pairs = list(parallel.iter_pair_files([str(path)], stats))
  assert [p.target for p in pairs] == ["Hallo.", "Café."] and stats.non_utf8 == [2]
  path.write_text("Hi.\tHallo.\nno tab here\n")
  with pytest.raises(parallel.ParallelCorpusError, match=r"p.tsv: line 2: 1 tab-separated"):
    list(parallel.iter_pair_files([str(path)]))
