"""Reads the tagged sentences of the Penn Treebank sample (`treebank.zip`, NLTK's corpus) out of
the zip without extracting it.

Source: `treebank/combined/wsj_*.mrg`, bracketed parse trees (199 files, 3 914 sentences). Trees
are cut and parsed by NLTK as its BracketParseCorpusReader does (a tree starts at every
unindented "(": `read_regexp_block`; `nltk.tree.Tree.fromstring`), and a sentence's words and
tags are the tree's `pos()`. The reader itself is not used: NLTK 3.10's path sandbox refuses a
corpus reader over a file outside `nltk.data.path`, and its `_parse` silently "recovers" a
malformed tree as a flat one, where this module fails.

drop_none (default on): leaves tagged `-NONE-` are the treebank's empty elements (traces `*T*-1`,
the null complementiser `0`, ...), which are not words of the text. A tagger serving raw sentences
never sees them, and they are 6.5 % of the sample's leaves (6 592 of 100 676), nearly all
predictable from their form (`*`, `*T*-1`, `0`), which would inflate token accuracy; so by default
they are dropped (nltk's `treebank.tagged_sents()`, which the seed used, keeps them).

Policies: an error naming the zip, the member, the tree's position (1-based) and its first line
for a tree NLTK cannot parse or one with a word outside a one-word preterminal; an error naming the
zip for a missing or corrupt zip, an unsafe member name, no `.mrg` member or no sentence at all.
A sentence left with no words after dropping empty elements is skipped and counted.
"""
from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import zipfile
import zlib
from typing import Iterator, Optional

from nltk.corpus.reader.util import read_regexp_block
from nltk.tree import Tree

FILE_NAME = "treebank.zip"
MEMBER_PATTERN = re.compile(r"^treebank/combined/wsj_\d+\.mrg$")
NONE_TAG = "-NONE-"


class TreebankError(ValueError):
  pass


@dataclasses.dataclass(frozen=True)
class Sentence:
  sentence_id: str  # "<member file name>:<1-based tree position>", e.g. "wsj_0001.mrg:2"
  words: tuple[str, ...]
  tags: tuple[str, ...]
  split: str = ""  # the split a generic CoNLL file's name gives it (conll.py); '' for none


@dataclasses.dataclass
class ReadStats:
  trees: int = 0
  none_dropped: int = 0   # -NONE- leaves dropped
  empty_skipped: int = 0  # sentences with no word left


def members(zip_path: str) -> list[str]:
  """The zip's parse-tree members, in name order."""
  with _open(zip_path) as zf:
    names = zf.namelist()
  unsafe = [n for n in names
            if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/")]
  if unsafe:
    raise TreebankError(f"{zip_path}: unsafe member name(s) {unsafe[:5]} (absolute or with "
                        "'..'); refusing the archive")
  found = sorted(n for n in names if MEMBER_PATTERN.match(n))
  if not found:
    raise TreebankError(f"{zip_path}: no treebank/combined/wsj_*.mrg members; the zip has "
                        f"{names[:10]}{' ...' if len(names) > 10 else ''}")
  return found


def _open(zip_path: str) -> zipfile.ZipFile:
  if not os.path.isfile(zip_path):
    raise FileNotFoundError(f"{zip_path}: no such file")
  try:
    return zipfile.ZipFile(zip_path)
  except (zipfile.BadZipFile, OSError) as e:
    raise TreebankError(f"{zip_path}: not a zip archive ({e}); delete it and download it "
                        "again") from e


def _check_preterminals(tree: Tree) -> Optional[str]:
  """What is wrong with a tree whose words are not each the one child of a tag, else None."""
  for node in tree.subtrees():
    if any(isinstance(c, str) for c in node) and len(node) != 1:
      return f"node {node.label()!r} mixes words and subtrees or has several words: {node}"[:200]
  return None


def parse_member(text: str, where: str, member: str, drop_none: bool = True,
                 stats: Optional[ReadStats] = None) -> Iterator[Sentence]:
  """The sentences of one .mrg file's text; `where` names it in errors."""
  stats = stats if stats is not None else ReadStats()
  stream = io.StringIO(text)
  file_name = member.rsplit("/", 1)[-1]
  position = 0
  while True:
    offset = stream.tell()
    block = read_regexp_block(stream, start_re=r"^\(")  # BracketParseCorpusReader's default
    if not block:
      return
    position += 1
    line = text.count("\n", 0, text.find(block[0], offset)) + 1
    first = block[0].strip().splitlines()[0][:80]
    try:
      tree = Tree.fromstring(block[0])
    except ValueError as e:
      raise TreebankError(f"{where}: tree {position} (from line {line}, {first!r}) is malformed: "
                          f"{str(e).splitlines()[0]}") from e
    problem = _check_preterminals(tree)
    if problem:
      raise TreebankError(f"{where}: tree {position} (from line {line}, {first!r}) is "
                          f"malformed: {problem}")
    stats.trees += 1
    pairs = tree.pos()
    if drop_none:
      kept = [(w, t) for w, t in pairs if t != NONE_TAG]
      stats.none_dropped += len(pairs) - len(kept)
      pairs = kept
    if not pairs:
      stats.empty_skipped += 1
      continue
    words, tags = zip(*pairs)
    yield Sentence(f"{file_name}:{position}", tuple(words), tuple(tags))


def iter_sentences(zip_path: str, member: str, drop_none: bool = True,
                   stats: Optional[ReadStats] = None) -> Iterator[Sentence]:
  """The sentences of one member of the zip."""
  where = f"{zip_path}: {member}"
  try:
    with _open(zip_path) as zf:
      raw = zf.read(member)
  except KeyError as e:
    raise TreebankError(f"{where}: no such member") from e
  except (zipfile.BadZipFile, zlib.error, EOFError) as e:
    raise TreebankError(f"{where}: not a complete zip archive ({type(e).__name__}: {e}); "
                        "delete it and download it again") from e
  try:
    text = raw.decode("utf-8")
  except UnicodeDecodeError as e:  # the sample is ASCII
    raise TreebankError(f"{where}: not UTF-8 text ({e})") from e
  yield from parse_member(text, where, member, drop_none, stats)


def read_all(zip_path: str, drop_none: bool = True) -> list[Sentence]:
  """Every sentence of the zip (for tests and analysis; the executor reads per member)."""
  stats = ReadStats()
  sentences = [s for m in members(zip_path) for s in iter_sentences(zip_path, m, drop_none, stats)]
  if not sentences:
    raise TreebankError(f"{zip_path}: no sentences")
  logging.info("%s: %d sentences from %d trees; %d -NONE- leaves dropped, %d empty sentences "
               "skipped", zip_path, len(sentences), stats.trees, stats.none_dropped,
               stats.empty_skipped)
  return sentences
