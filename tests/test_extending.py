"""A new corpus and a new model family from test-only modules (tests/toy_extension.py) through
the real pipeline, with no edit to pipeline/, config.py or report.py; then the code-aware cache:
editing the family's source in a copy of the project reruns its Trainer and what depends on it,
and nothing else (ML-Metadata says which components ran and which were CACHED)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import fixtures

pytestmark = pytest.mark.e2e
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAM = ("ImdbExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")
MODEL_NODES = ("Trainer.logreg", "Evaluator.logreg", "ServingCheck.logreg", "Pusher.logreg")


def _run(project, out, data) -> dict:
  done = subprocess.run(
      [sys.executable, "-c", "from tests import toy_extension; toy_extension.main()", str(out),
       str(data)], cwd=project,
      env={**os.environ, "PYTHONPATH": str(project)}, capture_output=True, text=True,
      timeout=900)
  assert done.returncode == 0, done.stderr[-3000:]
  return json.loads(done.stdout.strip().splitlines()[-1])


def _states(out) -> dict:
  from ml_metadata.proto import metadata_store_pb2  # pylint: disable=import-outside-toplevel
  from pipeline import records as run_records  # pylint: disable=import-outside-toplevel
  names = {v: k for k, v in metadata_store_pb2.Execution.State.items()}
  records = run_records.RunRecords(os.path.join(out, "metadata.sqlite"))
  return {node: names[e.last_known_state] for node, e in records.executions.items()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
  """A copy of the project's code, a data dir with the corpus under its new name, one run."""
  root = tmp_path_factory.mktemp("extending")
  copy = root / "project"
  for package in ("components", "trainers", "pipeline", "tests"):
    shutil.copytree(os.path.join(ROOT, package), copy / package,
                    ignore=shutil.ignore_patterns("__pycache__"))
  data = root / "data"
  data.mkdir()
  fixtures.write_tarball(str(data / "my_reviews.tar.gz"))
  out = root / "out"
  return copy, out, data, _run(copy, out, data)


def test_a_corpus_and_a_family_from_test_modules_train_and_push(project):
  from pipeline import serving_client  # pylint: disable=import-outside-toplevel
  _, out, _, pushed = project
  assert list(pushed) == ["logreg"] and len(pushed["logreg"]) == 1
  served = serving_client.load(os.path.join(out, "serving", "logreg"))
  probabilities = served.predict(["A wonderful, great film.", "Awful and boring."])[
      "probabilities"]
  assert probabilities[0] > probabilities[1]
  states = _states(out)
  assert set(UPSTREAM + MODEL_NODES) <= set(states)
  assert set(states.values()) == {"COMPLETE"}


def test_editing_the_family_reruns_its_trainer_and_nothing_upstream(project):
  copy, out, data, _ = project
  with open(copy / "tests" / "toy_extension.py", "a") as f:
    f.write("\n# an edit: the family's code changed\n")
  _run(copy, out, data)
  states = _states(out)
  assert {n: states[n] for n in UPSTREAM} == {n: "CACHED" for n in UPSTREAM}
  # A new model (its code changed), so everything after the Trainer runs on it too.
  assert {n: states[n] for n in MODEL_NODES} == {n: "COMPLETE" for n in MODEL_NODES}
