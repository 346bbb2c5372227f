"""Reproduces the bad-input table of issue 8 (Reliability): every bad input is built in a fresh
temporary directory (never the real corpora), handed to the project's own reading/validation code,
and reported as one Markdown table row `| input | outcome | error text |` (the first ~200
characters of the message, the temporary directory shown as <tmp>).

Outcome is `error (ExceptionType)`, or for inputs whose documented policy is to skip or replace
and count, `skipped and counted` / `replaced and counted` with the counts the reader returned.
An input that should fail but does not is printed as NO ERROR (a policy check that does not hold
as CHECK FAILED), and the script then exits with status 1.

Usage: .venv/bin/python scripts/bad_inputs.py   (light: no pipeline, no Beam run, no training)
"""
import logging
import os
import random
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=FutureWarning)  # google-* import-time notices

from components.glove_embedding import sources  # noqa: E402
from components.imdb_example_gen import reader as imdb  # noqa: E402
from components.parallel_example_gen import reader as parallel  # noqa: E402
from components.sentence_example_gen import reader as sentence  # noqa: E402
from components.sentence_example_gen import sources as generic  # noqa: E402
from components.text_example_gen import reader as text  # noqa: E402
from components.treebank_example_gen import conll  # noqa: E402
from components.treebank_example_gen import reader as treebank  # noqa: E402
from pipeline import config, corpora  # noqa: E402
from tests.data import treebank as treebank_data  # noqa: E402
from tests.data.reviews import REVIEWS  # noqa: E402
from tests.fixtures import write_tarball  # noqa: E402
from tests.test_parallel_example_gen import write_pairs  # noqa: E402
from tests.test_sentence_example_gen import _headline, write_sarcasm, write_uci  # noqa: E402

MAX_TEXT = 200


# ---- helpers: build an input, run the reader -----------------------------------------------

def _imdb(tmp, reviews=REVIEWS, extra=()):
  """All reviews of a tarball written by the tests' write_tarball, and the reader's stats."""
  stats = imdb.ReadStats()
  return list(imdb.iter_reviews(write_tarball(str(tmp / "aclImdb_v1.tar.gz"), reviews, extra),
                                stats)), stats


def _imdb_counted(tmp, extra, field):
  reviews, stats = _imdb(tmp, extra=extra)
  counted = getattr(stats, field)
  assert counted, f"nothing in stats.{field}: {stats}"
  return f"{field}: {len(counted)}", f"{field}={counted}; {len(reviews)} reviews read"


def _damaged_tarball(tmp, damage):
  path = write_tarball(str(tmp / "aclImdb_v1.tar.gz"))
  Path(path).write_bytes(damage(Path(path).read_bytes()))
  list(imdb.iter_reviews(path))


def _ensure(tmp, existing: bool):
  """ensure_file with a checksum no file has: an existing file is kept, a download's .part goes."""
  data = tmp / "data"
  data.mkdir()
  served = tmp / "served.bin"
  (data / "f.bin" if existing else served).write_bytes(b"junk")
  spec = corpora.CorpusFile("f.bin", served.as_uri(), ("ab" * 32,))
  try:
    corpora.ensure_file(spec, data)
  except corpora.CorpusError as e:
    left = sorted(p.name for p in data.iterdir())
    assert left == (["f.bin"] if existing else []), f"data dir afterwards: {left}"
    e.add_note("file kept" if existing else "no .part left")
    raise


def _treebank(tmp, members, member_name="wsj_0002.mrg"):
  path = treebank_data.write_zip(tmp / "treebank.zip", {member_name: members})
  return treebank.read_all(path)


def _treebank_unsafe(tmp, name):
  path = treebank_data.write_zip(tmp / "treebank.zip", {"wsj_0001.mrg": treebank_data.sentences(2)})
  with zipfile.ZipFile(path, "a") as zf:
    zf.writestr(name, "x")
  return treebank.members(path)


def _text(tmp, data: bytes):
  path = tmp / "corpus.txt"
  path.write_bytes(data)
  return text.read_text([str(path)], gutenberg=False, collapse_whitespace=False)


def _pairs(tmp, lines, stats=None):
  return list(parallel.iter_pairs(write_pairs(tmp / "spa-eng.zip", lines), "spa_eng", stats))


def _pairs_non_utf8(tmp):
  stats = parallel.ReadStats()
  pairs = _pairs(tmp, ["Go.\tVe.", b"Caf\xe9.\tCaf\xc3\xa9."], stats)
  assert stats.non_utf8, stats
  return f"non_utf8: {len(stats.non_utf8)}", (f"non_utf8 lines={stats.non_utf8}; kept as "
                                               f"{pairs[-1].source!r} -> {pairs[-1].target!r}")


