"""infra/airflow/textzoo_dag.py under a real Airflow 2.10 (the `airflow` extra), nothing external
started: a temporary AIRFLOW_HOME with its SQLite database (`airflow db migrate`), the DAG loaded
by a DagBag (no import errors, the pipeline's tasks and dependencies, the config's schedule), and
`airflow dags test` running the tiny-sample pipeline end to end, which must push a model.

Airflow reads its settings when first imported, so everything Airflow runs in subprocesses with
the test's environment; this process never imports it."""
import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests import fixtures

pytestmark = [pytest.mark.airflow, pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("airflow") is None,
    reason="the airflow extra is not installed (EXTRAS=kubeflow,airflow scripts/install.sh)")]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAG_ID = "textzoo-airflow-tiny"
BIN = os.path.dirname(sys.executable)

DAGBAG_SCRIPT = """
import json
from airflow.models import DagBag
bag = DagBag(include_examples=False)
dag = bag.dags.get(%r)
print("DAGBAG " + json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dags),
    "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} if dag else None,
    "schedule": str(dag.schedule_interval) if dag else None,
    "start_date": dag.start_date.isoformat() if dag else None,
    "max_active_runs": dag.max_active_runs if dag else None,
    "catchup": dag.catchup if dag else None}))
""" % DAG_ID

STATES_SCRIPT = """
import json
from airflow.models import DagRun
run = DagRun.find(dag_id=%r)[0]
print("STATES " + json.dumps({"run": run.state,
                              "tasks": {ti.task_id: ti.state for ti in run.get_task_instances()}}))
""" % DAG_ID


def _run(args, env, timeout):
  result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
  assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
  return result.stdout


def _marked(output: str, mark: str) -> dict:
  line = next(l for l in output.splitlines() if l.startswith(mark + " "))
  return json.loads(line[len(mark) + 1:])


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
  root = tmp_path_factory.mktemp("airflow")
  data_dir = root / "data"
  data_dir.mkdir()
  fixtures.write_tarball(str(data_dir / "aclImdb_v1.tar.gz"))
  config = root / "run.yaml"
  config.write_text(yaml.safe_dump({
      "pipeline_name": DAG_ID, "output_dir": str(root / "out"), "verify_checksums": False,
      "unigram_top_k": 100, "bigram_top_k": 200,
      "airflow": {"schedule": "@weekly", "start_date": "2025-01-06"},
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "strategy": {"name": "mirrored", "cpu_devices": 2},
      "models": [{"name": "bow", "feature": "unigram_multi_hot", "epochs": 20, "batch_size": 2,
                  "accuracy_floor": 0.0}]}))
  env = {**os.environ, "AIRFLOW_HOME": str(root / "home"),
         "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(ROOT, "infra", "airflow"),
         "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
         # Importing TFX and TensorFlow takes longer than Airflow's default 30 s on a busy core.
         "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
         "TEXTZOO_CONFIG": str(config), "TEXTZOO_DATA_DIR": str(data_dir)}
  _run([os.path.join(BIN, "airflow"), "db", "migrate"], env, 300)
  dagbag = _marked(_run([sys.executable, "-c", DAGBAG_SCRIPT], env, 300), "DAGBAG")
  start = time.monotonic()
  _run([os.path.join(BIN, "airflow"), "dags", "test", DAG_ID, "2025-01-06"], env, 900)
  seconds = time.monotonic() - start
  states = _marked(_run([sys.executable, "-c", STATES_SCRIPT], env, 300), "STATES")
  print(f"\nairflow dags test: {seconds:.0f}s wall, tasks {states['tasks']}")
  return {"root": root, "dagbag": dagbag, "states": states, "seconds": seconds}


def test_dagbag_loads_the_pipeline_with_its_dependencies_and_schedule(airflow):
  dagbag = airflow["dagbag"]
  assert dagbag["import_errors"] == {}
  assert dagbag["dag_ids"] == [DAG_ID]
  assert dagbag["tasks"] == {
      "ImdbExampleGen": [],
      "StatisticsGen": ["ImdbExampleGen"],
      "SchemaGen": ["StatisticsGen"],
      "ExampleValidator": ["SchemaGen", "StatisticsGen"],
      "Transform": ["ImdbExampleGen", "SchemaGen"],
      "Trainer.bow": ["SchemaGen", "Transform"],
      "Baseline.bow": [],  # resolves the last blessed model from ML-Metadata when the run starts
      "Evaluator.bow": ["Baseline.bow", "ImdbExampleGen", "Trainer.bow"],
      "ServingCheck.bow": ["ImdbExampleGen", "Trainer.bow"],
      "Pusher.bow": ["Evaluator.bow", "ServingCheck.bow", "Trainer.bow"],
  }
  assert dagbag["schedule"] == "@weekly"
  assert dagbag["start_date"].startswith("2025-01-06")
  assert dagbag["max_active_runs"] == 1 and dagbag["catchup"] is False


def test_dags_test_runs_every_task_and_pushes_a_model(airflow):
  states = airflow["states"]
  assert states["run"] == "success"
  assert set(states["tasks"]) == set(airflow["dagbag"]["tasks"])
  assert set(states["tasks"].values()) == {"success"}
  serving = airflow["root"] / "out" / "serving" / "bow"
  versions = [v for v in os.listdir(serving) if v.isdigit()]
  assert len(versions) == 1
  assert (serving / versions[0] / "saved_model.pb").is_file()
  from pipeline import serving_client
  probabilities = serving_client.load(str(serving)).predict(
      ["A wonderful, great film. Loved it!", "Awful, boring, terrible. Hated it."])["probabilities"]
  assert probabilities.shape == (2,) and ((probabilities >= 0) & (probabilities <= 1)).all()
  assert os.path.isfile(airflow["root"] / "out" / "metadata.sqlite")  # the config's ML-Metadata
