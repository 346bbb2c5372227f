"""Labelled texts in the generic formats a user's own data comes in (a run config's
`corpus: {format: ..., path: ..., text: ..., label: ...}`), Beam-free like reader.py:

  csv            a header line, then one record a line (RFC 4180 quoting: a quoted field may span
                 lines); `text` and `label` name the columns.
  tsv            the same with tabs and no quoting (text/tab-separated-values: a field has no tab
                 or line end, and a quote is a plain character).
  jsonl          one JSON object a line; `text` and `label` name the keys (a label may be a
                 string, an integer or a boolean; it is kept as its text).
  class_folders  `<root>/<class>/*.txt` or `<root>/<split>/<class>/*.txt`, one text a file, as
                 keras.utils.text_dataset_from_directory reads; `path` is a directory, a .tar.gz /
                 .tgz / .tar (streamed, never extracted) or a .zip. A common leading folder
                 (aclImdb/) is skipped.

`path` may be a glob (csv/tsv/jsonl): every file it matches is read, in name order. A file whose
name (stem, or its last `_`/`-`/`.` part) is a split word (train, eval, valid, validation, dev,
test) gives its records that split, as split folders do; then every file must have one.

Labels are strings; `labels`, when given, is the full label list and any other label is an
error. Policies: an error naming the file and line for a missing column or key, an empty or
missing label, a label not in `labels`, a line that is not UTF-8, invalid JSON or a record that
is not an object, a text that is not a string, a class folder with no files, a file outside the
class layout; skipped and counted (as the built-in readers do): a record whose text is empty
after stripping, a blank line.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import logging
import os
import re
import tarfile
import zipfile
from typing import Iterator, Optional, Sequence

from components.sentence_example_gen.reader import (Record, ReadStats, SentenceCorpusError,
                                                    json_object)

FORMATS = ("csv", "tsv", "jsonl", "class_folders")
SPLIT_WORDS = {"train": "train", "eval": "eval", "valid": "eval", "validation": "eval",
               "dev": "eval", "test": "test"}
TEXT_SUFFIX = ".txt"


@dataclasses.dataclass(frozen=True)
class Source:
  format: str
  path: str                       # absolute; a glob for csv/tsv/jsonl
  text: str = "text"              # column or key (csv/tsv/jsonl)
  label: str = "label"
  labels: tuple[str, ...] = ()    # the full label list, when the user gives one

  def __post_init__(self):
    if self.format not in FORMATS:
      raise ValueError(f"unknown format {self.format!r}; valid: {', '.join(FORMATS)}")


def from_settings(settings: dict) -> Source:
  return Source(settings["format"], settings["path"], settings.get("text", "text"),
                settings.get("label", "label"), tuple(settings.get("labels") or ()))


def split_of_name(path: str) -> str:
  """The split a file's name gives ('' for none): its stem, or the stem's last part."""
  stem = os.path.basename(path).split(".")[0].lower()
  return SPLIT_WORDS.get(stem) or SPLIT_WORDS.get(re.split(r"[_\-]", stem)[-1], "")


def layout_of(paths: Sequence[str]) -> dict:
  """path -> the split its name gives ('' for none); an error when some files name one and
  some do not."""
  splits = {p: split_of_name(p) for p in paths}
  if len(set(bool(s) for s in splits.values())) > 1:
    raise SentenceCorpusError(
        f"some files name a split and some do not: {splits}; name every file by its split "
        f"({', '.join(SPLIT_WORDS)}) or none")
  return splits


def _lines(path: str, stats: ReadStats) -> Iterator[tuple[int, str]]:
  """(line number, text) of a file, LF-split (a trailing CR dropped), UTF-8 (a BOM dropped)."""
  with open(path, "rb") as f:
    for number, raw in enumerate(f, start=1):
      stats.lines += 1
      raw = raw.rstrip(b"\n").rstrip(b"\r")
      if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
      try:
        yield number, raw.decode("utf-8")
      except UnicodeDecodeError as e:
        raise SentenceCorpusError(f"{path}: line {number}: not UTF-8 at byte {e.start}: "
                                  f"{raw[max(0, e.start - 8):e.start + 8]!r}") from None


def _label(value, where: str, labels: Sequence[str]) -> str:
  if isinstance(value, bool):
    value = int(value)
  if not isinstance(value, (str, int)) or not str(value).strip():
    raise SentenceCorpusError(f"{where}: label {value!r} is empty or not a string or integer")
  label = str(value).strip()
  if labels and label not in labels:
    raise SentenceCorpusError(f"{where}: label {label!r} is not one of the config's labels "
                              f"{list(labels)}")
  return label


def _record(path: str, line: int, text, label, source: Source, split: str,
            stats: ReadStats) -> Optional[Record]:
  where = f"{path}: line {line}"
  if not isinstance(text, str):
    raise SentenceCorpusError(f"{where}: {source.text} is a {type(text).__name__}, not a string")
  label = _label(label, where, source.labels)
  text = text.strip()
  if not text:
    stats.empty.append((path, line))
    return None
  stats.records[label] += 1
  return Record(path, line, label, text, split)


def _delimited(path: str, source: Source, split: str, stats: ReadStats) -> Iterator[Record]:
  numbered = _lines(path, stats)
  current = [0]

  def text_lines():
    for number, line in numbered:
      current[0] = number
      yield line + "\n"  # the csv module keeps a quoted field's line ends only when given them

  rows = csv.reader(text_lines(), delimiter=",") if source.format == "csv" else \
      csv.reader(text_lines(), delimiter="\t", quoting=csv.QUOTE_NONE)
  header = next(rows, None)
  if not header:
    raise SentenceCorpusError(f"{path}: empty file; expected a header line")
  missing = [c for c in (source.text, source.label) if c not in header]
  if missing:
    raise SentenceCorpusError(f"{path}: line 1: no column(s) {missing}; the header has {header}")
  text_at, label_at = header.index(source.text), header.index(source.label)
  for row in rows:
    if not row or not any(cell.strip() for cell in row):
      stats.blank.append((path, current[0]))
      continue
    if len(row) != len(header):
      raise SentenceCorpusError(f"{path}: line {current[0]}: {len(row)} fields, the header has "
                                f"{len(header)}")
    record = _record(path, current[0], row[text_at], row[label_at], source, split, stats)
    if record:
      yield record


def _jsonl(path: str, source: Source, split: str, stats: ReadStats) -> Iterator[Record]:
  for number, line in _lines(path, stats):
    if not line.strip():
      stats.blank.append((path, number))
      continue
    value = json_object(line, f"{path}: line {number}", (source.text, source.label))
    record = _record(path, number, value[source.text], value[source.label], source, split, stats)
    if record:
      yield record


def matching_files(pattern: str, error: type = SentenceCorpusError) -> list[str]:
  """The files a generic corpus's path (a glob) matches, by name; none is `error`."""
  paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
  if not paths:
    raise error(f"{pattern}: no such file")
  return paths


