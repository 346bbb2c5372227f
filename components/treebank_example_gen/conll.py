"""Reads tagged sentences from CoNLL-style files (a run config's `corpus: {format: conll, ...}`),
Beam-free like reader.py.

One token a line, its columns separated by tabs (or, in a file with no tab, by runs of spaces),
a blank line between sentences. CoNLL-U (10 tab-separated columns) is read as FORM and UPOS
(columns 2 and 4); its multiword-token lines (`3-4`) and empty nodes (`5.1`) are not words of the
text and are skipped. Any other file: the first column is the word and the last the tag, unless
the corpus names the columns (1-based). Comment lines start with `#` and come before a
sentence's first token (`#<TAB>#` is the token `#`); `# sent_id = <id>` names
the sentence (else `<file name>:<1-based position>`): the split hashes this id, so a treebank
converted with its ids keeps the dedicated reader's split. A file whose name is a split word
(`en_ewt-ud-train.conllu`, `dev.conll`: sources.split_of_name) gives its sentences that split.

Errors name the file and line: a token line with fewer columns than the word or tag column, a
line whose column count differs from its sentence's first line (ragged), an empty word or tag, a
line that is not UTF-8; a pattern that matches no file, or files with no sentence.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Iterator, Optional

from components.sentence_example_gen.sources import matching_files, split_of_name
from components.treebank_example_gen.reader import Sentence, TreebankError

CONLLU_COLUMNS = 10
CONLLU_FORM, CONLLU_UPOS = 2, 4  # 1-based
_SENT_ID = re.compile(r"^#\s*sent_id\s*=\s*(\S.*?)\s*$")


@dataclasses.dataclass(frozen=True)
class Columns:
  word: Optional[int] = None  # 1-based; None: CoNLL-U's FORM, else the first column
  tag: Optional[int] = None   # 1-based; None: CoNLL-U's UPOS, else the last column

  def pick(self, fields: list[str]) -> tuple[int, int]:
    """0-based (word, tag) columns for a line of these fields."""
    conllu = len(fields) == CONLLU_COLUMNS
    word = self.word or (CONLLU_FORM if conllu else 1)
    tag = self.tag or (CONLLU_UPOS if conllu else len(fields))
    return word - 1, tag - 1


def _fields(line: str) -> list[str]:
  return line.split("\t") if "\t" in line else line.split()


def is_comment(line: str, words: list) -> bool:
  """CoNLL-U's rule: `#` lines before a sentence's first token. A line `#<TAB>#` is the token
  `#` (a pound sign, as the treebank has), not a comment."""
  return not words and line.startswith("#") and (line.startswith("# ") or "\t" not in line)


def iter_file(path: str, columns: Columns = Columns()) -> Iterator[Sentence]:
  split = split_of_name(path)
  name = os.path.basename(path)
  words, tags, width, sent_id, position = [], [], None, None, 0

  def sentence():
    return dataclasses.replace(
        Sentence(sent_id or f"{name}:{position}", tuple(words), tuple(tags)), split=split)

  with open(path, "rb") as f:
    for number, raw in enumerate(f, start=1):
      where = f"{path}: line {number}"
      try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
      except UnicodeDecodeError as e:
        raise TreebankError(f"{where}: not UTF-8 at byte {e.start}") from None
      if not line.strip():
        if words:
          position += 1
          yield sentence()
        words, tags, width, sent_id = [], [], None, None
        continue
      if is_comment(line, words):
        match = _SENT_ID.match(line)
        if match:
          sent_id = match[1]
        continue
      fields = _fields(line)
      if width is None:
        width = len(fields)
      elif len(fields) != width:
        raise TreebankError(f"{where}: {len(fields)} columns, the sentence's first token line "
                            f"has {width} (a ragged line): {line[:80]!r}")
      word_at, tag_at = columns.pick(fields)
      if len(fields) < 2 or max(word_at, tag_at) >= len(fields):
        raise TreebankError(f"{where}: {len(fields)} column(s); the word is column "
                            f"{word_at + 1} and the tag column {tag_at + 1}: {line[:80]!r}")
      if len(fields) == CONLLU_COLUMNS and not fields[0].isdigit():
        continue  # a CoNLL-U multiword token (3-4) or empty node (5.1)
      word, tag = fields[word_at].strip(), fields[tag_at].strip()
      if not word or not tag:
        raise TreebankError(f"{where}: empty word or tag: {line[:80]!r}")
      words.append(word)
      tags.append(tag)
  if words:
    position += 1
    yield sentence()


def files(pattern: str) -> list[str]:
  return matching_files(pattern, TreebankError)
