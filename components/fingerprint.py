"""The fingerprint of the code a component executes, for TFX's cache.

TFX keys a cached execution on its inputs and execution properties. A `run_fn` or a
`preprocessing_fn` named by module path is a string property, so editing the code behind it
changes nothing TFX sees: a rerun reused the old model. Each component therefore gets the
SHA-256 of the source of the modules it runs, and of every module of this project they import
(transitively), as an execution property: an edit reruns exactly the components whose code
changed (and what consumes their outputs), and an unchanged rerun stays cached.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from typing import Iterable

# The packages whose modules count (third-party code is pinned by the lock files instead).
PROJECT_PACKAGES = ("components", "trainers", "pipeline")
KEY = "code_fingerprint"


def _source_file(module: str):
  spec = importlib.util.find_spec(module)
  return spec.origin if spec and spec.origin and spec.origin.endswith(".py") else None


def _project_imports(module: str, source: str) -> set[str]:
  """Project modules imported by `module` (a package's own __init__ included)."""
  found = set()
  package = module.rsplit(".", 1)[0] if "." in module else module
  for node in ast.walk(ast.parse(source)):
    names = []
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:  # relative import
        base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                        + ([base] if base else []))
      names = [base] + [f"{base}.{a.name}" for a in node.names]
    for name in names:
      if name.split(".")[0] in PROJECT_PACKAGES and _source_file_or_none(name):
        found.add(name)
  return found


def _source_file_or_none(name: str):
  try:
    return _source_file(name)
  except (ImportError, ValueError):  # `from pkg import function`: not a module
    return None


@functools.lru_cache(maxsize=None)
def _closure(module: str) -> tuple[str, ...]:
  seen, todo = set(), [module]
  while todo:
    name = todo.pop()
    if name in seen:
      continue
    seen.add(name)
    path = _source_file(name)
    with open(path, encoding="utf-8") as f:
      todo += sorted(_project_imports(name, f.read()) - seen)
  return tuple(sorted(seen))


def modules(names: Iterable[str]) -> list[str]:
  """The modules `names` run: themselves and the project modules they import, sorted."""
  return sorted({m for name in names for m in _closure(name)})


def of_modules(*names: str) -> str:
  """SHA-256 over the names and sources of modules(names)."""
  digest = hashlib.sha256()
  for name in modules(names):
    with open(_source_file(name), "rb") as f:
      digest.update(name.encode() + b"\0" + f.read() + b"\0")
  return digest.hexdigest()
