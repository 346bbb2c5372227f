"""The machine's own parallel ceiling: throughput of 1 vs 2 identical CPU-bound processes run at
once (pure-Python work, like a Beam worker's per-element code, with no shared state and no
communication). If two such processes do not get 2x the work done, no 2-worker pipeline can.

  python -m bench.cores --processes 2 --seconds 10   -> prints JSON (work units per second)
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time


def _work(seconds: float, out) -> None:
  deadline, units = time.perf_counter() + seconds, 0
  while time.perf_counter() < deadline:
    total = 0
    for i in range(20000):  # one unit: a small pure-Python loop with dict/str work
      total += len(str(i)) + (i % 7)
    units += 1
  out.put(units)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--processes", type=int, default=1)
  parser.add_argument("--seconds", type=float, default=10.0)
  args = parser.parse_args()
  queue = multiprocessing.Queue()
  procs = [multiprocessing.Process(target=_work, args=(args.seconds, queue))
           for _ in range(args.processes)]
  for p in procs:
    p.start()
  units = sum(queue.get() for _ in procs)
  for p in procs:
    p.join()
  print("RESULT " + json.dumps({"units_per_s": units / args.seconds,
                                "processes": args.processes}))


if __name__ == "__main__":
  main()
