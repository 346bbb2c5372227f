"""The cluster orchestrators: the pipeline of `create_pipeline`, unchanged, handed to TFX's
AirflowDagRunner (an Airflow DAG) or KubeflowV2DagRunner (a Kubeflow V2 pipeline spec).
The local runner is pipeline.runner.

The config's paths (output_dir, data_dir) are where the cluster's tasks read and write, so they
are written into the DAG or spec as they are: local paths are made absolute, URIs are kept.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Optional

from pipeline import config as config_lib
from pipeline import corpora

CONFIG_ENV = "TEXTZOO_CONFIG"           # the DAG's config: a YAML path or a packaged name
OUTPUT_DIR_ENV = "TEXTZOO_OUTPUT_DIR"   # overrides the config's output_dir


def data_dir_of(cfg: config_lib.RunConfig, flag: Optional[str] = None) -> str:
  """flag > config > $TEXTZOO_DATA_DIR > ~/.cache/textzoo, as `textzoo run`; a URI is kept."""
  chosen = flag or cfg.data_dir
  if chosen and "://" in chosen:
    return chosen
  return str(corpora.resolve_data_dir(chosen))


def airflow_dag(cfg: config_lib.RunConfig, data_dir: str):
  """The pipeline as an Airflow DAG (dag_id = pipeline_name), scheduled by `cfg.airflow`.

  One run at a time (max_active_runs=1): runs share the output dir's ML-Metadata and pipeline
  root, which the local runner guards with a lock that Airflow does not take."""
  # pylint: disable=import-outside-toplevel
  import pendulum
  from tfx.orchestration.airflow import airflow_dag_runner

  from pipeline.pipeline import create_pipeline
  from trainers import strategy
  # Logical CPU devices must exist before TensorFlow initialises (trainers.strategy); tasks that
  # `airflow dags test` runs in this process train in it.
  strategy.configure_devices(cfg.strategy.name, cfg.strategy.cpu_devices)
  start = dt.date.fromisoformat(cfg.airflow.start_date)
  dag_config = {"schedule": cfg.airflow.schedule, "catchup": False, "max_active_runs": 1,
                "start_date": pendulum.datetime(start.year, start.month, start.day, tz="UTC"),
                "tags": ["textzoo", cfg.corpus_name]}
  runner = airflow_dag_runner.AirflowDagRunner(
      airflow_dag_runner.AirflowPipelineConfig(airflow_dag_config=dag_config))
  return runner.run(create_pipeline(cfg, data_dir))


def airflow_dag_from_env(repo_root: Path):
  """What infra/airflow/textzoo_dag.py builds: $TEXTZOO_CONFIG (default: the packaged default),
  $TEXTZOO_OUTPUT_DIR, $TEXTZOO_DATA_DIR. A relative output_dir is taken from the repository
  root, where `make run` puts it, not from the scheduler's working directory."""
  cfg = config_lib.load(os.environ.get(CONFIG_ENV) or None)
  cfg.output_dir = os.environ.get(OUTPUT_DIR_ENV) or cfg.output_dir
  if "://" not in cfg.output_dir and not os.path.isabs(cfg.output_dir):
    cfg.output_dir = str(repo_root / cfg.output_dir)
  return airflow_dag(cfg, data_dir_of(cfg))


def compile_kubeflow(cfg: config_lib.RunConfig, data_dir: str, output_file: str) -> str:
  """Writes the Kubeflow V2 pipeline spec (PipelineJob JSON) that runs every component in
  `cfg.image`; returns its path. Kubeflow keeps its own ML-Metadata, so the config's SQLite path
  is not used there."""
  # pylint: disable=import-outside-toplevel
  try:
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as kubeflow
  except ImportError as e:
    raise RuntimeError("compiling for Kubeflow needs the `kubeflow` extra (kfp 2.13): "
                       "EXTRAS=kubeflow scripts/install.sh (the default on Python 3.11)") from e
  from pipeline.pipeline import create_pipeline
  output_file = os.path.abspath(output_file)
  os.makedirs(os.path.dirname(output_file), exist_ok=True)
  runner = kubeflow.KubeflowV2DagRunner(
      config=kubeflow.KubeflowV2DagRunnerConfig(default_image=cfg.image),
      output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
  runner.run(create_pipeline(cfg, data_dir))
  return output_file
