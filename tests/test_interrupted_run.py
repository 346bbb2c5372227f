"""A run killed (SIGKILL, no chance to clean up) in the middle of Transform, then rerun:
the components that had finished come from the cache, the rerun finishes, and nothing the killed
Transform wrote is consumed downstream."""
import os
import signal
import subprocess
import sys
import time

import ml_metadata as mlmd
import pytest
import yaml

from pipeline import runner
from pipeline import config as config_lib
from tests import fixtures

pytestmark = pytest.mark.e2e
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
State = mlmd.proto.Execution


def _store(cfg):
  return mlmd.MetadataStore(mlmd.proto.ConnectionConfig(
      sqlite=mlmd.proto.SqliteMetadataSourceConfig(filename_uri=cfg.metadata_path)))


def _executions_by_node(store):
  out = {}
  for context in store.get_contexts_by_type("node"):
    node = context.name.split(".", 1)[1]
    out[node] = sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)
  return out


def _kill_when_transform_runs(proc, pipeline_root, timeout=600):
  transform_dir = os.path.join(pipeline_root, "Transform", "transform_graph")
  deadline = time.monotonic() + timeout
  while not os.path.isdir(transform_dir) or not os.listdir(transform_dir):
    if proc.poll() is not None:
      raise AssertionError(f"the run ended (exit {proc.returncode}) before Transform started")
    if time.monotonic() > deadline:
      raise AssertionError("Transform did not start in time")
    time.sleep(0.2)
  time.sleep(3)  # well inside Transform's analysis
  assert proc.poll() is None, "the run finished before it could be killed"
  os.killpg(proc.pid, signal.SIGKILL)
  proc.wait()


def test_run_killed_mid_transform_resumes_from_cache(tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  fixtures.write_tarball(str(data_dir / "aclImdb_v1.tar.gz"))
  config = {"output_dir": str(tmp_path / "out"), "verify_checksums": False,
            "unigram_top_k": 100, "bigram_top_k": 200,
            "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
            "strategy": {"name": "mirrored", "cpu_devices": 1},
            "models": [{"name": "bow", "epochs": 2, "batch_size": 2, "accuracy_floor": 0.0}]}
  path = tmp_path / "run.yaml"
  path.write_text(yaml.safe_dump(config))
  cfg = config_lib.load(str(path))

  proc = subprocess.Popen(
      [sys.executable, "-m", "pipeline.cli", "run", "--config", str(path), "--data-dir",
       str(data_dir)], cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  _kill_when_transform_runs(proc, cfg.pipeline_root)

  store = _store(cfg)
  killed = _executions_by_node(store)
  assert [e.last_known_state for e in killed["Transform"]] == [State.RUNNING]
  killed_id = killed["Transform"][0].id
  # What the killed Transform had started to write (output dirs are named by execution id).
  killed_dirs = [os.path.join(cfg.pipeline_root, "Transform", key, str(killed_id))
                 for key in os.listdir(os.path.join(cfg.pipeline_root, "Transform"))]
  assert any(os.path.isdir(d) for d in killed_dirs)
  outputs = (mlmd.proto.Event.OUTPUT, mlmd.proto.Event.PENDING_OUTPUT,
             mlmd.proto.Event.DECLARED_OUTPUT)
  recorded = store.get_artifacts_by_id([e.artifact_id for e in store.get_events_by_execution_ids(
      [killed_id]) if e.type in outputs])
  assert not any(a.state == mlmd.proto.Artifact.LIVE for a in recorded)  # none published
  assert runner.pushed_versions(cfg.serving_dir) == {}

  pushed = runner.run_local(cfg, data_dir)  # the lock died with the killed process
  assert len(pushed["bow"]) == 1

  after = _executions_by_node(_store(cfg))
  for node in ("ImdbExampleGen", "StatisticsGen", "SchemaGen"):
    assert [e.last_known_state for e in after[node]] == [State.COMPLETE, State.CACHED], node
  transform_runs = after["Transform"]
  assert [e.last_known_state for e in transform_runs][-1] == State.COMPLETE
  store = _store(cfg)
  trainer_inputs = store.get_artifacts_by_id([e.artifact_id for e in store.get_events_by_execution_ids(
      [after["Trainer.bow"][-1].id]) if e.type == mlmd.proto.Event.INPUT])
  transform_inputs = [a for a in trainer_inputs if "/Transform/" in a.uri]
  assert len(transform_inputs) == 2  # transformed examples and the transform graph
  for artifact in transform_inputs:
    assert artifact.state == mlmd.proto.Artifact.LIVE
    assert not any(artifact.uri.startswith(d) for d in killed_dirs), artifact.uri
