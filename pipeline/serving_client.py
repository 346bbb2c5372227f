"""Loads a pushed model (TF Serving layout) and calls its raw-string `serving_default` signature,
the way TF Serving does: restored into a session (components/serving_check/sessions.py), so that
`textzoo predict` and `textzoo score` re-read a figure through the real consumer's loader."""
from __future__ import annotations

import logging
import os
import time

import numpy as np
# A model whose transform graph has subword ids holds tensorflow_text ops (WordPiece): registered
# here, before any load (generate, translate and lm_score load through resolve_version_dir).
import tensorflow_text  # noqa: F401


def resolve_version_dir(model_dir: str) -> str:
  """serving/<model> -> its newest numeric version; a version dir is returned as is."""
  if os.path.exists(os.path.join(model_dir, "saved_model.pb")):
    return model_dir
  versions = [v for v in os.listdir(model_dir) if v.isdigit()] if os.path.isdir(model_dir) else []
  if not versions:
    raise FileNotFoundError(f"{model_dir}: no saved_model.pb and no numeric version folders")
  return os.path.join(model_dir, max(versions, key=int))


class ServedModel:

  def __init__(self, path: str):
    from components.serving_check import sessions  # pylint: disable=import-outside-toplevel
    self.path = resolve_version_dir(path)
    self._session = sessions.SessionModel(self.path)

  def predict(self, texts) -> dict[str, np.ndarray]:
    return self._session.run("serving_default", {"text": np.array(list(texts), dtype=object)})


def load(path: str) -> ServedModel:
  return ServedModel(path)


def score_imdb(model_path: str, tar_path: str, split: str = "test", batch_size: int = 256) -> dict:
  """Accuracy of the served model on an upstream IMDB split, read straight from the tarball."""
  from components.imdb_example_gen import reader  # pylint: disable=import-outside-toplevel
  model = load(model_path)
  # By length: a batch pads to its longest review, and a sentence encoder's activations grow
  # with it (256 random whole reviews through USE exhaust 24 GB).
  reviews = sorted((r for r in reader.iter_reviews(tar_path) if r.split == split),
                   key=lambda r: len(r.text))
  correct, start = 0, time.monotonic()
  for i in range(0, len(reviews), batch_size):
    batch = reviews[i:i + batch_size]
    probabilities = model.predict([r.text for r in batch])["probabilities"]
    correct += int(np.sum((probabilities > 0.5).astype(int) == [r.label for r in batch]))
    if (i // batch_size) % 20 == 0:
      logging.info("scored %d/%d", i + len(batch), len(reviews))
  return {"model": model.path, "split": split, "examples": len(reviews),
          "accuracy": round(correct / len(reviews), 4),
          "seconds": round(time.monotonic() - start, 1)}
