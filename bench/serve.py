"""Serving latency of a pushed model's raw-string signature: p50/p95 per call and throughput
for batch sizes 1, 32, 256 (real IMDB test reviews).

  python -m bench.serve --model runs/default/serving/bow_bigram_binary --tar aclImdb_v1.tar.gz
"""
from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--model", required=True)
  parser.add_argument("--tar", required=True)
  args = parser.parse_args()
  from components.imdb_example_gen import reader
  from pipeline import serving_client
  model = serving_client.load(args.model)
  texts = [r.text for r in itertools.islice(
      (r for r in reader.iter_reviews(args.tar) if r.split == "test"), 2560)]
  results = {}
  for batch, calls in ((1, 300), (32, 100), (256, 20)):
    model.predict(texts[:batch])  # warm-up (traces the signature for this shape)
    latencies = []
    for i in range(calls):
      start = (i * batch) % (len(texts) - batch)
      t0 = time.perf_counter()
      model.predict(texts[start:start + batch])
      latencies.append(time.perf_counter() - t0)
    ms = np.array(latencies) * 1000
    results[batch] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
                      "examples_per_s": batch * calls / float(np.sum(latencies))}
  print("RESULT " + json.dumps(results))


if __name__ == "__main__":
  main()
