"""The seed notebook's way (bench/seed_bow.py) and `textzoo run` of the default config, one after
the other on the same machine, with the cores each kept busy (per component for the pipeline).

  python -m bench.side_by_side --data-dir ../shared/corpora --scratch runs/bench-side [--reps 1]

Cores busy are sampled machine-wide once a second (/proc/stat through psutil), so nothing else
should run meanwhile; a component's figure is the mean of the samples inside its execution's
start and end (ML-Metadata). Prints one RESULT line of JSON.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time

from bench.preprocess import CpuTimeline

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class MachineCpu(CpuTimeline):
  """(unix time, cores busy over the last second) samples of the whole machine: the pipeline's
  Beam workers come and go, so the process tree would miss their time."""

  def _run(self):
    import psutil
    cores = psutil.cpu_count()
    psutil.cpu_percent()
    while not self._stop.wait(1.0):
      self.samples.append((time.time(), psutil.cpu_percent() / 100 * cores))

  def mean(self, start: float = 0.0, end: float = float("inf")) -> float:
    inside = [c for t, c in self.samples if start < t <= end + 1]
    return round(sum(inside) / len(inside), 2) if inside else 0.0


def _run(args: list[str]) -> tuple[float, str]:
  start = time.monotonic()
  proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  if proc.returncode:
    raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
  return time.monotonic() - start, proc.stdout


def seed_way(data_dir: str) -> dict:
  with MachineCpu() as cpu:
    seconds, stdout = _run(["bench.seed_bow", "--data-dir", data_dir])
  [line] = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
  return {**json.loads(line[len("RESULT "):]), "command_seconds": round(seconds, 1),
          "cores_busy": cpu.mean()}


def pipeline_way(data_dir: str, scratch: str) -> dict:
  from ml_metadata.proto import metadata_store_pb2
  from pipeline import records as run_records
  shutil.rmtree(scratch, ignore_errors=True)
  with MachineCpu() as cpu:
    seconds, console = _run(["pipeline.cli", "run", "--data-dir", data_dir,
                             "--output-dir", scratch])
  with open(os.path.join(scratch, "console.txt"), "w") as f:  # what a user saw
    f.write(console)
  records = run_records.RunRecords(os.path.join(scratch, "metadata.sqlite"),
                                   states=(metadata_store_pb2.Execution.COMPLETE,))
  components = {}
  for node, e in sorted(records.executions.items(), key=lambda kv: kv[1].create_time_since_epoch):
    start, end = e.create_time_since_epoch / 1000, e.last_update_time_since_epoch / 1000
    components[node] = {"seconds": round(end - start, 1), "cores_busy": cpu.mean(start, end)}
  accuracy = {r["model"]: r.get("value") for r in run_records.model_rows(records)}
  return {"command_seconds": round(seconds, 1), "cores_busy": cpu.mean(),
          "components": components, "test_accuracy": accuracy,
          "console_lines": len(console.splitlines())}


def main():
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
  parser = argparse.ArgumentParser()
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--scratch", default="runs/bench-side", help="pipeline output dir, emptied")
  parser.add_argument("--reps", type=int, default=1)
  args = parser.parse_args()
  runs = []
  for rep in range(args.reps):
    seed = seed_way(os.path.abspath(args.data_dir))
    logging.info("seed way %d: %.0fs", rep + 1, seed["command_seconds"])
    pipeline = pipeline_way(os.path.abspath(args.data_dir), os.path.abspath(args.scratch))
    logging.info("textzoo run %d: %.0fs", rep + 1, pipeline["command_seconds"])
    runs.append({"seed": seed, "pipeline": pipeline,
                 "ratio": round(pipeline["command_seconds"] / seed["command_seconds"], 2)})
  print("RESULT " + json.dumps({"runs": runs}))


if __name__ == "__main__":
  main()