# --- class folders -------------------------------------------------------------------------------

def _archive_members(path: str) -> Iterator[tuple[str, Optional[bytes]]]:
  """(relative name, content) of every file under path; content None for a directory entry."""
  if os.path.isdir(path):
    for root, dirs, files in os.walk(path):
      dirs.sort()
      rel = os.path.relpath(root, path)
      if not files and not dirs:
        yield rel.replace(os.sep, "/") + "/", None
      for name in sorted(files):
        with open(os.path.join(root, name), "rb") as f:
          yield os.path.relpath(os.path.join(root, name), path).replace(os.sep, "/"), f.read()
  elif path.endswith(".zip"):
    with zipfile.ZipFile(path) as zf:
      for info in zf.infolist():
        yield info.filename, None if info.is_dir() else zf.read(info)
  elif path.endswith((".tar.gz", ".tgz", ".tar")):
    with tarfile.open(path, "r|*") as tf:  # a stream: members in archive order, no seeking
      for member in tf:
        if member.isdir():
          yield member.name + "/", None
        elif member.isfile():
          yield member.name, tf.extractfile(member).read()
  else:
    raise SentenceCorpusError(f"{path}: class_folders needs a directory, a .zip, or a .tar.gz / "
                              ".tgz / .tar archive")


def _class_folders(path: str, source: Source, stats: ReadStats) -> Iterator[Record]:
  """Two passes over the names would read an archive twice, so records are gathered first (a
  folder corpus is read by one worker, as a zip corpus is)."""
  if not os.path.exists(path):
    raise SentenceCorpusError(f"{path}: no such file or directory")
  texts, folders = [], set()
  for name, content in _archive_members(path):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
      raise SentenceCorpusError(f"{path}: unsafe member name {name!r}; refusing the archive")
    if content is None:
      folders.add(tuple(parts))
    elif name.endswith(TEXT_SUFFIX):
      texts.append((parts, content))
  if not texts:
    raise SentenceCorpusError(f"{path}: no {TEXT_SUFFIX} files")
  prefix = _common_folder(texts)
  with_split = all(len(p) - prefix == 3 and p[prefix].lower() in SPLIT_WORDS for p, _ in texts)
  depth = 3 if with_split else 2
  classes = set()
  for parts, content in texts:
    rel = parts[prefix:]
    if len(rel) != depth:
      raise SentenceCorpusError(
          f"{path}: {'/'.join(parts)} is not <class>/<file>{TEXT_SUFFIX} or "
          f"<split>/<class>/<file>{TEXT_SUFFIX} (split one of {', '.join(SPLIT_WORDS)})")
    classes.add(tuple(parts[:-1]))
  empty = sorted("/".join(f) for f in folders
                 if len(f) == prefix + depth - 1 and f not in classes
                 and (not with_split or f[prefix].lower() in SPLIT_WORDS))
  if empty:
    raise SentenceCorpusError(f"{path}: class folder(s) with no {TEXT_SUFFIX} files: {empty}")
  for parts, content in texts:
    rel = parts[prefix:]
    split = SPLIT_WORDS[rel[0].lower()] if with_split else ""
    where = f"{path}: {'/'.join(parts)}"
    stats.lines += 1
    try:
      text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
      raise SentenceCorpusError(f"{where}: not UTF-8 at byte {e.start}") from None
    record = _record(where, 1, text, rel[-2], source, split, stats)
    if record:
      yield dataclasses.replace(record, source="/".join(parts), line=0)


