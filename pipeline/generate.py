"""Text generation with a pushed character LM: prime on the prompt, then sample one character
at a time through the model's `step` signature (the GRU state is carried, so each character
costs one step, not a re-read of the whole text).

Sampling: temperature (probabilities ** (1/T), renormalised), then optionally top-k (the k most
likely characters) or nucleus/top-p (the smallest set whose probability reaches p). A fixed
`seed` makes the output reproducible.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from pipeline import serving_client


def sampling_distribution(probabilities: np.ndarray, temperature: float = 1.0,
                          top_k: Optional[int] = None, top_p: Optional[float] = None,
                          banned=()) -> np.ndarray:
  """[V] next-char probabilities -> the distribution to sample from."""
  if temperature <= 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")
  if top_k is not None and top_p is not None:
    raise ValueError("give top_k or top_p, not both")
  p = np.asarray(probabilities, np.float64).copy()
  p[list(banned)] = 0.0
  p = np.power(np.maximum(p, 0.0), 1.0 / temperature)
  if top_k is not None:
    if top_k < 1:
      raise ValueError(f"top_k must be >= 1, got {top_k}")
    p[np.argsort(-p, kind="stable")[top_k:]] = 0.0
  p /= p.sum()
  if top_p is not None:
    if not 0 < top_p <= 1:
      raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    order = np.argsort(-p, kind="stable")
    keep = np.searchsorted(np.cumsum(p[order]), top_p) + 1  # smallest prefix reaching top_p
    p[order[keep:]] = 0.0
    p /= p.sum()
  return p


class CharGenerator:

  def __init__(self, model_path: str):
    self.path = serving_client.resolve_version_dir(model_path)
    loaded = tf.saved_model.load(self.path)
    missing = {"serving_default", "step", "vocabulary"} - set(loaded.signatures)
    if missing:
      raise ValueError(f"{self.path}: not a character LM (no {sorted(missing)} signature)")
    self._loaded, self._prime, self._step = (
        loaded, loaded.signatures["serving_default"], loaded.signatures["step"])
    self.chars = [c.decode("utf-8") for c in
                  loaded.signatures["vocabulary"]()["chars"].numpy().tolist()]
    # Never emit padding (id 0) or the unseen-character id (the last).
    self._banned = (0, len(self.chars) - 1)

  def generate(self, prompt: str, chars: int = 200, temperature: float = 1.0,
               top_k: Optional[int] = None, top_p: Optional[float] = None,
               seed: Optional[int] = None) -> str:
    if not prompt:
      raise ValueError("the prompt must have at least one character")
    rng = np.random.default_rng(seed)
    out = self._prime(text=tf.constant([prompt]))
    generated = []
    for _ in range(chars):
      p = sampling_distribution(out["probabilities"].numpy()[0], temperature, top_k, top_p,
                                self._banned)
      next_id = int(rng.choice(len(p), p=p))
      generated.append(self.chars[next_id])
      out = self._step(char_id=tf.constant([next_id], tf.int64), state=out["state"])
    return "".join(generated)
