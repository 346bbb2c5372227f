"""Runs the pipeline locally: LocalDagRunner, Beam DirectRunner, SQLite ML-Metadata."""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path

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


def run_local(cfg: RunConfig, data_dir: Path) -> dict[str, list[str]]:
  # Imported here so `textzoo --help` and config errors do not pay for importing TFX.
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
  from pipeline.pipeline import create_pipeline  # pylint: disable=import-outside-toplevel

  from pipeline import check  # pylint: disable=import-outside-toplevel
  # Every config and input error before any component runs (textzoo check).
  for line in check.check(cfg, data_dir).lines():
    logging.info("%s", line)
  with output_dir_lock(cfg.output_dir):
    start = time.monotonic()
    logging.info("running pipeline %s: data %s, output %s, beam args %s", cfg.pipeline_name,
                 data_dir, os.path.abspath(cfg.output_dir), cfg.beam_args())
    tfx.orchestration.LocalDagRunner().run(create_pipeline(cfg, str(data_dir)))
    logging.info("pipeline finished in %.1fs", time.monotonic() - start)
  return pushed_versions(cfg.serving_dir)
