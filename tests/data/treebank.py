"""Tiny treebank-layout zips for tests: hand-written template trees (written for textzoo, not
taken from the Penn Treebank), in the combined/*.mrg bracketing."""
from __future__ import annotations

import random
import zipfile

DETS = ("the", "a")
NOUNS = ("dog", "cat", "bird", "man", "girl")
VERBS = ("saw", "chased", "liked", "heard")


def _np(det: str, noun: str, label: str = "NP") -> str:
  return f"({label} (DT {det}) (NN {noun}) )"


def simple_tree(det, noun, verb, det2, noun2) -> str:
  return (f"( (S \n    {_np(det, noun, 'NP-SBJ')}\n    (VP (VBD {verb}) \n      "
          f"{_np(det2, noun2)})\n    (. .) ))\n")


def passive_tree(det, noun, verb) -> str:
  """A passive with a trace: `the dog was seen *-1 .` (the -NONE- leaf is not a word)."""
  return (f"( (S \n    (NP-SBJ-1 (DT {det}) (NN {noun}) )\n    (VP (VBD was) \n      "
          f"(VP (VBN {verb}) \n        (NP (-NONE- *-1) )))\n    (. .) ))\n")


def sentences(n: int, seed: int = 0) -> list[str]:
  """n trees: mostly simple transitive clauses, every fourth a passive with a trace."""
  rng = random.Random(seed)
  trees = []
  for i in range(n):
    if i % 4 == 3:
      trees.append(passive_tree(rng.choice(DETS), rng.choice(NOUNS), rng.choice(VERBS)))
    else:
      trees.append(simple_tree(rng.choice(DETS), rng.choice(NOUNS), rng.choice(VERBS),
                               rng.choice(DETS), rng.choice(NOUNS)))
  return trees


def write_zip(path, members: dict[str, list[str]], extra: dict[str, str] | None = None) -> str:
  """members: file name (wsj_0001.mrg) -> its trees, written as treebank/combined/<name>; the
  layout of NLTK's treebank.zip (plus a tagged/ member, which the reader ignores)."""
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("treebank/combined/README", "readme")
    zf.writestr("treebank/tagged/wsj_0001.pos", "[ The/DT dog/NN ]\n")
    for name, trees in members.items():
      zf.writestr(f"treebank/combined/{name}", "\n".join(trees))
    for name, text in (extra or {}).items():
      zf.writestr(name, text)
  return str(path)


def tiny_corpus(path, n: int = 48, files: int = 3) -> str:
  """n template trees over `files` members."""
  trees = sentences(n)
  per = -(-n // files)
  return write_zip(path, {f"wsj_{i + 1:04d}.mrg": trees[i * per:(i + 1) * per]
                          for i in range(files)})


def transform(root, zip_path: str, custom_config: dict, splits=("train", "eval"),
              **example_gen_args) -> str:
  """The zip through TreebankExampleGen(**example_gen_args) -> StatisticsGen -> SchemaGen ->
  Transform (tagger preprocessing_fn) under LocalDagRunner; returns the pipeline root."""
  # pylint: disable=import-outside-toplevel
  import os
  from tfx import v1 as tfx
  from components.treebank_example_gen.component import TreebankExampleGen
  from tests.fixtures import run_local
  example_gen = TreebankExampleGen(input_base=os.path.dirname(zip_path),
                                   file_name=os.path.basename(zip_path), **example_gen_args)
  statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"],
                                    infer_feature_shape=True)
  transform_ = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema.outputs["schema"],
      preprocessing_fn="components.tagger_preprocessing.preprocessing_fn",
      custom_config=custom_config,
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=list(splits)))
  run_local(root, [example_gen, statistics, schema, transform_])
  return str(root / "root")
