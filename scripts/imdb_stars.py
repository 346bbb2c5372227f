"""Writes IMDB's star ratings as a user's own 8-class corpus: `<out>/train.jsonl` and
`<out>/test.jsonl`, one {"text", "stars"} object a line, from aclImdb_v1.tar.gz (streamed by the
IMDB reader; ratings 1-4 and 7-10, from the file names). Train it with the packaged `imdb_stars`
config, whose corpus mapping reads `imdb_stars/*.jsonl` under the data dir:

  python scripts/imdb_stars.py --data-dir ../shared/corpora --out ~/textzoo-data/imdb_stars
  textzoo run --config imdb_stars --data-dir ~/textzoo-data

Each file is written to a temp name and renamed, so a half-written file is never left behind.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from components.imdb_example_gen import reader  # noqa: E402
from pipeline import corpora  # noqa: E402


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", help="holds aclImdb_v1.tar.gz (default: textzoo's data dir)")
  parser.add_argument("--out", required=True, help="folder for train.jsonl and test.jsonl")
  args = parser.parse_args(argv)
  [tar_path] = corpora.ensure_corpus("imdb", corpora.resolve_data_dir(args.data_dir))
  os.makedirs(args.out, exist_ok=True)
  files = {s: open(os.path.join(args.out, f".{s}.jsonl.tmp"), "w", encoding="utf-8")
           for s in ("train", "test")}
  counts = collections.Counter()
  try:
    for review in reader.iter_reviews(str(tar_path)):
      files[review.split].write(json.dumps({"text": review.text, "stars": review.rating},
                                           ensure_ascii=False) + "\n")
      counts[(review.split, review.rating)] += 1
  finally:
    for f in files.values():
      f.close()
  for split in files:
    os.replace(os.path.join(args.out, f".{split}.jsonl.tmp"),
               os.path.join(args.out, f"{split}.jsonl"))
    by_star = {r: counts[(split, r)] for r in sorted({r for s, r in counts if s == split})}
    print(f"{split}.jsonl: {sum(by_star.values())} reviews; by stars {by_star}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
