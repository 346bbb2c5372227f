"""Reads sentence pairs out of a manythings.org parallel-text zip without extracting it.

Formats (FORMATS): `spa_eng` (`spa-eng.zip`, member `spa.txt`) and `fra_eng` (`fra-eng.zip`,
member `fra.txt`); one pair a line, `english<TAB>translation`, newer downloads add a third
column `<TAB>attribution` (CC-BY credit), which is read past and never kept. English is the
source, the other language the target.

Lines are split on LF only and a trailing CR is dropped. Policies, per case:
  * error naming the zip, member and line: a line with one column (no tab) or more than three;
  * error naming the zip: a missing file, a corrupt or truncated zip, a missing member, no pairs;
  * skipped and counted: a blank line; a pair whose source or target is empty after stripping;
  * kept and counted: bytes that are not UTF-8 (decoded with U+FFFD replacement).
Both sides are stripped of outer whitespace (U+202F, French's narrow space before `!?;:`, is
left inside the text; the Transform's standardisation treats it as a space).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import zipfile
import zlib
from typing import Iterator

from components.sentence_example_gen import sources


@dataclasses.dataclass(frozen=True)
class Format:
  file_name: str
  member: str
  target_language: str


FORMATS = {
    "spa_eng": Format("spa-eng.zip", "spa.txt", "es"),
    "fra_eng": Format("fra-eng.zip", "fra.txt", "fr"),
}


class ParallelCorpusError(ValueError):
  pass


@dataclasses.dataclass(frozen=True)
class Pair:
  line: int    # 1-based line number within the member
  source: str  # English
  target: str
  split: str = ""  # the split a generic pairs file's name gives it ('' for none)


@dataclasses.dataclass
class ReadStats:
  lines: int = 0
  pairs: int = 0
  attributed: int = 0                                        # lines with a third column
  blank: list = dataclasses.field(default_factory=list)      # line numbers, skipped
  empty: list = dataclasses.field(default_factory=list)      # line numbers, skipped
  non_utf8: list = dataclasses.field(default_factory=list)   # line numbers, kept


def get_format(corpus_format: str) -> Format:
  if corpus_format not in FORMATS:
    raise ValueError(f"unknown corpus_format {corpus_format!r}; valid: {', '.join(FORMATS)}")
  return FORMATS[corpus_format]


def parse_line(line: str, where: str) -> tuple[str, str, bool]:
  """`english<TAB>target[<TAB>attribution]` -> (source, target, has attribution)."""
  columns = line.split("\t")
  if not 2 <= len(columns) <= 3:
    raise ParallelCorpusError(
        f"{where}: {len(columns)} tab-separated column(s); expected "
        f"'english<TAB>translation[<TAB>attribution]': {line[:80]!r}")
  return columns[0].strip(), columns[1].strip(), len(columns) == 3


def _iter_member(zf: zipfile.ZipFile, zip_path: str, member: str,
                 stats: ReadStats) -> Iterator[Pair]:
  with zf.open(member) as f:
    yield from _iter_lines(f, f"{zip_path}: {member}", stats)


def _iter_lines(f, where: str, stats: ReadStats) -> Iterator[Pair]:
  for number, raw in enumerate(f, start=1):  # binary iteration: split on b"\n" only
    stats.lines += 1
    raw = raw.rstrip(b"\n").rstrip(b"\r")
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError:
      line = raw.decode("utf-8", errors="replace")
      stats.non_utf8.append(number)
    if not line.strip():
      stats.blank.append(number)
      continue
    source, target, attributed = parse_line(line, f"{where}: line {number}")
    stats.attributed += attributed
    if not source or not target:
      stats.empty.append(number)
      continue
    stats.pairs += 1
    yield Pair(number, source, target)


def iter_pairs(zip_path: str, corpus_format: str, stats: ReadStats | None = None) -> Iterator[Pair]:
  fmt = get_format(corpus_format)
  stats = stats if stats is not None else ReadStats()
  if not os.path.isfile(zip_path):
    raise FileNotFoundError(f"{zip_path}: no such file")
  try:
    with zipfile.ZipFile(zip_path) as zf:
      names = zf.namelist()
      if fmt.member not in names:
        raise ParallelCorpusError(
            f"{zip_path}: no member {fmt.member!r} for corpus_format {corpus_format!r}; the zip "
            f"has {names[:10]}{' ...' if len(names) > 10 else ''}")
      yield from _iter_member(zf, zip_path, fmt.member, stats)
  except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
    raise ParallelCorpusError(
        f"{zip_path}: not a complete zip archive ({type(e).__name__}: {e}); delete it and "
        "download it again") from e
  if not stats.pairs:
    raise ParallelCorpusError(f"{zip_path}: {fmt.member}: no sentence pairs in "
                              f"{stats.lines} lines")
  logging.info("%s: read %d pairs from %d lines (%d with an attribution column); skipped %d "
               "blank, %d with an empty side; %d non-UTF-8 lines decoded with replacement",
               zip_path, stats.pairs, stats.lines, stats.attributed, len(stats.blank),
               len(stats.empty), len(stats.non_utf8))


def iter_pair_files(paths, stats: ReadStats | None = None) -> Iterator[Pair]:
  """A generic `pairs` corpus (a run config's corpus mapping): plain UTF-8 files of
  `source<TAB>target[<TAB>anything]` lines, read in the order given, with the zip's policies; a
  file named by a split (`train.tsv`, `news-test.tsv`) gives its pairs that split."""
  stats = stats if stats is not None else ReadStats()
  try:
    layout = sources.layout_of(paths)
  except sources.SentenceCorpusError as e:
    raise ParallelCorpusError(str(e)) from None
  for path in paths:
    with open(path, "rb") as f:
      for pair in _iter_lines(f, path, stats):
        yield dataclasses.replace(pair, split=layout[path])
  if not stats.pairs:
    raise ParallelCorpusError(f"{', '.join(paths)}: no sentence pairs in {stats.lines} lines")
  logging.info("%s: read %d pairs from %d lines; skipped %d blank, %d with an empty side; %d "
               "non-UTF-8 lines decoded with replacement", ", ".join(paths), stats.pairs,
               stats.lines, len(stats.blank), len(stats.empty), len(stats.non_utf8))
