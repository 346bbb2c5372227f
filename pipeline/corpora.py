"""Corpus registry: each corpus is a name, its canonical files (name, URL, accepted SHA-256s),
its task (pipeline.tasks) and the task's reader that turns its files into examples, with the
reader's settings. A corpus of an existing format is one more entry (or register() from outside).

The data directory is resolved as: explicit flag > $TEXTZOO_DATA_DIR > ~/.cache/textzoo.
A missing file is downloaded from its URL into a `.part` file (resumed with an HTTP Range request
when a previous attempt left one), checked against the accepted checksums, then renamed into
place, so a file under its canonical name is always complete and verified.
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Optional, Sequence

DATA_DIR_ENV = "TEXTZOO_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/textzoo")
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class CorpusFile:
  name: str
  url: Optional[str]       # None: no URL serves this exact file (see `source`)
  sha256: tuple[str, ...]  # any of these is accepted (upstream and repacked variants)
  source: str = ""         # where the file comes from, when it cannot be downloaded as is


@dataclasses.dataclass(frozen=True)
class Corpus:
  name: str
  description: str
  files: tuple[CorpusFile, ...]
  task: Optional[str] = None  # None: not a training corpus (GloVe vectors)
  reader: str = ""            # one of the task's readers
  settings: Mapping = dataclasses.field(default_factory=dict)  # the reader's keyword arguments


def _file(name: str, url: Optional[str], *sha256: str, source: str = "") -> CorpusFile:
  return CorpusFile(name, url, tuple(sha256), source)


REGISTRY: dict[str, Corpus] = {c.name: c for c in [
    Corpus("imdb", "IMDB Large Movie Review Dataset v1.0, labelled part (Maas et al. 2011)", (
        _file("aclImdb_v1.tar.gz", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
              # Stanford's original, and the repack without train/unsup and .feat files.
              "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
              "cd1b784c5bb7151623ede1b70b31dd44cc1df37aaab147dcf22be89fb189429d"),),
        "classification", "imdb_tarball", {"file_name": "aclImdb_v1.tar.gz"}),
    Corpus("tinyshakespeare", "Tiny Shakespeare (Karpathy's char-rnn)", (
        _file("tinyshakespeare.txt",
              "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
              "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
        "char_lm", "text_files", {"pattern": "tinyshakespeare.txt", "gutenberg": False}),
    Corpus("alice", "Alice's Adventures in Wonderland + Through the Looking-Glass (Gutenberg #11, #12)", (
        _file("pg11.txt", "https://www.gutenberg.org/files/11/11.txt",
              "0f9ea0b148d553177962a25edd2f56d36342c22576a3253a127b4fbeffa5687d"),
        _file("pg12.txt", "https://www.gutenberg.org/files/12/12.txt",
              "437f45661617ec09cf765e0ba51b90664427c318f9273bd45b907c145f41798f")),
        "char_lm", "text_files", {"pattern": "pg1[12].txt", "gutenberg": True}),
    Corpus("uci_sentences", "UCI Sentiment Labelled Sentences (Kotzias et al. 2015)", (
        _file("sentiment labelled sentences.zip",
              "https://archive.ics.uci.edu/ml/machine-learning-databases/00331/sentiment%20labelled%20sentences.zip",
              "fdf8d842c4d7e220e51704bd7fa6f9642fedb26dd0d93036485c9469e3e27644"),),
        "classification", "labelled_sentences", {"corpus_format": "uci_sentences"}),
    Corpus("treebank", "NLTK Penn Treebank 10% sample (WSJ 0001-0199)", (
        _file("treebank.zip",
              "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/treebank.zip",
              "9da92d76c3666cfb6cddeaed0f7e86b344cce0f0928a286d439e555f19c37399"),),
        "tagging", "treebank_zip"),
    Corpus("spa_eng", "Tatoeba English-Spanish pairs (manythings.org)", (
        _file("spa-eng.zip", "http://www.manythings.org/anki/spa-eng.zip",
              "4e3a64b734fb0736b3b0cf35c7aebb3e1f82e537e1b68c36f0cfd4854929b5b6"),),
        "translation", "parallel_zip", {"corpus_format": "spa_eng"}),
    Corpus("fra_eng", "Tatoeba English-French pairs (manythings.org)", (
        _file("fra-eng.zip", "http://www.manythings.org/anki/fra-eng.zip",
              "3f41468428fad86f9d07e9b7ec56be249bc3288d402cda5e2a8a0c7d5a20cdba"),),
        "translation", "parallel_zip", {"corpus_format": "fra_eng"}),
    Corpus("sarcasm", "News Headlines for Sarcasm Detection v1 (Misra)", (
        _file("Sarcasm_Headlines_Dataset.json.zip",
              "https://github.com/rishabhmisra/News-Headlines-Dataset-For-Sarcasm-Detection/raw/master/Sarcasm_Headlines_Dataset.json.zip",
              "0c4e1d495d237a65e9593c92fee279243aaeda21b9c2feff3618583526daf29c"),),
        "classification", "labelled_sentences", {"corpus_format": "sarcasm"}),
    Corpus("glove_6b_50d", "GloVe 6B 50-d vectors, 100k most frequent words", (
        _file("glove.6B.50d.top100k.zip", None,
              "862e0b8bc80fec29faa374354dc0a6a7efa5505ca25e77b227733823b14c0675",
              source="the first 100 000 lines of glove.6B.50d.txt from "
                     "https://nlp.stanford.edu/data/glove.6B.zip, zipped"),)),
]}


class CorpusError(RuntimeError):
  """A corpus file is missing, unreachable or not what its checksum says."""


# A run config's `corpus:` may be a mapping instead of a name: the user's own files in a generic
# format (components/sentence_example_gen/sources.py), read by the format's task's `generic`
# reader. Format -> the task it implies.
GENERIC_FORMATS = {"csv": "classification", "tsv": "classification", "jsonl": "classification",
                   "class_folders": "classification", "text": "char_lm", "pairs": "translation",
                   "conll": "tagging"}
COLUMN_FORMATS = ("csv", "tsv", "jsonl", "conll")  # those whose `text` / `label` name columns
LABEL_FORMATS = ("csv", "tsv", "jsonl", "class_folders")  # those with a class label
GENERIC_READER = "generic"


def generic(spec: Mapping) -> Corpus:
  """The corpus of a `corpus: {format: ..., path: ...}` mapping (validated by pipeline.config):
  no registered files (a local path needs no checksum); its settings are the mapping."""
  spec = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
  settings = {k: v for k, v in spec.items() if v is not None and k != "task"}
  return Corpus(f"{spec['format']}:{spec['path']}", f"{spec['format']} file(s) {spec['path']}",
                (), GENERIC_FORMATS[spec["format"]], GENERIC_READER, settings)


def generic_path(path: str, data_dir) -> Path:
  """A generic corpus's path: absolute as given, else relative to the data directory."""
  path = Path(os.path.expanduser(path))
  return path if path.is_absolute() else Path(data_dir) / path


