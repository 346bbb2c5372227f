"""Builders for test inputs: tiny IMDB-layout tarballs and ExampleGen-layout artifacts."""
from __future__ import annotations

import io
import os
import tarfile

from tests.data.reviews import REVIEWS, member_name

SAMPLES_DIR = os.path.join(os.path.dirname(__file__), "data", "imdb_tiny")
SPLITS = ("train", "eval", "test")


def write_tarball(path: str, reviews=REVIEWS, extra_members=()) -> str:
  """Writes an aclImdb-layout .tar.gz. extra_members: (name, bytes | None for a symlink)."""
  with tarfile.open(path, "w:gz") as tar:
    def add(name, data):
      info = tarfile.TarInfo(name)
      if data is None:
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
      else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    add("aclImdb/README", b"readme")
    for split, polarity, number, rating, text in reviews:
      add(member_name(split, polarity, number, rating), text.encode("utf-8"))
    for name, data in extra_members:
      add(name, data)
  return path


def examples_artifact(uri: str = SAMPLES_DIR):
  """An Examples artifact over the committed tiny samples (ExampleGen's output layout)."""
  from tfx.types import artifact_utils, standard_artifacts  # pylint: disable=import-outside-toplevel
  examples = standard_artifacts.Examples()
  examples.uri = uri
  examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
  return examples
