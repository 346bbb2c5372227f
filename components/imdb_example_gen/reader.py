"""Streams reviews out of aclImdb_v1.tar.gz without extracting it.

Only members whose path matches `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` exactly and that
are regular files are read. Everything else -- the README, imdb.vocab, train/unsup, .feat files,
and any member with `..`, an absolute path, or a symlink/hardlink -- is never opened; unexpected
ones are counted and logged. Policies (documented in the README):
  * bytes that are not UTF-8 are decoded with U+FFFD replacement and the file is counted;
  * empty (or whitespace-only) review files are skipped and counted;
  * a missing {split}/{pos,neg} folder, a corrupt or truncated archive, or no reviews at all
    is an error naming the file.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import os
import re
import tarfile
import zlib
from typing import Iterator

MEMBER_RE = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
# Known upstream members we skip on purpose (not worth a warning).
_KNOWN_EXTRA_RE = re.compile(
    r"^aclImdb(/(README|imdb\.vocab|imdbEr\.txt)|/(train|test)(/(unsup(/.*)?|urls_\w+\.txt|"
    r"\w+\.feat|pos|neg|))?)?/?$")
LABELS = {"neg": 0, "pos": 1}
EXPECTED_FOLDERS = [(s, l) for s in ("train", "test") for l in ("neg", "pos")]


class ImdbArchiveError(ValueError):
  pass


@dataclasses.dataclass(frozen=True)
class Review:
  split: str    # upstream split: train | test
  label: int    # 1 = pos, 0 = neg
  rating: int   # 1-10, from the file name
  id: str       # e.g. "train/pos/123"
  text: str     # raw text, <br /> and all


@dataclasses.dataclass
class ReadStats:
  reviews: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  skipped_unexpected: list = dataclasses.field(default_factory=list)
  skipped_links: list = dataclasses.field(default_factory=list)
  empty: list = dataclasses.field(default_factory=list)
  non_utf8: list = dataclasses.field(default_factory=list)


def iter_reviews(tar_path: str, stats: ReadStats | None = None) -> Iterator[Review]:
  stats = stats if stats is not None else ReadStats()
  if not os.path.isfile(tar_path):
    raise FileNotFoundError(f"{tar_path}: no such file")
  try:
    with tarfile.open(tar_path, mode="r|gz") as tar:  # streaming: one pass, no random access
      for member in tar:
        match = MEMBER_RE.match(member.name)
        if not match:
          if not _KNOWN_EXTRA_RE.match(member.name):
            stats.skipped_unexpected.append(member.name)
            logging.warning("%s: skipping unexpected member %r", tar_path, member.name)
          continue
        if not member.isfile():  # symlink, hardlink, device...: never followed
          stats.skipped_links.append(member.name)
          logging.warning("%s: skipping %r: not a regular file", tar_path, member.name)
          continue
        split, polarity, number, rating = match.groups()
        raw = tar.extractfile(member).read()
        try:
          text = raw.decode("utf-8")
        except UnicodeDecodeError:
          text = raw.decode("utf-8", errors="replace")
          stats.non_utf8.append(member.name)
        if not text.strip():
          stats.empty.append(member.name)
          continue
        stats.reviews[(split, polarity)] += 1
        yield Review(split, LABELS[polarity], int(rating), f"{split}/{polarity}/{number}", text)
  except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
    raise ImdbArchiveError(
        f"{tar_path}: not a complete .tar.gz archive ({type(e).__name__}: {e}); "
        "delete it and download it again") from e
  missing = [f"aclImdb/{s}/{l}/" for s, l in EXPECTED_FOLDERS if not stats.reviews[(s, l)]]
  if missing:
    raise ImdbArchiveError(f"{tar_path}: no reviews under {', '.join(missing)} "
                           "(expected aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt)")
  logging.info(
      "%s: read %d reviews (%s); skipped %d empty, %d unexpected, %d links; "
      "%d non-UTF-8 files decoded with replacement", tar_path, sum(stats.reviews.values()),
      ", ".join(f"{s}/{l}={n}" for (s, l), n in sorted(stats.reviews.items())),
      len(stats.empty), len(stats.skipped_unexpected), len(stats.skipped_links),
      len(stats.non_utf8))
