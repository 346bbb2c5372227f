"""The worst-scored test examples of a classifier, for the run report: the served model (in TF
Serving's session-based loader) on an evenly spaced sample of the raw test split, ranked by the
probability it gives the true class (lowest first: the most confident mistakes)."""
from __future__ import annotations

import glob

import numpy as np
import tensorflow as tf

from pipeline import serving_client

SAMPLE = 1000   # test examples scored per model (evenly spaced through the split's files)
SHOWN = 5
TEXT_CHARS = 300
BATCH = 64


def read_labelled(pattern: str, text_feature: str = "text") -> list[tuple[str, str]]:
  """(text, label as text) of every raw example of a split, in file order."""
  rows = []
  for record in tf.data.TFRecordDataset(sorted(glob.glob(pattern)), compression_type="GZIP"):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    label = feature["label"]
    value = label.bytes_list.value[0].decode("utf-8") if label.bytes_list.value \
        else str(label.int64_list.value[0])
    rows.append((feature[text_feature].bytes_list.value[0].decode("utf-8"), value))
  return rows


def true_class_probability(outputs: dict, labels: list[str]) -> tuple[np.ndarray, list[str]]:
  """Per example, the probability of its label and the predicted class name. Binary models
  (probabilities [n], class 1 over 0.5) have labels '0'/'1'; multi-class ones name their classes
  in `classes`."""
  probabilities = np.asarray(outputs["probabilities"], np.float64)
  if probabilities.ndim == 1:
    positive = np.array([label == "1" for label in labels])
    return (np.where(positive, probabilities, 1 - probabilities),
            ["1" if p > 0.5 else "0" for p in probabilities])
  classes = outputs["classes"].astype(str)
  unknown = sorted(set(labels) - set(classes[0]))
  if unknown:
    raise ValueError(f"test labels {unknown} are not among the model's classes "
                     f"{list(classes[0])}")
  columns = [list(row).index(label) for row, label in zip(classes, labels)]
  best = probabilities.argmax(axis=1)
  return (probabilities[np.arange(len(labels)), columns],
          [row[i] for row, i in zip(classes, best)])


def worst(model_dir: str, pattern: str, sample: int = SAMPLE, shown: int = SHOWN) -> dict:
  rows = read_labelled(pattern)
  if not rows:
    raise ValueError(f"{pattern}: no test examples")
  picked = sorted(set(np.linspace(0, len(rows) - 1, min(sample, len(rows))).round().astype(int)))
  texts = [rows[i][0] for i in picked]
  labels = [rows[i][1] for i in picked]
  model = serving_client.load(model_dir)
  p_true, predicted = [], []
  for start in range(0, len(texts), BATCH):
    p, names = true_class_probability(model.predict(texts[start:start + BATCH]),
                                      labels[start:start + BATCH])
    p_true += list(p)
    predicted += names
  order = np.argsort(p_true, kind="stable")[:shown]
  return {"scored": len(texts), "of": len(rows), "model": model.path, "worst": [
      {"text": texts[i][:TEXT_CHARS], "label": labels[i], "predicted": predicted[i],
       "p_true": float(p_true[i])} for i in order]}
