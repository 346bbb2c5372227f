"""docs/config.md is what scripts/config_reference.py writes from the schemas today."""
import os
import runpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_config_reference_is_generated_from_the_current_schemas():
  script = runpy.run_path(os.path.join(ROOT, "scripts", "config_reference.py"))
  with open(os.path.join(ROOT, "docs", "config.md"), encoding="utf-8") as f:
    committed = f.read()
  assert committed == script["reference"](), (
      "docs/config.md is stale: run .venv/bin/python scripts/config_reference.py")
