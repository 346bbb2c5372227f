#!/usr/bin/env bash
# Creates (or refreshes) the virtual environment at $VENV with the pinned stack and textzoo itself.
#
# Why this script and not a plain `pip install`: tfx 1.16.0 and ml-pipelines-sdk 1.16.0 are pure
# Python but declare Requires-Python <3.11, while every compiled member of their family ships
# cp311 wheels. On 3.11 we install everything else from the lock file, then those two with
# --no-deps --ignore-requires-python, and run `pip check`. On 3.10 no override is needed.
#
# EXTRAS (comma-separated; `none` for no extra) adds optional groups, each from its own lock on
# top of the base lock (requirements/lock-<extra>-py<version>.txt, written by scripts/lock.sh):
#   kubeflow  kfp 2.13 (Kubeflow V2 compile); the default on 3.11, unavailable on 3.10
#   airflow   Airflow 2.10.5 (infra/airflow); `EXTRAS=kubeflow,airflow scripts/install.sh`
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

TARGET_VER=$(pyver "$PYTHON")
if [ -z "${EXTRAS:-}" ]; then
  # Unset or empty: the default extras of this Python version, plus those the venv already has (a
  # plain `make test` keeps an Airflow install); EXTRAS=none or a list drops the others.
  if [ "$TARGET_VER" = "3.11" ]; then EXTRAS=kubeflow; else EXTRAS=none; fi
  if [ -f "$STAMP" ]; then
    for lock in $(cat "$STAMP"); do
      extra=$(basename "$lock" | sed -n -E "s/^lock-(.*)-py$TARGET_VER\.txt$/\1/p")
      case ",$EXTRAS," in *",$extra,"*) ;; *) [ -n "$extra" ] && EXTRAS="$EXTRAS,$extra";; esac
    done
  fi
fi
LOCKS="requirements/lock-py$TARGET_VER.txt"
for extra in $(echo "$EXTRAS" | tr ',' ' '); do
  [ "$extra" = none ] && continue
  EXTRA_LOCK=requirements/lock-$extra-py$TARGET_VER.txt
  if [ ! -f "$EXTRA_LOCK" ]; then
    echo "[install] extra '$extra' has no lock for Python $TARGET_VER ($EXTRA_LOCK; see" \
         "requirements/extra-$extra.txt, and EXTRA=$extra scripts/lock.sh to write one)" >&2
    exit 1
  fi
  LOCKS="$LOCKS $EXTRA_LOCK"
done

up_to_date() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LOCKS" ] && [ "$STAMP" -nt pyproject.toml ] || return 1
  for lock in $LOCKS; do [ "$STAMP" -nt "$lock" ] || return 1; done
}
if up_to_date; then
  exit 0  # up to date with its lock files
fi
if [ -f "$STAMP" ]; then  # an extra dropped since: its packages would stay behind, so start over
  for lock in $(cat "$STAMP"); do
    case " $LOCKS " in *" $lock "*) ;; *)
      echo "[install] $VENV has $lock, not wanted now (EXTRAS=$EXTRAS): recreating it"
      rm -rf "$VENV"; break;;
    esac
  done
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
for lock in ${LOCKS#"$LOCK"}; do
  echo "[install] extra: $lock"
  "$PY" -m pip install --quiet --no-deps -r "$lock"
done
"$PY" -m pip install --quiet --no-deps --no-build-isolation -e .
echo "[install] pip check:"
"$PY" -m pip check
echo "$LOCKS" > "$STAMP"
echo "[install] ready: $VENV"
