"""The `textzoo` command's entry point: a clear error, not an ImportError, when the pinned stack
is missing (`pip install .` installs textzoo alone: tfx 1.16 declares Python < 3.11 and must be
installed by scripts/install.sh; see the README)."""
from __future__ import annotations

import importlib.util
import sys

STACK = ("tensorflow", "tfx", "tensorflow_transform", "tensorflow_model_analysis", "apache_beam",
         "ml_metadata", "pydantic", "yaml")


def missing_stack() -> list[str]:
  return [m for m in STACK if importlib.util.find_spec(m) is None]


def main(argv=None) -> int:
  missing = missing_stack()
  if missing:
    print(f"textzoo: error: the pinned stack is not installed in {sys.prefix} (missing: "
          f"{', '.join(missing)}). `pip install .` installs textzoo alone; in a checkout, run "
          "`make install` (scripts/install.sh: the locked TFX 1.16 stack, a few minutes) and "
          "use .venv/bin/textzoo.", file=sys.stderr)
    return 2
  from pipeline import cli  # pylint: disable=import-outside-toplevel
  return cli.main(argv)


if __name__ == "__main__":
  sys.exit(main())
