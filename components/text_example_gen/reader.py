"""Plain text -> normalised text -> position-split chunks.

Normalisation: CRLF/CR line ends become LF; Gutenberg books keep only the text between the
`*** START OF ... ***` and `*** END OF ... ***` markers (header and licence dropped); optionally
every run of whitespace becomes one space (the seed did this for Alice). Several files are joined
in the order given, separated by one newline.

Split by position, as in seed 002: the first `train` share of the characters is train, the next
`eval` share eval, the rest test. Each split is then cut into chunks of at most `chunk_chars`
characters with their character offset, so no chunk (and no window cut later) crosses a split
boundary, and the text of a split is the concatenation of its chunks in offset order.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Iterator, Sequence

SPLITS = ("train", "eval", "test")
_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)
_END = re.compile(r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)


class CorpusFormatError(ValueError):
  pass


@dataclasses.dataclass(frozen=True)
class Chunk:
  split: str
  offset: int  # character offset within the split
  text: str


def gutenberg_body(text: str, path: str) -> str:
  start, end = _START.search(text), _END.search(text)
  if not start or not end or end.start() < start.end():
    raise CorpusFormatError(f"{path}: no '*** START OF ... ***' / '*** END OF ... ***' Project "
                            "Gutenberg markers in order; is this a Gutenberg plain-text book?")
  return text[start.end():end.start()].strip("\n") + "\n"


def normalise(text: str, collapse_whitespace: bool) -> str:
  text = text.replace("\r\n", "\n").replace("\r", "\n")
  return re.sub(r"\s+", " ", text).strip() + " " if collapse_whitespace else text


def read_text(paths: Sequence[str], gutenberg: bool, collapse_whitespace: bool) -> str:
  parts = []
  for path in paths:
    with open(path, "rb") as f:
      raw = f.read()
    try:
      text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
      raise CorpusFormatError(f"{path}: not UTF-8 at byte {e.start}: {raw[e.start:e.start + 8]!r}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts.append(gutenberg_body(text, path) if gutenberg else text)
  text = normalise("\n".join(parts), collapse_whitespace)
  if not text.strip():
    raise CorpusFormatError(f"{', '.join(paths)}: no text left after normalisation")
  return text


def split_bounds(n: int, fractions: Sequence[float]) -> list[tuple[str, int, int]]:
  """[(split, start, end)] over n characters; the last split takes the rounding remainder."""
  bounds, start = [], 0
  for i, (name, share) in enumerate(zip(SPLITS, fractions)):
    end = n if i == len(SPLITS) - 1 else start + int(round(n * share))
    bounds.append((name, start, end))
    start = end
  return bounds


def chunks(text: str, fractions: Sequence[float] = (0.9, 0.05, 0.05),
           chunk_chars: int = 4096) -> Iterator[Chunk]:
  if abs(sum(fractions) - 1) > 1e-9 or len(fractions) != len(SPLITS):
    raise ValueError(f"split fractions must be 3 shares summing to 1, got {list(fractions)}")
  for name, start, end in split_bounds(len(text), fractions):
    for offset in range(0, end - start, chunk_chars):
      yield Chunk(name, offset, text[start + offset:min(start + offset + chunk_chars, end)])
