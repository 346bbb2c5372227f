"""Loads a pushed model (TF Serving layout) and calls its raw-string `serving_default` signature."""
from __future__ import annotations

import logging
import os
import time

import numpy as np
import tensorflow as tf
# A model whose transform graph has subword ids holds tensorflow_text ops (WordPiece): registered
# here, before tf.saved_model.load.
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
    self.path = resolve_version_dir(path)
    self._loaded = tf.saved_model.load(self.path)
    self._fn = self._loaded.signatures["serving_default"]

  def predict(self, texts) -> dict[str, np.ndarray]:
    outputs = self._fn(text=tf.constant(list(texts), tf.string))
    return {k: v.numpy() for k, v in outputs.items()}


def load(path: str) -> ServedModel:
  return ServedModel(path)


def score_imdb(model_path: str, tar_path: str, split: str = "test", batch_size: int = 256) -> dict:
  """Accuracy of the served model on an upstream IMDB split, read straight from the tarball."""
  from components.imdb_example_gen import reader  # pylint: disable=import-outside-toplevel
  model = load(model_path)
  reviews = [r for r in reader.iter_reviews(tar_path) if r.split == split]
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
