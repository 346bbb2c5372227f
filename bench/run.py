"""`make bench`: runs every benchmark (each measurement in its own process, >= 3 repetitions),
then writes bench/results/bench.json and bench/results/BENCH.md (median, min, max).

  python -m bench.run --data-dir ../shared/corpora --output-dir runs/default [--reps 3]
                      [--only cores,preprocess,train,serve,e2e,side_by_side]
The e2e section runs the default pipeline --reps times from an empty --e2e-dir and reads the
component wall times from ML-Metadata; the serving section uses the pushed bow_bigram_binary
model of the run in --output-dir (run `make run` first).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
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


PREPROCESS_WAYS = (  # name, bench.preprocess args, label
    ("tft_1_worker", ["tft", "--workers", "1"], "TFT analyze + materialise, 1 worker"),
    ("tft_2_workers", ["tft", "--workers", "2"], "TFT analyze + materialise, 2 workers"),
    ("keras_in_memory", ["keras"], "Keras TextVectorization adapt + map, in memory"))
# One run each: where the time goes, not a headline figure.
PREPROCESS_PROFILE = (
    ("analyze_1_worker", ["tft", "--workers", "1", "--phase", "analyze"]),
    ("analyze_2_workers", ["tft", "--workers", "2", "--phase", "analyze"]),
    ("transform_1_worker", ["tft", "--workers", "1", "--phase", "transform"]),
    ("transform_2_workers", ["tft", "--workers", "2", "--phase", "transform"]),
    ("both_2_workers_one_input_file", ["tft", "--workers", "2", "--input-files", "single"]))


def _preprocess_summary(runs: list[dict]) -> dict:
  out = {"docs_per_s": summary([r["docs_per_s"] for r in runs]),
         "seconds": summary([r["seconds"] for r in runs]), "docs": runs[0]["docs"],
         "cores_busy": summary([r["process_cpu_s"] / r["process_wall_s"] for r in runs])}
  if "timeline" in runs[0]:
    out["share_of_seconds_over_1_5_cores"] = summary(
        [r["share_of_seconds_over_1_5_cores"] for r in runs])
    out["timeline"] = runs[0]["timeline"]
  return out


def bench_preprocess(cache: str, reps: int) -> dict:
  out = {name: _preprocess_summary(
      [measure(["bench.preprocess", *args, "--cache", cache]) for _ in range(reps)])
         for name, args, _ in PREPROCESS_WAYS}
  out["profile"] = {name: _preprocess_summary([measure(["bench.preprocess", *args,
                                                        "--cache", cache])])
                    for name, args in PREPROCESS_PROFILE}
  return out


TRAIN_CONFIGS = (  # name, bench.train args; "memory"/"pipeline" name the input
    # The reference: the seeds' way, no strategy, dense arrays in memory (BoW: dense multi-hot).
    ("bare_fit_in_memory", ["--mode", "bare", "--dense"]),
    ("bare_fit_in_memory_sparse", ["--mode", "bare"]),
    ("bare_fit_pipeline_input", ["--mode", "bare", "--input", "pipeline"]),
    ("mirrored_1_device_in_memory", ["--mode", "mirrored", "--devices", "1", "--input", "memory"]),
    ("mirrored_1_device", ["--mode", "mirrored", "--devices", "1"]),
    ("mirrored_2_devices", ["--mode", "mirrored", "--devices", "2"]),
    ("bare_fit_in_memory_spe16", ["--mode", "bare", "--dense", "--steps-per-execution", "16"]),
    ("mirrored_1_device_spe16", ["--mode", "mirrored", "--devices", "1",
                                 "--steps-per-execution", "16"]),
    # What the BoW Trainer does (bow_mlp's default steps_per_execution, trainers' cached input).
    ("mirrored_1_device_trainer_input_spe32", ["--mode", "mirrored", "--devices", "1", "--input",
                                               "trainer", "--steps-per-execution", "32"]))
# Not measured: steps_per_execution > 1 with 2 replicas fails in Keras 3 ("You must feed a
# value for placeholder tensor ... while/cond/Placeholder_1"), keras-team/keras#19246 (open).


def bench_train(cache: str, reps: int, save) -> dict:
  """save(out) is called after every configuration, so a long section keeps what it measured;
  a configuration that fails is recorded with its error and the others still run."""
  out = {}
  # BiLSTM steps take ~0.4 s, so per-step overhead is negligible there: 3 configs suffice.
  for model, steps, configs in (("bow", 1600, TRAIN_CONFIGS),
                                ("bilstm", 15, TRAIN_CONFIGS[:1] + TRAIN_CONFIGS[4:6])):
    for name, extra in configs:
      try:
        runs = [measure(["bench.train", "--cache", cache, "--model", model, "--steps",
                         str(steps), *extra]) for _ in range(reps)]
      except RuntimeError as e:
        error = str(e).strip().splitlines()[-1][:300]
        logging.warning("%s/%s failed: %s", model, name, error)
        out[f"{model}/{name}"] = {"error": error, "steps": steps}
      else:
        out[f"{model}/{name}"] = {"examples_per_s": summary([r["examples_per_s"] for r in runs]),
                                  "global_batch": runs[0]["global_batch"], "steps": steps}
      save(out)
  return out


def bench_cores(reps: int) -> dict:
  runs = {n: [measure(["bench.cores", "--processes", str(n)]) for _ in range(reps)] for n in (1, 2)}
  one = statistics.median(r["units_per_s"] for r in runs[1])
  return {"units_per_s_1_process": summary([r["units_per_s"] for r in runs[1]]),
          "units_per_s_2_processes": summary([r["units_per_s"] for r in runs[2]]),
          "speedup_2_vs_1": summary([r["units_per_s"] / one for r in runs[2]])}


def bench_serve(model: str, tar: str, reps: int) -> dict:
  runs = [measure(["bench.serve", "--model", model, "--tar", tar]) for _ in range(reps)]
  batches = [b for b in runs[0] if b.isdigit()]  # measure() adds process_* keys
  return {batch: {k: summary([r[batch][k] for r in runs]) for k in runs[0][batch]}
          for batch in batches}


def e2e_times(output_dir: str) -> dict:
  from ml_metadata.proto import metadata_store_pb2
  from pipeline import records as run_records
  # Real executions only: a cache hit's record says nothing about how long the step takes.
  records = run_records.RunRecords(os.path.join(output_dir, "metadata.sqlite"),
                                   states=(metadata_store_pb2.Execution.COMPLETE,))
  times = {node: records.seconds(node) for node in records.executions}
  first = min(e.create_time_since_epoch for e in records.executions.values())
  last = max(e.last_update_time_since_epoch for e in records.executions.values())
  return {"components": times, "pipeline_seconds": (last - first) / 1000}


def bench_e2e(data_dir: str, scratch: str, reps: int) -> dict:
  """`reps` fresh default runs (empty output dir each time, so nothing comes from the cache)."""
  runs = []
  for rep in range(reps):
    shutil.rmtree(scratch, ignore_errors=True)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--data-dir", data_dir,
                           "--output-dir", scratch], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
      raise RuntimeError(f"textzoo run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    runs.append({**e2e_times(scratch), "command_seconds": time.monotonic() - start})
    logging.info("e2e run %d: %.0fs", rep + 1, runs[-1]["command_seconds"])
  nodes = runs[0]["components"]
  return {"command_seconds": summary([r["command_seconds"] for r in runs]),
          "pipeline_seconds": summary([r["pipeline_seconds"] for r in runs]),
          "components": {n: summary([r["components"][n] for r in runs]) for n in nodes}}


def bench_side_by_side(data_dir: str, scratch: str, reps: int) -> dict:
  return measure(["bench.side_by_side", "--data-dir", data_dir, "--scratch", scratch,
                  "--reps", str(reps)])


def side_by_side_markdown(result: dict) -> list[str]:
  lines = ["## Seed 000's notebook way vs `textzoo run` (default config), one after the other", "",
           "Commands: `python -m bench.seed_bow --data-dir D` (Keras adapt in memory, `fit` on "
           "dense arrays, three encodings, 10 epochs each) and `textzoo run --data-dir D` from an "
           "empty output dir. Cores busy: machine-wide mean while it ran (of "
           f"{os.cpu_count()}).", ""]
  for i, run in enumerate(result["runs"], 1):
    seed, pipe = run["seed"], run["pipeline"]
    lines += [f"### Run {i}: textzoo run {pipe['command_seconds']:.0f} s vs seed way "
              f"{seed['command_seconds']:.0f} s ({run['ratio']:.2f}x)", "",
              "| seed way step | seconds | test accuracy |", "|---|---|---|",
              f"| read the tarball | {seed['read_s']:.1f} | |"]
    for name, m in seed["models"].items():
      lines.append(f"| {name}: adapt / fit / evaluate | {m['adapt_s']:.1f} / {m['fit_s']:.1f} / "
                   f"{m['evaluate_s']:.1f} | {100 * m['test_accuracy']:.2f} % |")
    lines += [f"| whole command (cores busy {seed['cores_busy']:.2f}) | "
              f"{seed['command_seconds']:.1f} | |", "",
              "| textzoo component | seconds | cores busy |", "|---|---|---|"]
    lines += [f"| {n} | {c['seconds']:.1f} | {c['cores_busy']:.2f} |"
              for n, c in pipe["components"].items() if c["seconds"] >= 0.5]
    lines += [f"| whole command | {pipe['command_seconds']:.1f} | {pipe['cores_busy']:.2f} |", "",
              "Test accuracy (TFMA): " + ", ".join(
                  f"{m} {100 * v:.2f} %" for m, v in pipe["test_accuracy"].items() if v), ""]
  return lines


def _fmt(s: dict, unit="") -> str:
  return f"{s['median']:.1f}{unit} ({s['min']:.1f}–{s['max']:.1f})"


def _timeline(samples: list) -> str:
  """Cores in use per 5-second slot, as one line of digits*10 (e.g. 19 = 1.9 cores)."""
  slots = [samples[i:i + 5] for i in range(0, len(samples), 5)]
  return " ".join(f"{min(99, round(10 * sum(c for _, c in slot) / len(slot))):02d}"
                  for slot in slots)


def markdown(results: dict) -> str:
  m = results["machine"]
  lines = ["# textzoo benchmarks", "",
           f"Machine: {m['cores']} cores, Python {m['python']}, TensorFlow {m['tensorflow']}, "
           f"no GPU. Numbers: median (min–max) of {results['reps']} runs, each in its own "
           "process. Command: `make bench` (after `make run`).", ""]
  if "cores" in results:
    c = results["cores"]
    lines += ["## The machine's parallel ceiling", "",
              "Two identical CPU-bound pure-Python processes at once vs one (`bench/cores.py`): "
              f"{_fmt(c['speedup_2_vs_1'], 'x')} the work per second of one. No 2-worker "
              "pipeline here can scale better than that.", ""]
  if "preprocess" in results:
    p = results["preprocess"]
    keras = p["keras_in_memory"]["seconds"]["median"]
    lines += ["## Preprocessing: 50 000 labelled IMDB reviews -> unigram multi-hot, bigram "
              "tf-idf, int sequences (600)", "",
              "TFT reads the raw reviews as 8 TFRecord shards (ExampleGen writes shards too).", "",
              "| way | docs/s | seconds | time vs Keras in memory | cores busy (CPU s / wall s) |",
              "|---|---|---|---|---|"]
    for name, _, label in PREPROCESS_WAYS:
      r = p[name]
      lines.append(f"| {label} | {_fmt(r['docs_per_s'])} | {_fmt(r['seconds'])} | "
                   f"{r['seconds']['median'] / keras:.2f}x | {r['cores_busy']['median']:.2f} |")
    speedup = p["tft_1_worker"]["seconds"]["median"] / p["tft_2_workers"]["seconds"]["median"]
    lines += ["", f"2 workers vs 1: {speedup:.2f}x faster.", ""]
    if "profile" in p:
      pr = p["profile"]
      lines += ["### Where the TFT time goes (one run each)", "",
                "| run | docs | seconds | cores busy | seconds with > 1.5 cores busy |",
                "|---|---|---|---|---|"]
      for name, r in pr.items():
        lines.append(f"| {name} | {r['docs']} | {r['seconds']['median']:.1f} | "
                     f"{r['cores_busy']['median']:.2f} | "
                     f"{100 * r['share_of_seconds_over_1_5_cores']['median']:.0f} % |")
      for name in ("analyze", "transform"):
        one, two = pr[f"{name}_1_worker"], pr[f"{name}_2_workers"]
        lines.append(f"\n{name}: 2 workers vs 1: "
                     f"{one['seconds']['median'] / two['seconds']['median']:.2f}x faster.")
      lines += ["", "Cores in use per 5 s (x10), 2 workers, analyze then transform:", "",
                "```", "analyze   " + _timeline(pr["analyze_2_workers"]["timeline"]),
                "transform " + _timeline(pr["transform_2_workers"]["timeline"]), "```", ""]
  if "train" in results:
    lines += ["## Training throughput (examples/s, epoch 2 of 2)", "",
              "`in_memory`: the seeds' way, arrays in memory via `from_tensor_slices` (BoW "
              "`bare_fit_in_memory`: the seed's dense multi-hot arrays and dense-input model; "
              "every other BoW row: the trainers' sparse vectors and sparse-input model); "
              "otherwise the pipeline's input (transformed TFRecords via tfxio, featurised in "
              "tf.data). "
              "`spe16`: `steps_per_execution=16`, both sides.", "",
              "| model | input / strategy | global batch | examples/s | vs bare fit (same spe) |",
              "|---|---|---|---|---|"]
    t = results["train"]
    for key, r in t.items():
      model, name = key.split("/")
      if "error" in r:
        lines.append(f"| {model} | {name} | | failed: {r['error']} | |")
        continue
      bare_key = f"{model}/bare_fit_in_memory" + ("_spe16" if name.endswith("_spe16") else "")
      if "examples_per_s" not in t.get(bare_key, {}):
        continue
      bare = t[bare_key]["examples_per_s"]["median"]
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
    lines += ["## End to end: default `textzoo run` from an empty output dir "
              "(component times from ML-Metadata execution records)", "",
              f"Command wall time: {_fmt(e['command_seconds'], ' s')}; pipeline (first component "
              f"start to last component end): {_fmt(e['pipeline_seconds'], ' s')}", "",
              "| component | seconds |", "|---|---|"]
    lines += [f"| {n} | {_fmt(s)} |" for n, s in e["components"].items()]
    lines.append("")
  if "side_by_side" in results:
    lines += side_by_side_markdown(results["side_by_side"])
  return "\n".join(lines)


def main():
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
  parser = argparse.ArgumentParser()
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--output-dir", default="runs/default")
  parser.add_argument("--cache", default="runs/bench-cache")
  parser.add_argument("--e2e-dir", default="runs/bench-e2e", help="scratch output dir, emptied")
  parser.add_argument("--reps", type=int, default=3)
  parser.add_argument("--only", default="cores,preprocess,train,serve,e2e,side_by_side")
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
  if "cores" in only:
    results["cores"] = bench_cores(args.reps)
    save()
  if "preprocess" in only or "train" in only:
    measure(["bench.preprocess", "prepare", "--tar", tar, "--cache", cache])
  if "preprocess" in only:
    results["preprocess"] = bench_preprocess(cache, args.reps)
    save()
  if "train" in only:
    if not os.path.exists(os.path.join(cache, "transform_fn")):
      measure(["bench.preprocess", "tft", "--workers", "2", "--cache", cache])
    def save_train(partial):
      results["train"] = partial
      save()
    results["train"] = bench_train(cache, args.reps, save_train)
    save()
  if "serve" in only:
    results["serve"] = bench_serve(os.path.join(args.output_dir, "serving", "bow_bigram_binary"),
                                   tar, args.reps)
    save()
  if "e2e" in only:
    results["e2e"] = bench_e2e(os.path.abspath(args.data_dir), os.path.abspath(args.e2e_dir),
                               args.reps)
    save()
  if "side_by_side" in only:
    results["side_by_side"] = bench_side_by_side(os.path.abspath(args.data_dir),
                                                 os.path.abspath(args.e2e_dir), 1)
  print(markdown(save()))


if __name__ == "__main__":
  main()
