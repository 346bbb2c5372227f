"""Seed 000's notebook way (DLwP ch. 11), timed: the three bag-of-words MLPs with Keras
TextVectorization adapted in memory and `fit` on the mapped text datasets, no TFX.

  python -m bench.seed_bow --data-dir ../shared/corpora [--epochs 10]

The side-by-side reference of `textzoo run` (default config): the same reviews, the same
train/eval split (ImdbExampleGen's seeded hash, 20 % to eval), the same model, 10 epochs each,
the best epoch's weights (the notebook's ModelCheckpoint(save_best_only)) evaluated on the
25 000 test reviews. Prints one RESULT line of JSON: wall seconds per stage and test accuracy.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time

BATCH = 32
ENCODINGS = (  # name, TextVectorization arguments (the notebook's three)
    ("unigram_multi_hot", {"output_mode": "multi_hot"}),
    ("bigram_multi_hot", {"output_mode": "multi_hot", "ngrams": 2}),
    ("bigram_tfidf", {"output_mode": "tf_idf", "ngrams": 2}))


def read_imdb(data_dir: str, eval_percent: int = 20, seed: int = 42) -> dict:
  """split -> (texts, labels), split as ImdbExampleGen splits (components/imdb_example_gen)."""
  from components.imdb_example_gen import executor, reader
  from pipeline import corpora
  [path] = corpora.ensure_corpus("imdb", corpora.resolve_data_dir(data_dir))
  splits = {"train": ([], []), "eval": ([], []), "test": ([], [])}
  for review in reader.iter_reviews(str(path)):
    texts, labels = splits[executor.assign_split(review, seed, eval_percent)]
    texts.append(review.text)
    labels.append(review.label)
  return splits


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--epochs", type=int, default=10)
  args = parser.parse_args()
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
  start = time.monotonic()
  import keras
  import tensorflow as tf
  from trainers import bow_mlp
  keras.utils.set_random_seed(42)
  splits = read_imdb(args.data_dir)
  # The tarball holds each class in one run; text_dataset_from_directory shuffles, so do we.
  datasets = {name: tf.data.Dataset.from_tensor_slices(data) for name, data in splits.items()}
  datasets = {name: (ds.shuffle(len(splits[name][0]), seed=42) if name == "train" else ds)
              .batch(BATCH) for name, ds in datasets.items()}
  result = {"read_s": round(time.monotonic() - start, 1), "models": {}}
  logging.info("read %s reviews in %.1fs", {k: len(v[0]) for k, v in splits.items()},
               result["read_s"])
  for name, options in ENCODINGS:
    t0 = time.monotonic()
    vectorize = keras.layers.TextVectorization(max_tokens=20000, **options)
    vectorize.adapt(datasets["train"].map(lambda x, y: x))
    mapped = {split: ds.map(lambda x, y: (vectorize(x), y), num_parallel_calls=4)
              for split, ds in datasets.items()}
    t1 = time.monotonic()
    model = bow_mlp.build_model(vectorize.vocabulary_size(), sparse=False)
    with tempfile.TemporaryDirectory() as tmp:
      best = os.path.join(tmp, f"{name}.keras")
      model.fit(mapped["train"], validation_data=mapped["eval"], epochs=args.epochs, verbose=2,
                callbacks=[keras.callbacks.ModelCheckpoint(best, save_best_only=True,
                                                           monitor="val_accuracy")])
      t2 = time.monotonic()
      model = keras.models.load_model(best)
    _, accuracy = model.evaluate(mapped["test"], verbose=0)
    t3 = time.monotonic()
    result["models"][name] = {"adapt_s": round(t1 - t0, 1), "fit_s": round(t2 - t1, 1),
                              "evaluate_s": round(t3 - t2, 1), "test_accuracy": accuracy}
    logging.info("%s: %s", name, result["models"][name])
  result["wall_s"] = round(time.monotonic() - start, 1)
  print("RESULT " + json.dumps(result))


if __name__ == "__main__":
  main()