def corpus_of(value) -> Corpus:
  """A run config's corpus: a registered name, or a generic corpus mapping."""
  return get_corpus(value) if isinstance(value, str) else generic(value)


def register(corpus: Corpus) -> Corpus:
  REGISTRY[corpus.name] = corpus
  return corpus


def training_corpora() -> list[str]:
  """The corpora a run can train on (those with a task), in registry order."""
  return [name for name, corpus in REGISTRY.items() if corpus.task]


def get_corpus(name: str) -> Corpus:
  if name not in REGISTRY:
    raise CorpusError(f"unknown corpus {name!r}; valid names: {', '.join(sorted(REGISTRY))}")
  return REGISTRY[name]


def resolve_data_dir(flag: Optional[str] = None) -> Path:
  """The data directory: the flag, else $TEXTZOO_DATA_DIR, else ~/.cache/textzoo."""
  chosen = flag or os.environ.get(DATA_DIR_ENV) or str(DEFAULT_DATA_DIR)
  return Path(chosen).expanduser().resolve()


def sha256_of(path: Path) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(_CHUNK), b""):
      digest.update(chunk)
  return digest.hexdigest()


def ensure_corpus(name, data_dir: Path, verify: bool = True) -> list[Path]:
  """Returns the paths of the corpus files in data_dir, downloading missing ones (a generic
  corpus: the files its path matches; none is an error naming the path)."""
  corpus = corpus_of(name)
  if corpus.reader == GENERIC_READER:
    pattern = generic_path(corpus.settings["path"], data_dir)
    found = sorted(Path(p) for p in glob.glob(str(pattern)))
    if not found:
      raise CorpusError(f"corpus {corpus.name}: {pattern} does not exist")
    return found
  return [ensure_file(f, data_dir, verify) for f in corpus.files]


