"""The generic corpus readers against the dedicated ones, on the real corpora (issue 21's
acceptance): the same corpus through both, split by the same code and seed, compared record by
record as (split, label, text) multisets.

  sarcasm   the zip's JSON Lines member, unzipped, as `{format: jsonl, text: headline,
            label: is_sarcastic}`
  uci       the zip's three `sentence<TAB>label` members with a `text<TAB>label` header line
            prepended, as `{format: tsv}`
  treebank  the zip's sentences written as CoNLL (`word<TAB>tag` lines, `# sent_id = <the
            dedicated reader's id>`), as `{format: conll}`: the split hashes the id, so it can
            match exactly; compared as (split, sentence id, words, tags)

  PYTHONPATH=. .venv/bin/python -m bench.generic_readers --data-dir ../shared/corpora \\
      --scratch /tmp/generic [--write-only]

The scratch dir keeps the converted files (train the tagger on treebank.conll with
`textzoo run --config <a treebank config with corpus: {format: conll, path: <scratch>/treebank.conll}>`).
Prints one JSON object per corpus with the counts that agree and differ, and examples of each
difference.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import zipfile

import apache_beam as beam

from components.sentence_example_gen import executor as sentence_executor
from components.sentence_example_gen import reader as sentence_reader
from components.sentence_example_gen import sources
from components.sentence_example_gen.reader import SentenceCorpusError
from components.treebank_example_gen import conll
from components.treebank_example_gen import executor as treebank_executor
from components.treebank_example_gen import reader as treebank_reader
from pipeline import corpora

SEED = 42


def split_records(records, fractions, seed=SEED) -> collections.Counter:
  """records through SentenceExampleGen's own split (executor._SplitRecords) -> a Counter of
  (split, label text, text)."""
  out = tempfile.mktemp(suffix=".jsonl")
  with beam.Pipeline() as p:
    _ = (p | beam.Create(records)
         | sentence_executor._SplitRecords(fractions, seed, "bench")  # pylint: disable=protected-access
         | beam.Map(lambda kv: json.dumps([kv[0], str(kv[1].label), kv[1].text]))
         | beam.io.WriteToText(out, shard_name_template=""))
  with open(out, encoding="utf-8") as f:
    found = collections.Counter(tuple(json.loads(line)) for line in f)
  os.remove(out)
  return found


def compare(name: str, dedicated: collections.Counter, generic: collections.Counter,
            note: str = "") -> dict:
  only_dedicated, only_generic = dedicated - generic, generic - dedicated
  return {"corpus": name, "dedicated": sum(dedicated.values()), "generic": sum(generic.values()),
          "same": sum((dedicated & generic).values()),
          "only_dedicated": sum(only_dedicated.values()),
          "only_generic": sum(only_generic.values()),
          "examples": {"dedicated": [list(k) for k in list(only_dedicated)[:3]],
                       "generic": [list(k) for k in list(only_generic)[:3]]},
          **({"note": note} if note else {})}


def sarcasm(data_dir, scratch) -> dict:
  [zip_path] = corpora.ensure_corpus("sarcasm", data_dir)
  fmt = sentence_reader.get_format("sarcasm")
  jsonl = os.path.join(scratch, "sarcasm.jsonl")
  with zipfile.ZipFile(zip_path) as zf, open(jsonl, "wb") as out:
    out.write(zf.read(fmt.members[0]))
  dedicated = split_records(list(sentence_reader.iter_records(str(zip_path), "sarcasm")),
                            fmt.split_fractions)
  generic = split_records(list(sources.iter_records(sources.Source(
      "jsonl", jsonl, "headline", "is_sarcastic"))), fmt.split_fractions)
  return compare("sarcasm", dedicated, generic,
                 "the dedicated reader maps C1 control characters (Windows-1252 bytes decoded as "
                 "Latin-1 upstream) back to their characters; the generic reader keeps a user's "
                 "text as it is")


def uci(data_dir, scratch) -> dict:
  [zip_path] = corpora.ensure_corpus("uci_sentences", data_dir)
  fmt = sentence_reader.get_format("uci_sentences")
  paths = []
  with zipfile.ZipFile(zip_path) as zf:
    for member in fmt.members:
      path = os.path.join(scratch, os.path.basename(member).replace(".txt", ".tsv"))
      with open(path, "wb") as out:
        out.write(b"text\tlabel\n" + zf.read(member))
      paths.append(path)
  dedicated = split_records(list(sentence_reader.iter_records(str(zip_path), "uci_sentences")),
                            fmt.split_fractions)
  try:
    records = [r for p in paths for r in sources.iter_records(sources.Source("tsv", p))]
  except SentenceCorpusError as e:
    return {"corpus": "uci_sentences", "dedicated": sum(dedicated.values()),
            "generic_error": str(e),
            "note": "a UCI line may hold a tab inside its sentence (the label is after the last "
                    "tab); TSV has no quoting, so the generic reader refuses that line"}
  return compare("uci_sentences", dedicated, split_records(records, fmt.split_fractions))


def treebank(data_dir, scratch) -> dict:
  [zip_path] = corpora.ensure_corpus("treebank", data_dir)
  sentences = treebank_reader.read_all(str(zip_path))
  path = os.path.join(scratch, "treebank.conll")
  with open(path, "w", encoding="utf-8") as out:
    for s in sentences:
      out.write(f"# sent_id = {s.sentence_id}\n" + "".join(
          f"{w}\t{t}\n" for w, t in zip(s.words, s.tags)) + "\n")
  p = treebank_executor.checked({**treebank_executor.DEFAULTS, "split_seed": 3})

  def keyed(items):
    return collections.Counter((treebank_executor.layout_split(s, frozenset(), p),
                                s.sentence_id, " ".join(s.words), " ".join(s.tags))
                               for s in items)
  result = compare("treebank", keyed(sentences), keyed(conll.iter_file(path)))
  result.pop("examples") if not result["only_generic"] else None
  return {**result, "conll_file": path}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir")
  parser.add_argument("--scratch", required=True)
  parser.add_argument("--only", nargs="*", default=["sarcasm", "uci", "treebank"])
  args = parser.parse_args(argv)
  data_dir = corpora.resolve_data_dir(args.data_dir)
  os.makedirs(args.scratch, exist_ok=True)
  for name in args.only:
    print(json.dumps(globals()[name](data_dir, args.scratch), ensure_ascii=False), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
