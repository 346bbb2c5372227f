"""docs/config.md is what scripts/config_reference.py writes from the schemas today; the README's
configs load."""
import os
import runpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_config_reference_is_generated_from_the_current_schemas():
  script = runpy.run_path(os.path.join(ROOT, "scripts", "config_reference.py"))
  with open(os.path.join(ROOT, "docs", "config.md"), encoding="utf-8") as f:
    committed = f.read()
  assert committed == script["reference"](), (
      "docs/config.md is stale: run .venv/bin/python scripts/config_reference.py")


def test_every_readme_yaml_block_is_a_valid_run_config():
  """The README's configs are what a user copies: each loads (types, keys, model entries)."""
  import re  # pylint: disable=import-outside-toplevel

  import yaml  # pylint: disable=import-outside-toplevel

  from pipeline import config  # pylint: disable=import-outside-toplevel
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
  assert len(blocks) >= 5
  for block in blocks:
    config.from_dict(yaml.safe_load(block), "README.md")
