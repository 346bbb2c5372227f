"""Airflow DAG file: the configured textzoo pipeline, handed to TFX's AirflowDagRunner.

Put this folder in Airflow's dags_folder (or point AIRFLOW__CORE__DAGS_FOLDER at it) in an
environment with textzoo and the `airflow` extra. It reads:
  TEXTZOO_CONFIG      config YAML or packaged config name (default: the packaged default)
  TEXTZOO_OUTPUT_DIR  overrides the config's output_dir (relative: from the repository root)
  TEXTZOO_DATA_DIR    the corpora (fetch them first: `textzoo corpora --fetch imdb`)
The DAG id is the config's pipeline_name; its schedule is the config's `airflow` block.
"""
from pathlib import Path

from pipeline import orchestrators

DAG = orchestrators.airflow_dag_from_env(repo_root=Path(__file__).resolve().parents[2])
