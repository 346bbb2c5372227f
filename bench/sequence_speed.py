"""Training examples/s of the sequence models as their own run_fn trains them (input pipeline,
MirroredStrategy on 1 device, model), for two code trees side by side.

  python -m bench.sequence_speed [--runs runs] --before TREE [--after TREE] [--models a,b]
      [--reps 1]   -> prints a markdown table and one RESULT line of JSON

A model is a model entry of a packaged config (CONFIGS), as each tree defines it; it trains on
the newest Transform output (and, for a char LM, its CharWindows) of that config's run in
<runs>/<run>/pipeline: imdb_sequence's for the IMDB models, treebank's, shakespeare's. An example
is a review, a sentence (tagger) or a window of text.window_length characters (char LMs). Each
measurement is its own process with the tree first on
PYTHONPATH; it calls the tree's run_fn with Model.fit capped at WARMUP + steps train steps and
times the steps after the warm-up (tf.function tracing, the shuffle buffer filling). With
batches of similar length, the steps are a sample of the epoch's lengths: buckets emit batches
in proportion to their share of the reviews.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WARMUP = 3
# Train steps timed per model: a before-step of the one-hot BiLSTM takes ~15 s.
STEPS = {"onehot_bilstm": 6}
DEFAULT_STEPS = 40
# packaged config -> the run whose pipeline outputs its models train on (both IMDB configs read
# word_ids of the same Transform)
CONFIGS = {"imdb_sequence": "imdb_sequence", "imdb_onehot": "imdb_sequence",
           "treebank": "treebank", "shakespeare": "shakespeare"}
EMBEDDING = "embedding"  # in a trainer_inputs view: the run's GloveEmbedding output
MODELS = ("onehot_bilstm", "bilstm", "bilstm_masked", "gru", "stacked_bilstm", "conv1d",
          "transformer", "bigru_tagger", "char_gru", "char_gru_stateful")


def model_config(name: str):
  """(packaged config name, run config, model config) of `name` in this tree."""
  from pipeline import config  # pylint: disable=import-outside-toplevel
  for packaged in CONFIGS:
    cfg = config.load(packaged)
    for model in cfg.models:
      if model.name == name:
        return packaged, cfg, model
  raise SystemExit(f"no model {name!r} in the packaged configs {sorted(CONFIGS)}")


def measure_one(name: str, inputs_dir: str, steps: int, xla: bool = False,
                params: Optional[dict] = None) -> dict:
  """In this process: the tree's run_fn for model `name`, fit capped and timed (xla: compiled
  with jit_compile=True, which Keras leaves off on CPU and under tf.distribute)."""
  # pylint: disable=import-outside-toplevel
  import importlib
  import pathlib
  import keras
  from pipeline import pipeline
  from tests.fixtures import trainer_fn_args
  from trainers import families

  _, cfg, model = model_config(name)
  custom = {**pipeline.trainer_config(cfg, model), "epochs": 1, **(params or {})}
  embedding = os.path.join(inputs_dir, EMBEDDING)
  if os.path.isdir(embedding):  # the run's GloveEmbedding, as the Trainer gets it
    custom["embedding_uri"] = os.path.realpath(embedding)
  timed = {}

  class StepTimer(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
      if batch == WARMUP:
        timed["start"] = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
      if batch == WARMUP + steps - 1:
        timed["seconds"] = time.perf_counter() - timed["start"]

  fit = keras.Model.fit

  def capped_fit(self, x, *args, callbacks=(), **kwargs):
    kwargs.update(epochs=1, steps_per_epoch=WARMUP + steps, validation_steps=1)
    timed["global_batch"] = custom["batch_size"] * self.distribute_strategy.num_replicas_in_sync
    return fit(self, x, *args, callbacks=[*callbacks, StepTimer()], **kwargs)

  keras.Model.fit = capped_fit
  if xla:
    compile_ = keras.Model.compile
    keras.Model.compile = lambda self, *a, **kw: compile_(self, *a, **{**kw, "jit_compile": True})
  module = importlib.import_module(families.get(model.trainer).module)
  with tempfile.TemporaryDirectory() as out:
    module.run_fn(trainer_fn_args(inputs_dir, custom, pathlib.Path(out)))
  return {"model": name, "steps": steps, "seconds": round(timed["seconds"], 2),
          "examples_per_s": round(steps * timed["global_batch"] / timed["seconds"], 1)}


def measure(tree: str, name: str, inputs_dir: str, xla: bool = False,
            params: Optional[dict] = None) -> dict:
  env = {**os.environ, "PYTHONPATH": os.path.abspath(tree), "TF_CPP_MIN_LOG_LEVEL": "2"}
  steps = STEPS.get(name, DEFAULT_STEPS)
  # This file is run by path, so the tree's packages are imported even where it lacks this file.
  command = [sys.executable, os.path.abspath(__file__), "--one", name, "--steps", str(steps),
             "--inputs", inputs_dir] + (["--xla"] if xla else []) + (
                 ["--params", json.dumps(params)] if params else [])
  proc = subprocess.run(command, cwd=os.path.abspath(tree), env=env, capture_output=True,
                        text=True)
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  if proc.returncode or not lines:
    return {"model": name, "error": proc.stderr.strip().splitlines()[-1][:300]}
  return json.loads(lines[-1][len("RESULT "):])


def trainer_inputs(pipeline_dir: str, model: str, scratch: str) -> str:
  """A dir laid out as a Transform output (tests.fixtures.trainer_fn_args reads it) with the
  newest transform_graph of pipeline_dir and the newest examples `model` trains on: its
  CharWindows' windows if the pipeline has them, else the Transform's transformed_examples (a
  rerun of the pipeline leaves one of each per execution)."""
  import glob  # pylint: disable=import-outside-toplevel

  def newest(path: str) -> str:
    runs = glob.glob(os.path.join(pipeline_dir, path, "*"))
    if not runs:
      raise FileNotFoundError(f"no {os.path.join(pipeline_dir, path)}: run its config first")
    return max(runs, key=lambda p: int(os.path.basename(p)) if os.path.basename(p).isdigit()
               else -1)

  windows = os.path.join(f"CharWindows.{model}", "windows")
  examples = windows if os.path.isdir(os.path.join(pipeline_dir, windows)) else os.path.join(
      "Transform", "transformed_examples")
  view = os.path.join(scratch, model)
  for output, path in (("transformed_examples", examples),
                       ("transform_graph", os.path.join("Transform", "transform_graph"))):
    source = newest(path)
    os.makedirs(os.path.join(view, output))
    os.symlink(source, os.path.join(view, output, os.path.basename(source)))
  if os.path.isdir(os.path.join(pipeline_dir, "GloveEmbedding")):
    os.symlink(newest(os.path.join("GloveEmbedding", "embedding")), os.path.join(view, EMBEDDING))
  return view


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", default="runs", help="the dir holding each config's run")
  parser.add_argument("--before", help="the code tree to compare with (a git worktree)")
  parser.add_argument("--after", default=ROOT)
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--reps", type=int, default=1)
  parser.add_argument("--xla", action="store_true", help="also the after tree with jit_compile")
  parser.add_argument("--one", help=argparse.SUPPRESS)
  parser.add_argument("--inputs", help=argparse.SUPPRESS)
  parser.add_argument("--params", type=json.loads, help="JSON: model parameters set on every "
                      "tree (the same model where the trees' configs differ)")
  parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.one:
    print("RESULT " + json.dumps(measure_one(args.one, args.inputs, args.steps, args.xla,
                                             args.params)), flush=True)
    return
  scratch = tempfile.mkdtemp(prefix="sequence_speed-")
  trees = {"before": args.before, "after": args.after} if args.before else {"after": args.after}
  variants = [(label, tree, False) for label, tree in trees.items()]
  if args.xla:
    variants.append(("after_xla", args.after, True))
  rows = []
  for name in args.models.split(","):
    row = {"model": name}
    packaged, _, _ = model_config(name)
    try:
      inputs = trainer_inputs(os.path.abspath(os.path.join(args.runs, CONFIGS[packaged],
                                                           "pipeline")), name, scratch)
    except FileNotFoundError as e:
      print(f"{name}: skipped, {e}", file=sys.stderr, flush=True)
      rows.append({"model": name, "after": f"not measured: {e}"})
      continue
    for label, tree, xla in variants:  # one after the other, so all see the same machine
      runs = [measure(tree, name, inputs, xla, args.params) for _ in range(args.reps)]
      good = [r["examples_per_s"] for r in runs if "examples_per_s" in r]
      row[label] = max(good) if good else runs[-1].get("error")
      print(f"{name} {label}: {row[label]}", file=sys.stderr, flush=True)
    for label in ("after", "after_xla"):
      if all(isinstance(row.get(k), float) for k in ("before", label)):
        row[f"{label}_ratio"] = round(row[label] / row["before"], 2)
    rows.append(row)
  xla = " after, XLA | XLA / before |" if args.xla else ""
  print("| model | before (examples/s) | after | after / before |" + xla)
  print("|---|---|---|---|" + ("---|---|" if args.xla else ""))
  for r in rows:
    print(f"| {r['model']} | {r.get('before', '')} | {r['after']} | {r.get('after_ratio', '')} |"
          + (f" {r.get('after_xla', '')} | {r.get('after_xla_ratio', '')} |" if args.xla else ""))
  print("RESULT " + json.dumps({"trees": trees, "warmup": WARMUP, "rows": rows}))


if __name__ == "__main__":
  main()
