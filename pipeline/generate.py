"""Text generation with a pushed character LM: prime on the prompt, then sample one character
at a time through the model's `step` signature (the GRU state is carried, so each character
costs one step, not a re-read of the whole text): trainers.char_serving.sample, which the
trainer's sampling callback runs too.

Sampling: temperature (probabilities ** (1/T), renormalised), then optionally top-k (the k most
likely characters) or nucleus/top-p (the smallest set whose probability reaches p). A fixed
`seed` makes the output reproducible.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from pipeline import serving_client
from trainers import char_serving


class CharGenerator:

  def __init__(self, model_path: str):
    self.path = serving_client.resolve_version_dir(model_path)
    loaded = tf.saved_model.load(self.path)
    missing = {"serving_default", "step", "vocabulary"} - set(loaded.signatures)
    if missing:
      raise ValueError(f"{self.path}: not a character LM (no {sorted(missing)} signature)")
    self._loaded = loaded
    self.chars = [c.decode("utf-8") for c in
                  loaded.signatures["vocabulary"]()["chars"].numpy().tolist()]

  def generate(self, prompt: str, chars: int = 200, temperature: float = 1.0,
               top_k: Optional[int] = None, top_p: Optional[float] = None,
               seed: Optional[int] = None) -> str:
    return char_serving.sample(self._loaded, prompt, chars, np.random.default_rng(seed),
                               temperature, top_k, top_p)
