"""Reads labelled sentences out of a corpus zip without extracting it.

Formats (FORMATS):
  uci_sentences  `sentiment labelled sentences.zip`: `sentiment labelled sentences/
                 {amazon_cells,imdb,yelp}_labelled.txt`, one `sentence<TAB>label` a line. The
                 label is after the last tab; quotes are plain characters (no CSV quoting: the
                 imdb file has unbalanced quotes that make a CSV reader swallow ~250 lines).
  sarcasm        `Sarcasm_Headlines_Dataset.json.zip`: `Sarcasm_Headlines_Dataset.json`, one JSON
                 object a line; `headline` is the text, `is_sarcastic` the label. `article_link`
                 is never read (its site, theonion.com or huffingtonpost.com, gives the label away).

Only the expected members are opened; lines are split on LF only (U+0085, which the UCI imdb file
has, is not a line end here) and a trailing CR is dropped. Policies, per case:
  * error naming the zip, member and line: a UCI line without a tab or with a label other than
    0/1; an invalid JSON line, one that is not an object, lacks `headline` or `is_sarcastic`, or
    has a label other than 0/1 or a headline that is not a string;
  * error naming the zip: a missing file, a corrupt or truncated zip, a missing expected member,
    a member name with `..` or an absolute path (a corpus zip never has one), no sentences at all
    or none of one label;
  * skipped and counted: an empty sentence or headline; a blank line;
  * kept and counted: bytes that are not UTF-8 (decoded with U+FFFD replacement); C1 control
    characters U+0080-U+009F, which are Windows-1252 bytes decoded as Latin-1 upstream (the UCI
    imdb file's `\\x96` dash and `\\x85` ellipsis, the sarcasm file's `\\x99`), mapped back to the
    Windows-1252 character they stand for. Texts are stripped of outer whitespace.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import zipfile
import zlib
from typing import Iterator

_UCI_DIR = "sentiment labelled sentences"


@dataclasses.dataclass(frozen=True)
class Format:
  file_name: str
  members: tuple[str, ...]
  split_fractions: tuple[float, float, float]  # default train/eval/test shares


# UCI: 3 000 sentences, so 20 % test (600) keeps the test accuracy's standard error near 1.5 points;
# sarcasm: 26 709 headlines, 10 % (2 670) is plenty for eval and test.
FORMATS = {
    "uci_sentences": Format("sentiment labelled sentences.zip",
                            tuple(f"{_UCI_DIR}/{n}_labelled.txt"
                                  for n in ("amazon_cells", "imdb", "yelp")), (0.7, 0.1, 0.2)),
    "sarcasm": Format("Sarcasm_Headlines_Dataset.json.zip", ("Sarcasm_Headlines_Dataset.json",),
                      (0.8, 0.1, 0.1)),
}
# Windows-1252 characters for the C1 controls they were mis-decoded to (5 bytes are undefined).
_C1_TO_CP1252 = {}
for _byte in range(0x80, 0xA0):
  try:
    _C1_TO_CP1252[_byte] = bytes([_byte]).decode("cp1252")
  except UnicodeDecodeError:
    pass


class SentenceCorpusError(ValueError):
  pass


@dataclasses.dataclass(frozen=True)
class Record:
  source: str  # member name
  line: int    # 1-based line number within the member
  label: int | str  # 0 | 1 for the built-in formats; a generic source's label text (sources.py)
  text: str
  split: str = ""  # the split the source's own layout gives it ('' for none)


@dataclasses.dataclass
class ReadStats:
  records: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # by label
  lines: int = 0
  empty: list = dataclasses.field(default_factory=list)       # (member, line), skipped
  blank: list = dataclasses.field(default_factory=list)       # (member, line), skipped
  non_utf8: list = dataclasses.field(default_factory=list)    # (member, line), kept
  c1_repaired: list = dataclasses.field(default_factory=list)  # (member, line), kept


def get_format(corpus_format: str) -> Format:
  if corpus_format not in FORMATS:
    raise ValueError(f"unknown corpus_format {corpus_format!r}; valid: {', '.join(FORMATS)}")
  return FORMATS[corpus_format]


def _uci(line: str, where: str) -> tuple[int, str]:
  text, tab, label = line.rpartition("\t")
  if not tab:
    raise SentenceCorpusError(f"{where}: no tab; expected 'sentence<TAB>label': {line[:80]!r}")
  if label.strip() not in ("0", "1"):
    raise SentenceCorpusError(f"{where}: label {label!r} is not 0 or 1")
  return int(label), text


def json_object(line: str, where: str, keys) -> dict:
  """One JSON Lines record, an object with the keys; an error naming `where` otherwise."""
  try:
    record = json.loads(line)
  except json.JSONDecodeError as e:
    raise SentenceCorpusError(f"{where}: not valid JSON ({e}): {line[:80]!r}") from e
  if not isinstance(record, dict):
    raise SentenceCorpusError(f"{where}: expected a JSON object, got {type(record).__name__}")
  missing = [k for k in keys if k not in record]
  if missing:
    raise SentenceCorpusError(f"{where}: missing key(s) {missing}; has {sorted(record)}")
  return record


def _sarcasm(line: str, where: str) -> tuple[int, str]:
  record = json_object(line, where, ("headline", "is_sarcastic"))
  label, text = record["is_sarcastic"], record["headline"]
  if isinstance(label, bool) or label not in (0, 1):
    raise SentenceCorpusError(f"{where}: is_sarcastic {label!r} is not 0 or 1")
  if not isinstance(text, str):
    raise SentenceCorpusError(f"{where}: headline is a {type(text).__name__}, not a string")
  return label, text


_PARSERS = {"uci_sentences": _uci, "sarcasm": _sarcasm}


def _check_names(zip_path: str, names: list[str]) -> None:
  unsafe = [n for n in names if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/")
            or (len(n) > 1 and n[1] == ":")]
  if unsafe:
    raise SentenceCorpusError(f"{zip_path}: unsafe member name(s) {unsafe} (absolute or with "
                              "'..'); refusing the archive")


def _iter_member(zf: zipfile.ZipFile, zip_path: str, member: str, corpus_format: str,
                 stats: ReadStats) -> Iterator[Record]:
  parse = _PARSERS[corpus_format]
  with zf.open(member) as f:
    for number, raw in enumerate(f, start=1):  # binary iteration: split on b"\n" only
      stats.lines += 1
      raw = raw.rstrip(b"\n").rstrip(b"\r")
      where = f"{zip_path}: {member}: line {number}"
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError:
        line = raw.decode("utf-8", errors="replace")
        stats.non_utf8.append((member, number))
      if not line.strip():
        stats.blank.append((member, number))
        continue
      label, text = parse(line, where)
      repaired = text.translate(_C1_TO_CP1252)
      if repaired != text:
        stats.c1_repaired.append((member, number))
      text = repaired.strip()
      if not text:
        stats.empty.append((member, number))
        continue
      stats.records[label] += 1
      yield Record(member, number, label, text)


def iter_records(zip_path: str, corpus_format: str,
                 stats: ReadStats | None = None) -> Iterator[Record]:
  fmt = get_format(corpus_format)
  stats = stats if stats is not None else ReadStats()
  if not os.path.isfile(zip_path):
    raise FileNotFoundError(f"{zip_path}: no such file")
  member = None
  try:
    with zipfile.ZipFile(zip_path) as zf:
      names = zf.namelist()
      _check_names(zip_path, names)
      missing = [m for m in fmt.members if m not in names]
      if missing:
        raise SentenceCorpusError(
            f"{zip_path}: missing member(s) {missing} for corpus_format {corpus_format!r}; "
            f"the zip has {names[:10]}{' ...' if len(names) > 10 else ''}")
      for member in fmt.members:
        yield from _iter_member(zf, zip_path, member, corpus_format, stats)
  except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
    where = f"{zip_path}: {member}" if member else zip_path
    raise SentenceCorpusError(
        f"{where}: not a complete zip archive ({type(e).__name__}: {e}); "
        "delete it and download it again") from e
  for label in (0, 1):
    if not stats.records[label]:
      raise SentenceCorpusError(f"{zip_path}: no sentences labelled {label} "
                                f"(read {sum(stats.records.values())} in all)")
  logging.info(
      "%s: read %d sentences (label 0: %d, label 1: %d) from %d lines; skipped %d empty, "
      "%d blank; %d non-UTF-8 lines decoded with replacement, %d with Windows-1252 C1 "
      "characters repaired", zip_path, sum(stats.records.values()), stats.records[0],
      stats.records[1], stats.lines, len(stats.empty), len(stats.blank), len(stats.non_utf8),
      len(stats.c1_repaired))
