"""A short run of every packaged config on the real corpora: its first model only, 1 epoch (IMDB
configs on a 5 % sample), each into its own output dir and process. It shows that every config
still builds, trains, evaluates, passes the serving check and reaches the Pusher; it does not
reproduce figures (those are the full runs of docs/results.md).

  .venv/bin/python scripts/smoke_configs.py --data-dir ../shared/corpora --output-dir runs/smoke \
      [--configs shakespeare,treebank]
Prints one JSON line per config: wall seconds, the model's metric, serving check, pushed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

_RUN = """
import dataclasses, json, sys
from pathlib import Path
from pipeline import config
cfg = config.load(sys.argv[1])
cfg.output_dir = sys.argv[2]
first = cfg.models[0]
cfg.models = [dataclasses.replace(first, params=first.params.model_copy(update={"epochs": 1}))]
if cfg.task == "classification":
  cfg.sample_percent = min(cfg.sample_percent, 5)
from trainers import strategy
strategy.configure_devices(cfg.strategy.name, cfg.strategy.cpu_devices)
from pipeline import runner
print(json.dumps(runner.run_local(cfg, Path(sys.argv[3]))))
"""


def smoke(name: str, data_dir: str, output_dir: str) -> dict:
  from pipeline import report  # pylint: disable=import-outside-toplevel
  out = os.path.join(output_dir, name)
  start = time.monotonic()
  done = subprocess.run([sys.executable, "-c", _RUN, name, out, data_dir], cwd=ROOT,
                        capture_output=True, text=True)
  result = {"config": name, "seconds": round(time.monotonic() - start), "ok": done.returncode == 0}
  if done.returncode:
    result["error"] = done.stderr.strip().splitlines()[-1][:300]
    return result
  [row] = report.leaderboard(out)
  result.update(model=row["model"], metric=row["metric"], value=row.get("value"),
                serving_check=(row.get("serving_check") or {}).get("passed"),
                pushed=row["pushed_version"] is not None)
  return result


def main() -> int:
  from pipeline import config  # pylint: disable=import-outside-toplevel
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--output-dir", default="runs/smoke")
  parser.add_argument("--configs", help="comma-separated (default: every packaged config)")
  args = parser.parse_args()
  names = args.configs.split(",") if args.configs else config.packaged_configs()
  failed = 0
  for name in names:
    result = smoke(name, os.path.abspath(args.data_dir), os.path.abspath(args.output_dir))
    failed += not (result["ok"] and result.get("serving_check"))
    print(json.dumps(result), flush=True)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
