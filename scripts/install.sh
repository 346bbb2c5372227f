#!/usr/bin/env bash
# Creates (or refreshes) the virtual environment at $VENV with the pinned stack and textzoo itself.
#
# Why this script and not a plain `pip install`: tfx 1.16.0 and ml-pipelines-sdk 1.16.0 are pure
# Python but declare Requires-Python <3.11, while every compiled member of their family ships
# cp311 wheels. On 3.11 we install everything else from the lock file, then those two with
# --no-deps --ignore-requires-python, and run `pip check`. On 3.10 no override is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
STAMP="$VENV/.textzoo-installed"
pyver() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

if ! command -v "$PYTHON" > /dev/null; then
  echo "[install] $PYTHON not found; set PYTHON to a Python 3.10 or 3.11 interpreter" >&2
  exit 1
fi
if [ -x "$VENV/bin/python" ] && [ "$(pyver "$VENV/bin/python")" != "$(pyver "$PYTHON")" ]; then
  echo "[install] $VENV has Python $(pyver "$VENV/bin/python"), $PYTHON is $(pyver "$PYTHON"): recreating it"
  rm -rf "$VENV"
fi

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$(cat "$STAMP")" ] && [ "$STAMP" -nt pyproject.toml ]; then
  exit 0  # up to date with its lock file
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating virtual environment $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PYVER=$(pyver "$PY")
case "$PYVER" in
  3.10|3.11) ;;
  *) echo "[install] textzoo needs Python 3.10 or 3.11 (the TFX 1.16 family); got $PYVER" >&2; exit 1;;
esac
LOCK=requirements/lock-py$PYVER.txt  # one full pin set per Python version (scripts/lock.sh)

echo "[install] installing the pinned stack from $LOCK (Python $PYVER; a few minutes the first time)"
"$PY" -m pip install --quiet --upgrade "pip==24.3.1"
# Everything except tfx and ml-pipelines-sdk, fully pinned (no resolver backtracking).
grep -v -E '^(tfx|ml-pipelines-sdk)==' "$LOCK" > "$VENV/lock-without-tfx.txt"
"$PY" -m pip install --quiet --no-deps -r "$VENV/lock-without-tfx.txt"

TFX_PINS=$(grep -E '^(tfx|ml-pipelines-sdk)==' "$LOCK" | tr '\n' ' ')
if [ "$PYVER" = "3.11" ]; then
  echo "[install] NOTE: installing $TFX_PINS with --no-deps --ignore-requires-python:"
  echo "[install]       they declare Requires-Python <3.11 but run on 3.11; their requirements are in $LOCK."
  "$PY" -m pip install --quiet --no-deps --ignore-requires-python $TFX_PINS
else
  "$PY" -m pip install --quiet --no-deps $TFX_PINS
fi
"$PY" -m pip install --quiet --no-deps --no-build-isolation -e .
echo "[install] pip check:"
"$PY" -m pip check
echo "$LOCK" > "$STAMP"
echo "[install] ready: $VENV"
