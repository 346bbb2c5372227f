"""Token accuracy of served taggers on a split, on the words the tagger's word vocabulary lacks
(the OOV id) and on the rest: where each model's errors are.

  .venv/bin/python scripts/tagger_errors.py --examples 'runs/treebank/pipeline/TreebankExampleGen/examples/N/Split-test/*' \
      --transform-graph runs/treebank/pipeline/Transform/transform_graph/M \
      runs/treebank/pipeline/Trainer.bigru_tagger/model/K/Format-Serving runs/treebank/serving/bigru_chars_glove
  .venv/bin/python scripts/tagger_errors.py --run runs/treebank bigru_tagger bigru_chars_glove

Words past the tagger's sequence length count as wrong, as in the Evaluator's TokenAccuracy.
"""
from __future__ import annotations

import argparse
import glob
import json

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from components import tagger_preprocessing
from pipeline import runs, serving_client


def read_split(pattern: str) -> list[tuple[list[str], list[str]]]:
  sentences = []
  for path in sorted(glob.glob(pattern)):
    for record in tf.data.TFRecordDataset(path, compression_type="GZIP"):
      feature = tf.train.Example.FromString(record.numpy()).features.feature
      sentences.append(([w.decode() for w in feature["words"].bytes_list.value],
                        [t.decode() for t in feature["tags"].bytes_list.value]))
  return sentences


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--run", help="a run's output dir: the models are then names, the examples "
                      "and Transform graph the run's")
  parser.add_argument("--split", default="test", help="with --run: the split (default test)")
  parser.add_argument("--examples", help="glob of the split's TFRecords")
  parser.add_argument("--transform-graph", help="the Transform output dir")
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("models", nargs="+", help="Format-Serving or serving dirs (with --run: "
                      "model names)")
  args = parser.parse_args()
  if args.run:
    args.examples = args.examples or runs.examples(args.run, args.split)
    args.transform_graph = args.transform_graph or runs.transform_graph(args.run)
    args.models = [runs.model_path(args.run, name)[0] for name in args.models]
  if not args.examples or not args.transform_graph:
    parser.error("give --examples and --transform-graph, or --run")
  sentences = read_split(args.examples)
  vocabulary = {w.decode() for w in tft.TFTransformOutput(args.transform_graph).vocabulary_by_name(
      tagger_preprocessing.WORD_VOCAB)}
  words = [w for s, _ in sentences for w in s]
  gold = np.array([t for _, ts in sentences for t in ts])
  oov = np.array([w not in vocabulary for w in words])
  for model_dir in args.models:
    model = serving_client.load(model_dir)
    predicted = []
    for start in range(0, len(sentences), args.batch_size):
      batch = sentences[start:start + args.batch_size]
      tags = model.predict([" ".join(s) for s, _ in batch])["tags"]
      for (s, _), row in zip(batch, tags):
        row = [t.decode() for t in row[:len(s)]]
        predicted += row + [""] * (len(s) - len(row))  # past the sequence length: wrong
    hit = np.array(predicted) == gold
    print(json.dumps({"model": model_dir, "words": len(words), "accuracy": round(hit.mean(), 4),
                      "oov_share": round(oov.mean(), 4), "oov_accuracy": round(hit[oov].mean(), 4),
                      "known_accuracy": round(hit[~oov].mean(), 4)}))


if __name__ == "__main__":
  main()