def ensure_file(spec: CorpusFile, data_dir: Path, verify: bool = True) -> Path:
  path = data_dir / spec.name
  if path.exists():
    if verify:
      _check_sha256(path, spec, delete_on_mismatch=False)
    return path
  if spec.url is None:
    raise CorpusError(
        f"{spec.name} is not in {data_dir} and has no download URL (it is {spec.source}). "
        f"Put the file there, or point --data-dir / ${DATA_DIR_ENV} at a folder that has it.")
  data_dir.mkdir(parents=True, exist_ok=True)
  part = path.with_name(path.name + ".part")
  try:
    try:
      _download(spec.url, part)
    except urllib.error.HTTPError as e:
      if e.code != 416:  # 416: the .part left over is already whole (or longer): start over
        raise
      part.unlink(missing_ok=True)
      _download(spec.url, part)
  except (urllib.error.URLError, OSError) as e:
    raise CorpusError(
        f"{spec.name} is not in {data_dir} and could not be downloaded from {spec.url} ({e}). "
        f"Put the file there, or point --data-dir / ${DATA_DIR_ENV} at a folder that has it."
    ) from e
  if verify:
    _check_sha256(part, spec, delete_on_mismatch=True)
  os.replace(part, path)
  logging.info("downloaded %s -> %s", spec.url, path)
  return path


def _check_sha256(path: Path, spec: CorpusFile, delete_on_mismatch: bool) -> None:
  actual = sha256_of(path)
  if actual in spec.sha256:
    return
  if delete_on_mismatch:
    path.unlink(missing_ok=True)
  raise CorpusError(
      f"{path}: SHA-256 {actual} does not match the expected "
      f"{' or '.join(spec.sha256)} for {spec.name} ({spec.url})"
      + ("; the partial download was deleted" if delete_on_mismatch else
         "; delete the file to download it again"))


def _download(url: str, part: Path, timeout: float = 30.0) -> None:
  """Downloads url into part, resuming from part's current size when the server allows it."""
  have = part.stat().st_size if part.exists() else 0
  request = urllib.request.Request(url, headers={"User-Agent": "textzoo"})
  if have:
    request.add_header("Range", f"bytes={have}-")
  with urllib.request.urlopen(request, timeout=timeout) as response:
    resumed = have and response.status == 206
    if have and not resumed:
      logging.info("%s: server ignored the resume request; restarting", url)
      have = 0
    total = response.headers.get("Content-Length")
    total = int(total) + have if total else None
    logging.info("downloading %s%s", url, f" (resuming at {have} bytes)" if have else "")
    done, last_log = have, 0.0
    with open(part, "ab" if resumed else "wb") as out:
      for chunk in iter(lambda: response.read(_CHUNK), b""):
        out.write(chunk)
        done += len(chunk)
        if time.monotonic() - last_log > 2 or (total and done == total):
          last_log = time.monotonic()
          pct = f"{100 * done / total:5.1f}% of {total / 1e6:.1f} MB" if total else ""
          logging.info("  %s: %.1f MB %s", part.name, done / 1e6, pct)
    if total is not None and done != total:
      raise OSError(f"connection closed after {done} of {total} bytes")


def describe(names: Sequence[str] = ()) -> str:
  rows = [f"{c.name:16} {', '.join(f.name for f in c.files):40} {c.description}"
          for c in REGISTRY.values() if not names or c.name in names]
  return "\n".join(rows)
