"""Runs the pipeline locally: LocalDagRunner, Beam DirectRunner, SQLite ML-Metadata."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path
from typing import Callable, Optional

from pipeline.config import RunConfig


class RunLockedError(RuntimeError):
  pass


@contextlib.contextmanager
def output_dir_lock(output_dir: str):
  """Refuses a second concurrent run on the same output dir (pipeline root + metadata)."""
  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, ".run.lock")
  with open(path, "a+") as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
      f.seek(0)
      raise RunLockedError(
          f"another textzoo run holds {path} ({f.read().strip() or 'pid unknown'}); wait for it "
          "or use a different output_dir") from e
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}\n")
    f.flush()
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def pushed_versions(serving_dir: str) -> dict[str, list[str]]:
  """model name -> numeric versions present under serving_dir, newest last (models.config and
  other files beside the model folders are not models)."""
  result = {}
  if os.path.isdir(serving_dir):
    for name in sorted(os.listdir(serving_dir)):
      if not os.path.isdir(os.path.join(serving_dir, name)):
        continue
      versions = [v for v in os.listdir(os.path.join(serving_dir, name)) if v.isdigit()]
      result[name] = sorted(versions, key=int)
  return result


def run_local(cfg: RunConfig, data_dir: Path,
              say: Optional[Callable[[str], None]] = None) -> dict[str, list[str]]:
  """Checks, then runs the pipeline; returns the pushed versions. say: a console (pipeline.console)
  that gets a line as each component starts and ends."""
  # Imported here so `textzoo --help` and config errors do not pay for importing TFX.
  # pylint: disable=import-outside-toplevel
  from tfx import v1 as tfx
  from pipeline import check, console, figures
  from pipeline.pipeline import BASELINE, create_pipeline

  # Every config and input error before any component runs (textzoo check).
  plan = check.check(cfg, data_dir)
  for line in plan.lines():
    logging.info("%s", line)
  steps = [c for c in plan.components if not c.startswith(f"{BASELINE}.")]  # not resolvers
  if say:
    say(f"{cfg.pipeline_name}: {len(steps)} components, {len(plan.pushes)} model(s); "
        f"inputs: {', '.join(path for _, path in plan.inputs)}")
  with output_dir_lock(cfg.output_dir):
    start = time.monotonic()
    logging.info("running pipeline %s: data %s, output %s, beam args %s", cfg.pipeline_name,
                 data_dir, os.path.abspath(cfg.output_dir), cfg.beam_args())
    progress = None
    if say:
      progress = console.Progress(
          steps, figures.previous_durations(cfg.metadata_path),
          lambda node: figures.node_figure(cfg.metadata_path, node), say)
      logging.getLogger().addHandler(progress)
    try:
      tfx.orchestration.LocalDagRunner().run(create_pipeline(cfg, str(data_dir)))
    finally:
      if progress:
        logging.getLogger().removeHandler(progress)
    logging.info("pipeline finished in %.1fs", time.monotonic() - start)
  return pushed_versions(cfg.serving_dir)