def _glove(tmp, name, lines):
  """Every record of a GloVe source, read by the same parse DoFns the Beam read uses."""
  path = tmp / name
  if name.endswith(".zip"):
    with zipfile.ZipFile(path, "w") as zf:
      zf.writestr("g.txt", "".join(lines))
  else:
    path.write_text("".join(lines), encoding="utf-8")
  src = sources.resolve(str(path))
  dim = sources.dimension(src)
  if src.kind == "zip":
    return list(sources._ReadZipMember(dim).process(src))  # pylint: disable=protected-access
  parse, records, offset = sources._ParseText(str(path), dim), [], 0  # pylint: disable=protected-access
  for line in path.read_bytes().splitlines(keepends=True):
    records += parse.process((offset, line))
    offset += len(line)
  return records


GLOVE = ["the 0.1 0.2 0.3 0.4\n", "movie 0.5 0.6 0.7 0.8\n"]


def _config(tmp, yaml_text):
  path = tmp / "run.yaml"
  path.write_text(yaml_text)
  return config.load(str(path))


def _uci(tmp, line):
  return list(sentence.iter_records(write_uci(tmp / "sentiment labelled sentences.zip",
                                              imdb=["ok one\t1", "ok two\t0", line]),
                                    "uci_sentences"))


def _sarcasm(tmp, line):
  return list(sentence.iter_records(
      write_sarcasm(tmp / "Sarcasm_Headlines_Dataset.json.zip", [_headline("fine", 1), line]),
      "sarcasm"))


def _generic(tmp, fmt, name, data: bytes, **kw):
  """A user's file through the generic reader of its format (a corpus mapping)."""
  path = tmp / name
  path.write_bytes(data)
  if fmt == "conll":
    return list(conll.iter_file(str(path)))
  stats = sentence.ReadStats()
  list(generic.iter_records(generic.Source(fmt, str(path), **kw), stats))
  return {"empty": len(stats.empty)}, f"empty texts at {stats.empty}"


def _class_folder_without_files(tmp):
  for name in ("sport", "tech"):
    (tmp / "news" / name).mkdir(parents=True)
  (tmp / "news" / "sport" / "a.txt").write_text("goal")
  (tmp / "news" / "tech" / "b.txt").write_text("chip")
  (tmp / "news" / "music").mkdir()
  return list(generic.iter_records(generic.Source("class_folders", str(tmp / "news"))))


NO_NEG = [r for r in REVIEWS if r[1] != "neg"]
MALFORMED = "( (S (NP-SBJ (DT the) (NN dog) ) (VP (VBD barked) )\n"  # a ')' missing
UNTAGGED = "( (S (NP-SBJ the dog) (VP (VBD barked) ) ))\n"           # words without tags