def _common_folder(texts: list) -> int:
  """How many leading folders every file shares (aclImdb/ of aclImdb/train/pos/1_7.txt)."""
  prefix = 0
  first = texts[0][0]
  while all(len(p) > prefix + 2 and p[prefix] == first[prefix] for p, _ in texts) \
      and first[prefix].lower() not in SPLIT_WORDS:
    prefix += 1
  return prefix


def iter_records(source: Source, stats: Optional[ReadStats] = None) -> Iterator[Record]:
  """Every record of the source, with its layout split ('' when the layout has none)."""
  stats = stats if stats is not None else ReadStats()
  if source.format == "class_folders":
    yield from _class_folders(source.path, source, stats)
  else:
    paths = matching_files(source.path)
    try:
      splits = layout_of(paths)
    except SentenceCorpusError as e:
      raise SentenceCorpusError(f"{source.path}: {e}") from None
    read = _jsonl if source.format == "jsonl" else _delimited
    for path in paths:
      yield from read(path, source, splits[path], stats)
  if len(stats.records) < 2:
    raise SentenceCorpusError(f"{source.path}: {len(stats.records)} label(s) "
                              f"{sorted(stats.records)}; a classifier needs at least 2")
  logging.info("%s: read %d texts, %d labels (%s); skipped %d empty, %d blank", source.path,
               sum(stats.records.values()), len(stats.records),
               ", ".join(f"{k}: {v}" for k, v in sorted(stats.records.items())),
               len(stats.empty), len(stats.blank))
