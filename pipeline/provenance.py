"""What a run or a report was made with: textzoo's version and git revision, and the versions
of the packages that decide the results (`textzoo --version`, the run report)."""
from __future__ import annotations

import importlib.metadata
import os
import subprocess

KEY_PACKAGES = ("tfx", "tensorflow", "keras", "tensorflow-transform", "tensorflow-model-analysis",
                "apache-beam", "ml-metadata", "tensorflow-text", "pydantic")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version(package: str) -> str:
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return "not installed"


def git_revision() -> str:
  """The checkout's commit (+ "-dirty" with uncommitted changes), or "unknown" outside git."""
  try:
    revision = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"
  return revision + ("-dirty" if dirty else "")


def describe() -> dict:
  return {"textzoo": _version("textzoo"), "git": git_revision(),
          **{p: _version(p) for p in KEY_PACKAGES}}
