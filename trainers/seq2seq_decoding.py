"""Decoding an encoder-decoder one step at a time.

The decoders work on any `step(token_ids [n], state) -> (log_probs [n, V], state)`, where state
is a dict of arrays whose first axis is the hypothesis: the served model's `decode_step`
signature (trainers.translator_serving) wrapped by `Translator`, or a hand-set function in tests.
The encoder runs once per sentence (its outputs ride along in the state); each decoder step
costs one call.

Beam search (width k): each step extends the live hypotheses by every word, keeps the k best by
summed log-probability; a hypothesis choosing the end id among the k best candidates is finished
and scored by its log-probability / length ** alpha (length with the end token; alpha 1 is the
per-token mean, 0 no normalisation). It stops when k hypotheses are finished (or at max_length,
when the live ones compete too) and returns the best normalised one. unk_penalty is subtracted
from the unknown-word id's log-probability at every step (inf bans it). Padding and start ids
are never emitted.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from components.translation_preprocessing import END_ID, PAD_ID, RESERVED, START_ID, UNK_ID

Step = Callable[[np.ndarray, dict], tuple]


def _adjust(log_probs: np.ndarray, unk_penalty: float) -> np.ndarray:
  log_probs = np.array(log_probs, np.float64)
  log_probs[:, [PAD_ID, START_ID]] = -np.inf
  log_probs[:, UNK_ID] -= unk_penalty
  return log_probs


def _gather(state: dict, rows) -> dict:
  return {k: np.asarray(v)[rows] for k, v in state.items()}


def greedy(step: Step, state: dict, batch: int, max_length: int,
           unk_penalty: float = 0.0) -> list[list[int]]:
  """The most likely word at every step, for a batch of sentences at once."""
  tokens = np.full([batch], START_ID, np.int64)
  out, done = [[] for _ in range(batch)], np.zeros([batch], bool)
  for _ in range(max_length):
    log_probs, state = step(tokens, state)
    tokens = np.argmax(_adjust(log_probs, unk_penalty), axis=-1).astype(np.int64)
    for i in np.flatnonzero(~done):
      if tokens[i] != END_ID:
        out[i].append(int(tokens[i]))
    done |= tokens == END_ID
    if done.all():
      break
  return out


def beam_search(step: Step, state: dict, k: int, max_length: int, alpha: float = 1.0,
                unk_penalty: float = 0.0) -> list[int]:
  """One sentence (state has one row) -> the best word ids, without start and end."""
  hypotheses = beam_hypotheses(step, state, k, max_length, alpha, unk_penalty)
  return hypotheses[0][0] if hypotheses else []


def beam_hypotheses(step: Step, state: dict, k: int, max_length: int, alpha: float = 1.0,
                    unk_penalty: float = 0.0) -> list[tuple[list[int], float]]:
  """One sentence -> every hypothesis the beam finished, (word ids, normalised score), best
  first (at least k, unless the vocabulary ran out of finite scores)."""
  if k < 1:
    raise ValueError(f"beam width must be >= 1, got {k}")
  live = [((), 0.0)]  # (word ids, summed log-probability)
  finished = []       # (normalised score, word ids)
  tokens = np.array([START_ID], np.int64)
  for _ in range(max_length):
    log_probs, state = step(tokens, state)
    totals = np.array([s for _, s in live])[:, None] + _adjust(log_probs, unk_penalty)
    vocab = totals.shape[1]
    order = np.argsort(-totals, axis=None, kind="stable")[:2 * k]
    next_live, rows = [], []
    for rank, index in enumerate(order):
      row, word = divmod(int(index), vocab)
      total = float(totals[row, word])
      if not np.isfinite(total):
        break
      words = live[row][0]
      if word == END_ID:
        if rank < k:
          finished.append((total / (len(words) + 1) ** alpha, words))
      elif len(next_live) < k:
        next_live.append((words + (word,), total))
        rows.append(row)
    if len(finished) >= k or not next_live:
      break
    live, state = next_live, _gather(state, rows)
    tokens = np.array([w[-1] for w, _ in live], np.int64)
  else:
    finished += [(total / len(words) ** alpha, words) for words, total in live]
  finished.sort(key=lambda f: -f[0])  # stable: of equal scores, the first finished first
  return [(list(words), score) for score, words in finished]


def detokenize(ids: Sequence[int], vocabulary: Sequence[str]) -> str:
  return " ".join(vocabulary[i] for i in ids if i >= len(RESERVED) or i == UNK_ID)


class Translator:
  """Greedy or beam translation through an `encode` and a `decode_step` function (the served
  model's signatures, or the in-memory TranslatorModule's methods)."""

  def __init__(self, encode, decode_step, vocabulary: Sequence[str], max_length: int):
    self._encode, self._decode_step = encode, decode_step
    self.vocabulary, self.max_length = list(vocabulary), max_length

  def _step(self, tokens: np.ndarray, state: dict):
    out = self._decode_step(token_id=tf.constant(tokens, tf.int64),
                            state=tf.constant(state["state"], tf.float32),
                            encoder_outputs=tf.constant(state["encoder_outputs"], tf.float32),
                            source_ids=tf.constant(state["source_ids"], tf.int64))
    return out["log_probs"].numpy(), {**state, "state": out["state"].numpy()}

  def encode(self, sentences: Sequence[str]) -> dict:
    return {k: v.numpy() for k, v in self._encode(text=tf.constant(list(sentences))).items()}

  def translate_ids(self, sentences: Sequence[str], beam: int = 1, alpha: float = 1.0,
                    unk_penalty: float = 0.0, batch_size: int = 256) -> list[list[int]]:
    """beam 1: greedy (batched); beam k > 1: beam search, one sentence at a time."""
    sentences, out = list(sentences), []
    for start in range(0, len(sentences), batch_size):
      encoded = self.encode(sentences[start:start + batch_size])
      if beam == 1:
        out += greedy(self._step, encoded, len(encoded["state"]), self.max_length, unk_penalty)
      else:
        out += [beam_search(self._step, _gather(encoded, [i]), beam, self.max_length, alpha,
                            unk_penalty) for i in range(len(encoded["state"]))]
    return out

  def translate(self, sentences: Sequence[str], beam: int = 1, **kwargs) -> list[str]:
    return [detokenize(ids, self.vocabulary)
            for ids in self.translate_ids(sentences, beam, **kwargs)]

  def n_best(self, sentences: Sequence[str], beam: int, n: int, alpha: float = 1.0,
             unk_penalty: float = 0.0) -> list[list[tuple[str, float]]]:
    """Per sentence, the n best of the beam's finished hypotheses: (words, score), best first;
    score = log-probability / length ** alpha. n <= beam."""
    if not 1 <= n <= beam:
      raise ValueError(f"n-best {n} needs 1 <= n <= the beam width ({beam})")
    encoded = self.encode(list(sentences))
    return [[(detokenize(ids, self.vocabulary), score) for ids, score in beam_hypotheses(
        self._step, _gather(encoded, [i]), beam, self.max_length, alpha, unk_penalty)[:n]]
            for i in range(len(encoded["state"]))]
