"""`make bench`: runs every benchmark (each measurement in its own process, >= 3 repetitions),
then writes bench/results/bench.json and bench/results/BENCH.md (median, min, max).

  python -m bench.run --data-dir ../shared/corpora --output-dir runs/default [--reps 3] [--only preprocess,train,serve,e2e]
The e2e section reads the component wall times of the run in --output-dir from ML-Metadata
(run `make run` first); the serving section uses that run's pushed bow_bigram_binary model.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def measure(args: list[str]) -> dict:
  """Runs `python -m <args>` and returns the JSON on its RESULT line, plus the CPU seconds the
  process and all its children (Beam workers) used and its wall time: cpu / wall is how many of
  the cores it kept busy."""
  start = time.monotonic()
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  if proc.returncode or not lines:
    raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  wall = time.monotonic() - start
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  logging.info("%s: %.0fs wall, %.0fs CPU", " ".join(args[:6]), wall, cpu)
  return {**json.loads(lines[-1][len("RESULT "):]), "process_wall_s": wall, "process_cpu_s": cpu}


def summary(values: list[float]) -> dict:
  return {"median": statistics.median(values), "min": min(values), "max": max(values),
          "n": len(values)}


def bench_preprocess(cache: str, tar: str, reps: int) -> dict:
  out = {}
  for name, args in (("tft_1_worker", ["tft", "--workers", "1"]),
                     ("tft_2_workers", ["tft", "--workers", "2"]),
                     ("keras_in_memory", ["keras"])):
    runs = [measure(["bench.preprocess", *args, "--cache", cache]) for _ in range(reps)]
    out[name] = {"docs_per_s": summary([r["docs_per_s"] for r in runs]),
                 "seconds": summary([r["seconds"] for r in runs]), "docs": runs[0]["docs"],
                 "cores_busy": summary([r["process_cpu_s"] / r["process_wall_s"] for r in runs])}
  return out


def bench_train(cache: str, reps: int) -> dict:
  out = {}
  for model, steps in (("bow", 300), ("bilstm", 15)):
    for name, extra in (("bare_fit_in_memory", ["--mode", "bare"]),
                        ("mirrored_1_device", ["--mode", "mirrored", "--devices", "1"]),
                        ("mirrored_2_devices", ["--mode", "mirrored", "--devices", "2"])):
      runs = [measure(["bench.train", "--cache", cache, "--model", model, "--steps", str(steps),
                       *extra]) for _ in range(reps)]
      out[f"{model}/{name}"] = {"examples_per_s": summary([r["examples_per_s"] for r in runs]),
                                "global_batch": runs[0]["global_batch"], "steps": steps}
  return out


def bench_serve(model: str, tar: str, reps: int) -> dict:
  runs = [measure(["bench.serve", "--model", model, "--tar", tar]) for _ in range(reps)]
  batches = [b for b in runs[0] if b.isdigit()]  # measure() adds process_* keys
  return {batch: {k: summary([r[batch][k] for r in runs]) for k in runs[0][batch]}
          for batch in batches}


def bench_e2e(output_dir: str) -> dict:
  from pipeline import report
  # Real executions only: a cache hit's record says nothing about how long the step takes.
  records = report.RunRecords(os.path.join(output_dir, "metadata.sqlite"),
                              states=(report.metadata_store_pb2.Execution.COMPLETE,))
  times = {node: records.seconds(node) for node in records.executions}
  first = min(e.create_time_since_epoch for e in records.executions.values())
  last = max(e.last_update_time_since_epoch for e in records.executions.values())
  return {"components": times, "pipeline_seconds": (last - first) / 1000}


def _fmt(s: dict, unit="") -> str:
  return f"{s['median']:.1f}{unit} ({s['min']:.1f}–{s['max']:.1f})"


def markdown(results: dict) -> str:
  m = results["machine"]
  lines = ["# textzoo benchmarks", "",
           f"Machine: {m['cores']} cores, Python {m['python']}, TensorFlow {m['tensorflow']}, "
           f"no GPU. Numbers: median (min–max) of {results['reps']} runs, each in its own "
           "process.", ""]
  if "preprocess" in results:
    p = results["preprocess"]
    keras = p["keras_in_memory"]["seconds"]["median"]
    lines += ["## Preprocessing: 50 000 labelled IMDB reviews -> unigram multi-hot, bigram "
              "tf-idf, int sequences (600)", "",
              "| way | docs/s | seconds | time vs Keras in memory | cores busy (CPU s / wall s) |",
              "|---|---|---|---|---|"]
    for name, label in (("tft_1_worker", "TFT analyze + materialise, DirectRunner, 1 worker"),
                        ("tft_2_workers", "TFT analyze + materialise, DirectRunner, 2 workers"),
                        ("keras_in_memory", "Keras TextVectorization adapt + map, in memory")):
      r = p[name]
      lines.append(f"| {label} | {_fmt(r['docs_per_s'])} | {_fmt(r['seconds'])} | "
                   f"{r['seconds']['median'] / keras:.2f}x | {r['cores_busy']['median']:.2f} |")
    speedup = p["tft_1_worker"]["seconds"]["median"] / p["tft_2_workers"]["seconds"]["median"]
    lines += ["", f"2 workers vs 1: {speedup:.2f}x faster.", ""]
  if "train" in results:
    lines += ["## Training throughput (examples/s, epoch 2 of 2)", "",
              "| model | input / strategy | global batch | examples/s | vs bare fit |",
              "|---|---|---|---|---|"]
    t = results["train"]
    for key, r in t.items():
      model, name = key.split("/")
      bare = t[f"{model}/bare_fit_in_memory"]["examples_per_s"]["median"]
      lines.append(f"| {model} | {name} | {r['global_batch']} | {_fmt(r['examples_per_s'])} | "
                   f"{r['examples_per_s']['median'] / bare:.2f}x |")
    lines.append("")
  if "serve" in results:
    lines += ["## Serving: pushed bow_bigram_binary, raw-string signature, in process", "",
              "| batch | p50 ms | p95 ms | examples/s |", "|---|---|---|---|"]
    for batch, r in results["serve"].items():
      lines.append(f"| {batch} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | "
                   f"{_fmt(r['examples_per_s'])} |")
    lines.append("")
  if "e2e" in results:
    e = results["e2e"]
    lines += [f"## End to end: default `textzoo run` (one run; ML-Metadata execution records)", "",
              f"Pipeline wall time: {e['pipeline_seconds']:.0f} s", "",
              "| component | seconds |", "|---|---|"]
    lines += [f"| {n} | {s:.1f} |" for n, s in e["components"].items()]
    lines.append("")
  return "\n".join(lines)


def main():
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
  parser = argparse.ArgumentParser()
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--output-dir", default="runs/default")
  parser.add_argument("--cache", default="runs/bench-cache")
  parser.add_argument("--reps", type=int, default=3)
  parser.add_argument("--only", default="preprocess,train,serve,e2e")
  args = parser.parse_args()
  only = args.only.split(",")
  tar = os.path.abspath(os.path.join(args.data_dir, "aclImdb_v1.tar.gz"))
  cache = os.path.abspath(args.cache)
  path = os.path.join(HERE, "results", "bench.json")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  previous = {}
  if os.path.exists(path):  # --only refreshes some sections and keeps the others
    with open(path) as f:
      previous = json.load(f)

  def save():
    merged = {**previous, **{k: v for k, v in results.items() if v is not None}}
    with open(path + ".tmp", "w") as f:
      json.dump(merged, f, indent=1)
    os.replace(path + ".tmp", path)
    with open(os.path.join(HERE, "results", "BENCH.md"), "w") as f:
      f.write(markdown(merged))
    return merged

  results = {"reps": args.reps, "machine": {
      "cores": os.cpu_count(), "python": platform.python_version(),
      "tensorflow": tf.__version__}}
  if "preprocess" in only or "train" in only:
    measure(["bench.preprocess", "prepare", "--tar", tar, "--cache", cache])
  if "preprocess" in only:
    results["preprocess"] = bench_preprocess(cache, tar, args.reps)
    save()
  if "train" in only:
    if not os.path.exists(os.path.join(cache, "transform_fn")):
      measure(["bench.preprocess", "tft", "--workers", "2", "--cache", cache])
    results["train"] = bench_train(cache, args.reps)
    save()
  if "serve" in only:
    results["serve"] = bench_serve(os.path.join(args.output_dir, "serving", "bow_bigram_binary"),
                                   tar, args.reps)
    save()
  if "e2e" in only:
    results["e2e"] = bench_e2e(args.output_dir)
  print(markdown(save()))


if __name__ == "__main__":
  main()
