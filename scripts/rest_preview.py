"""What TF Serving's REST API would answer for a pushed model, without a model server.

Builds the `POST /v1/models/<name>:predict` body for raw texts and the answer in TF Serving's row
format ({"predictions": [...]}: one value per instance when the signature has one output, else
one {output: value} object per instance), with the outputs computed by the session-based loader
TF Serving uses (components/serving_check/sessions.py). Bytes outputs are shown as strings, as the
REST API does for UTF-8 text.

  .venv/bin/python scripts/rest_preview.py --model runs/default/serving/bow_bigram_binary \
      "A wonderful film." "Dull and boring."
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from components.serving_check import sessions  # noqa: E402
from pipeline import runs, serving_client  # noqa: E402


def _plain(value, digits: int):
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, np.ndarray):
    return [_plain(v, digits) for v in value]
  if isinstance(value, np.floating):
    return round(float(value), digits)
  if isinstance(value, np.generic):
    return value.item()
  return value


def predict_answer(outputs: dict, rows: int, digits: int = 4) -> dict:
  """TF Serving's row format: one value per instance for a single output, else one object."""
  if len(outputs) == 1:
    (values,) = outputs.values()
    return {"predictions": [_plain(values[i], digits) for i in range(rows)]}
  return {"predictions": [{k: _plain(v[i], digits) for k, v in sorted(outputs.items())}
                          for i in range(rows)]}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  runs.add_arguments(parser, "serving/<model> or a version dir")
  parser.add_argument("--round", type=int, default=4, help="float digits shown")
  parser.add_argument("texts", nargs="+")
  args = parser.parse_args(argv)
  version_dir = serving_client.resolve_version_dir(runs.resolve_model(args))
  name = args.model if args.run else os.path.basename(os.path.dirname(version_dir.rstrip("/")))
  with sessions.SessionModel(version_dir) as model:
    outputs = model.run("serving_default", {"text": np.array(args.texts, dtype=object)})
  print(f"POST /v1/models/{name}:predict")
  print(json.dumps({"instances": args.texts}, ensure_ascii=False))
  print(json.dumps(predict_answer(outputs, len(args.texts), args.round), ensure_ascii=False))
  return 0


if __name__ == "__main__":
  sys.exit(main())