# (input, expected: "error" | "skipped" | "replaced", callable(tmp))
CASES = [
    ("IMDB tarball truncated (first half)", "error",
     lambda t: _damaged_tarball(t, lambda b: b[:len(b) // 2])),
    ("IMDB tarball corrupt (random bytes)", "error",
     lambda t: _damaged_tarball(t, lambda b: random.Random(8).randbytes(len(b)))),
    ("checksum mismatch, existing file", "error", lambda t: _ensure(t, existing=True)),
    ("checksum mismatch, download (file:// URL)", "error", lambda t: _ensure(t, existing=False)),
    ("IMDB member `../evil_1.txt`", "skipped",
     lambda t: _imdb_counted(t, [("../evil_1.txt", b"x")], "skipped_unexpected")),
    ("IMDB member `aclImdb/train/pos/../../../etc/5_5.txt`", "skipped",
     lambda t: _imdb_counted(t, [("aclImdb/train/pos/../../../etc/5_5.txt", b"x")],
                             "skipped_unexpected")),
    ("IMDB member with absolute path `/abs/aclImdb/train/pos/7_7.txt`", "skipped",
     lambda t: _imdb_counted(t, [("/abs/aclImdb/train/pos/7_7.txt", b"x")], "skipped_unexpected")),
    ("IMDB symlink member `aclImdb/train/pos/90_9.txt` -> /etc/passwd", "skipped",
     lambda t: _imdb_counted(t, [("aclImdb/train/pos/90_9.txt", None)], "skipped_links")),
    ("treebank zip member `../evil.txt`", "error", lambda t: _treebank_unsafe(t, "../evil.txt")),
    ("treebank zip member `/abs/evil.txt`", "error",
     lambda t: _treebank_unsafe(t, "/abs/evil.txt")),
    ("IMDB tarball without neg/ folders", "error", lambda t: _imdb(t, reviews=NO_NEG)),
    ("IMDB empty review file (whitespace only)", "skipped",
     lambda t: _imdb_counted(t, [("aclImdb/train/neg/92_1.txt", b"   \n")], "empty")),
    ("IMDB empty corpus (tarball with no reviews)", "error", lambda t: _imdb(t, reviews=[])),
    ("text corpus empty (whitespace only)", "error", lambda t: _text(t, b" \n\n")),
    ("non-UTF-8 bytes in an IMDB review", "replaced",
     lambda t: _imdb_counted(t, [("aclImdb/train/neg/91_2.txt", b"caf\xe9 was awful\xff")],
                             "non_utf8")),
    ("non-UTF-8 bytes in a text corpus", "error", lambda t: _text(t, b"abc\xff\xfedef")),
    ("non-UTF-8 bytes in a parallel-text line", "replaced", _pairs_non_utf8),
    ("treebank tree with a `)` missing", "error",
     lambda t: _treebank(t, [treebank_data.simple_tree("the", "dog", "saw", "a", "cat"),
                             MALFORMED])),
    ("treebank tree with untagged words", "error",
     lambda t: _treebank(t, [treebank_data.simple_tree("the", "dog", "saw", "a", "cat"),
                             UNTAGGED])),
    ("parallel-text line with one column", "error",
     lambda t: _pairs(t, ["Hi.\tHola.", "Only English here."])),
    ("GloVe .txt, line 3 with 3 values (dim 4)", "error",
     lambda t: _glove(t, "glove.txt", GLOVE + ["bad 0.1 0.2 0.3\n"])),
    ("GloVe .zip, a value that is not a number", "error",
     lambda t: _glove(t, "glove.zip", GLOVE + ["x 1 2 oops 4\n"])),
    ("UCI line without a tab", "error", lambda t: _uci(t, "no tab here")),
    ("UCI line with label 2", "error", lambda t: _uci(t, "sentence\t2")),
    ("sarcasm line that is not valid JSON", "error",
     lambda t: _sarcasm(t, '{"headline": "x", "is_sarcastic": 1')),
    ("sarcasm line without is_sarcastic", "error", lambda t: _sarcasm(t, '{"headline": "x"}')),
    ("generic csv without the `label` column", "error",
     lambda t: _generic(t, "csv", "t.csv", b"text,team\nhello,a\n")),
    ("generic csv with an empty text", "skipped",
     lambda t: _generic(t, "csv", "t.csv", b"text,label\nhello,a\n ,b\nbye,b\n")),
    ("generic csv label not in the config's `labels`", "error",
     lambda t: _generic(t, "csv", "t.csv", b"text,label\nhello,a\nbye,c\n", labels=("a", "b"))),
    ("generic csv line that is not UTF-8", "error",
     lambda t: _generic(t, "csv", "t.csv", b"text,label\nhello,a\ncaf\xe9,b\n")),
    ("generic jsonl line without the text key", "error",
     lambda t: _generic(t, "jsonl", "t.jsonl", b'{"text": "a", "label": 1}\n{"label": 0}\n')),
    ("generic class folder with no files", "error", _class_folder_without_files),
    ("generic CoNLL ragged line", "error",
     lambda t: _generic(t, "conll", "t.conll", b"the\tDT\ndog\tNN\textra\n")),
    ("config: unknown trainer", "error",
     lambda t: _config(t, "models: [{name: m, trainer: resnet}]\n")),
    ("config: unknown corpus", "error",
     lambda t: _config(t, "corpus: imbd\nmodels: [{name: m}]\n")),
    ("config: unknown key", "error", lambda t: _config(t, "models: [{name: m, epochz: 3}]\n")),
    ("config: `epochs: ten`", "error",
     lambda t: _config(t, "models: [{name: m, epochs: ten}]\n")),
    ("config: `!!python/object/apply:os.system`", "error",
     lambda t: _config(t, 'corpus: !!python/object/apply:os.system ["echo hi"]\n'
                          "models: [{name: m}]\n")),
]


# ---- runner ----------------------------------------------------------------------------------

def _cell(value: str, tmp: str) -> str:
  value = " ".join(value.replace(tmp, "<tmp>").split())
  value = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + " ..."
  return value.replace("|", "\\|")


def run_case(expected: str, fn) -> tuple[str, str, bool]:
  """(outcome, text, ok) of one case, in a fresh temporary directory."""
  with tempfile.TemporaryDirectory(prefix="bad_inputs_") as tmp:
    try:
      result = fn(Path(tmp))
    except AssertionError as e:  # a policy check of this script did not hold
      return "CHECK FAILED", _cell(str(e), tmp), False
    except Exception as e:  # pylint: disable=broad-except
      notes = "; ".join(getattr(e, "__notes__", []))
      if expected != "error":
        return f"UNEXPECTED ERROR ({type(e).__name__})", _cell(str(e), tmp), False
      return (f"error ({type(e).__name__}{'; ' + notes if notes else ''})", _cell(str(e), tmp),
              True)
    if expected == "error":
      return "NO ERROR", _cell(f"returned {str(result)[:150]}", tmp), False
    counts, detail = result
    return f"{expected} and counted ({counts})", _cell(detail, tmp), True


def main() -> int:
  logging.disable(logging.WARNING)  # the readers log what they skip; the table says it
  print("| input | outcome | error text |")
  print("|---|---|---|")
  failed = 0
  for description, expected, fn in CASES:
    outcome, message, ok = run_case(expected, fn)
    failed += not ok
    print(f"| {description} | {outcome} | {message} |", flush=True)
  if failed:
    print(f"\n{failed} case(s) did not behave as documented", file=sys.stderr)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
