import json

import pytest

from pipeline import config


def test_default_config_is_imdb_with_three_bow_models():
  cfg = config.load()
  assert cfg.corpus == "imdb"
  assert [(m.name, m.params.feature) for m in cfg.models] == [
      ("bow_unigram_binary", "unigram_multi_hot"),
      ("bow_bigram_binary", "bigram_multi_hot"),
      ("bow_bigram_tfidf", "bigram_tfidf")]
  assert cfg.strategy.name == "mirrored"
  assert "--direct_running_mode=multi_processing" in cfg.beam_args()


def test_unknown_trainer_lists_valid_names(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("models: [{name: m, trainer: resnet}]\n")
  with pytest.raises(config.ConfigError, match=r"unknown model trainer for corpus imdb "
                     r"'resnet'.*bow_mlp"):
    config.load(str(path))


def test_trainer_of_another_task_is_an_error():
  with pytest.raises(config.ConfigError, match=r"trainer for corpus imdb 'char_rnn'; valid "
                     r"names: bow_mlp"):
    config.from_dict({"models": [{"name": "m", "trainer": "char_rnn"}]})


def test_packaged_configs_load_by_name():
  assert {"default", "shakespeare", "alice"} <= set(config.packaged_configs())
  shakespeare = config.load("shakespeare")
  assert shakespeare.task == "char_lm" and shakespeare.text.lowercase
  assert {m.params.stateful for m in shakespeare.models} == {False, True}
  assert config.load("alice").text.collapse_whitespace


def test_every_packaged_config_loads_and_builds_its_pipeline():
  """A packaged config that the pipeline cannot build (a key or trainer that does not fit) fails
  here, not hours into a run."""
  from pipeline.pipeline import create_pipeline  # pylint: disable=import-outside-toplevel
  for name in config.packaged_configs():
    cfg = config.load(name)
    components = {c.id: c for c in create_pipeline(cfg, "/nonexistent").components}
    assert {f"Pusher.{m.name}" for m in cfg.models} <= set(components), name
    glove = [m for m in cfg.models if getattr(m.params, "embedding", "") in (
        "glove", "learned+glove")]
    assert ("GloveEmbedding" in components) == bool(glove), name
    if glove:  # the tagger's matrix is of GloVe's own words, the classifiers' of their vocabulary
      inputs = components["GloveEmbedding"].inputs
      assert ("transform_graph" in inputs) == (cfg.task != "tagging"), name


def test_split_fractions_must_be_three_shares_summing_to_one():
  with pytest.raises(config.ConfigError, match="split_fractions"):
    config.from_dict({"corpus": "tinyshakespeare", "text": {"split_fractions": [0.9, 0.2, 0.1]},
                      "models": [{"name": "m", "trainer": "char_rnn"}]})


def test_unknown_corpus_lists_valid_names():
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'imbd'.*imdb"):
    config.from_dict({"corpus": "imbd", "models": [{"name": "m"}]})
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'glove_6b_50d'; valid names: "
                     r"imdb, tinyshakespeare, alice, uci_sentences, treebank, spa_eng, fra_eng, "
                     r"sarcasm"):  # in the registry, but no task reads it
    config.from_dict({"corpus": "glove_6b_50d", "models": [{"name": "m"}]})


def test_unknown_key_is_an_error_naming_the_model():
  with pytest.raises(config.ConfigError, match=r"models\[0\] \(m\): unknown key\(s\) \['epochz'\]"):
    config.from_dict({"models": [{"name": "m", "epochz": 3}]})


def test_unknown_key_is_an_error():
  with pytest.raises(config.ConfigError, match=r"unknown key\(s\) \['epochz'\]"):
    config.from_dict({"models": [{"name": "m", "epochz": 3}]})


def test_yaml_is_parsed_safely(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("corpus: !!python/object/apply:os.system ['echo pwned']\n")
  with pytest.raises(config.ConfigError, match="refused: the safe YAML loader does not build "
                     "this tag"):
    config.load(str(path))
  path.write_text("corpus: [imdb\n")
  with pytest.raises(config.ConfigError, match="not valid YAML"):
    config.load(str(path))


def test_unknown_learning_rate_decay_names_the_model():
  with pytest.raises(config.ConfigError, match=r"models\[0\] \(lm\): unknown lr_decay 'linear'; "
                                               r"valid names: constant, cosine"):
    config.from_dict({"corpus": "alice",
                      "models": [{"name": "lm", "trainer": "char_rnn", "lr_decay": "linear"}]})


def test_a_plateau_rate_cut_on_a_cosine_schedule_is_refused_when_the_config_loads():
  with pytest.raises(config.ConfigError, match=r"models\[0\] \(lm\): .*reduce_lr_patience needs "
                                               r"lr_decay constant"):
    config.from_dict({"corpus": "alice", "models": [
        {"name": "lm", "trainer": "char_rnn", "lr_decay": "cosine", "reduce_lr_patience": 1}]})


def test_a_component_can_have_its_own_direct_running_mode_and_beam_takes_the_last_flag():
  from apache_beam.options import pipeline_options as po
  from pipeline import pipeline as pipeline_lib
  cfg = config.load(None)  # the default run: threads for ExampleGen, statistics, evaluation
  args = {c.id: c.executor_spec.beam_pipeline_args
          for c in pipeline_lib.create_pipeline(cfg, "/data").components
          if hasattr(c.executor_spec, "beam_pipeline_args")}
  modes = {node: po.PipelineOptions(a).view_as(po.DirectOptions).direct_running_mode
           for node, a in args.items()}
  assert modes["Transform"] == modes["ImdbExampleGen"] == "multi_processing"
  assert {modes["StatisticsGen"], modes["Evaluator.bow_bigram_binary"]} == {"multi_threading"}
  for beam in ({"direct_running_modes": {"ImdbExampleGen": "multi_threading"}},
               {"direct_running_mode": "multi_threading"}):
    threaded = config.from_dict({"models": [{"name": "m"}], "beam": beam})
    with pytest.raises(config.ConfigError, match="multi_threading loses records"):
      pipeline_lib.create_pipeline(threaded, "/data")
  assert config.from_dict({"models": [{"name": "m"}], "beam": {
      "profile": "flink", "direct_running_modes": {"Evaluator": "multi_threading"}}
  }).component_beam_args("Evaluator.m") == []  # only the direct profile has running modes
  with pytest.raises(config.ConfigError, match="direct_running_modes.Evaluator"):
    config.from_dict({"models": [{"name": "m"}],
                      "beam": {"direct_running_modes": {"Evaluator": "threads"}}})


def test_beam_profiles_give_their_runner_args_and_beam_accepts_them():
  from apache_beam.options import pipeline_options as po
  models = [{"name": "m"}]
  direct = config.from_dict({"models": models, "beam": {"direct_num_workers": 3}}).beam_args()
  assert direct[:2] == ["--direct_num_workers=3", "--direct_running_mode=multi_processing"]
  assert not any(a.startswith("--runner") for a in direct)  # Beam's default: DirectRunner

  flink = config.from_dict({"models": models, "image": "reg.example/textzoo:1", "beam": {
      "profile": "flink", "flink": {"master": "flink-jm:8081", "parallelism": 4},
      "extra_args": ["--max_parallelism=8"]}}).beam_args()
  options = po.PipelineOptions(flink)
  assert options.view_as(po.StandardOptions).runner == "FlinkRunner"
  flink_options = options.view_as(po.FlinkRunnerOptions)
  assert (flink_options.flink_master, flink_options.flink_version, flink_options.parallelism,
          flink_options.flink_submit_uber_jar) == ("flink-jm:8081", "1.18", 4, True)
  portable = options.view_as(po.PortableOptions)
  assert (portable.environment_type, portable.environment_config) == (
      "DOCKER", "reg.example/textzoo:1")  # SDK workers run the textzoo image
  assert flink[-1] == "--max_parallelism=8"  # extra_args come last

  spark = po.PipelineOptions(config.from_dict({"models": models, "beam": {
      "profile": "spark", "spark": {"master_url": "spark://m:7077", "rest_url": "http://m:6066",
                                    "environment_type": "EXTERNAL",
                                    "environment_config": "localhost:50000"}}}).beam_args())
  spark_options = spark.view_as(po.SparkRunnerOptions)
  assert spark.view_as(po.StandardOptions).runner == "SparkRunner"
  assert (spark_options.spark_master_url, spark_options.spark_rest_url,
          spark_options.spark_submit_uber_jar) == ("spark://m:7077", "http://m:6066", True)
  assert spark.view_as(po.PortableOptions).environment_config == "localhost:50000"

  dataflow = po.PipelineOptions(config.from_dict({"models": models, "beam": {
      "profile": "dataflow", "dataflow": {"project": "p", "region": "europe-west1",
                                         "temp_location": "gs://b/tmp", "max_num_workers": 20}}
  }).beam_args())
  gcp = dataflow.view_as(po.GoogleCloudOptions)
  assert dataflow.view_as(po.StandardOptions).runner == "DataflowRunner"
  assert (gcp.project, gcp.region, gcp.temp_location) == ("p", "europe-west1", "gs://b/tmp")
  assert dataflow.view_as(po.WorkerOptions).max_num_workers == 20
  assert dataflow.view_as(po.WorkerOptions).sdk_container_image == "textzoo:0.1.0"


@pytest.mark.parametrize("beam", [
    None,  # config.direct_beam_args, as the tests use it
    {"direct_num_workers": 1, "direct_running_mode": "in_memory"},
    {"profile": "flink", "flink": {"master": "jm:8081"}},
    {"profile": "spark", "spark": {"master_url": "spark://m:7077", "rest_url": "http://m:6066"}},
    {"profile": "dataflow", "dataflow": {"project": "p", "region": "r",
                                         "temp_location": "gs://b/tmp"}}])
def test_no_profile_makes_tfx_package_itself_for_workers(beam, monkeypatch):
  # TFX's Beam executors pass their args through this; without a dependency flag it copies its
  # own install into a temp dir and builds an sdist per component (and never deletes the copy).
  from tfx.utils import dependency_utils

  def build_ephemeral_package():
    raise AssertionError("TFX would build and stage an sdist of itself")

  monkeypatch.setattr(dependency_utils, "build_ephemeral_package", build_ephemeral_package)
  args = (config.direct_beam_args(2, "multi_processing") if beam is None else
          config.from_dict({"models": [{"name": "m"}], "beam": beam}).beam_args())
  assert dependency_utils.make_beam_dependency_flags(args) == args


def test_beam_profile_errors_name_the_key():
  models = [{"name": "m"}]
  with pytest.raises(config.ConfigError, match=r"beam: unknown profile 'flinx'; valid names: "
                     r"direct, flink, spark, dataflow"):
    config.from_dict({"models": models, "beam": {"profile": "flinx"}})
  with pytest.raises(config.ConfigError, match=r"needs beam.dataflow.project, "
                     r"beam.dataflow.temp_location"):
    config.from_dict({"models": models, "beam": {"profile": "dataflow",
                                                  "dataflow": {"region": "r"}}})
  with pytest.raises(config.ConfigError, match=r"beam.flink: unknown key\(s\) \['mastr'\]"):
    config.from_dict({"models": models, "beam": {"flink": {"mastr": "x"}}})
  with pytest.raises(config.ConfigError, match=r"beam.spark.environment_config is needed"):
    config.from_dict({"models": models, "beam": {"profile": "spark",
                                                  "spark": {"environment_type": "EXTERNAL"}}})
  with pytest.raises(config.ConfigError, match=r"beam.flink: unknown version '1.12'; valid "
                     r"names: 1.17, 1.18, 1.19"):
    config.from_dict({"models": models, "beam": {"profile": "flink", "flink": {"version": "1.12"}}})
  # An unused profile need not be complete.
  assert config.from_dict({"models": models, "beam": {"dataflow": {"region": "r"}}})


def test_airflow_block_is_checked(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("models: [{name: m}]\nairflow: {schedule: '@weekly', start_date: 2025-03-01}\n")
  cfg = config.load(str(path))
  assert (cfg.airflow.schedule, cfg.airflow.start_date) == ("@weekly", "2025-03-01")
  with pytest.raises(config.ConfigError, match=r"airflow: start_date: must be an ISO date"):
    config.from_dict({"models": [{"name": "m"}], "airflow": {"start_date": "yesterday"}})


@pytest.mark.parametrize("model,extra,message", [
    ({"trainer": "rnn_classifier"}, {}, r"\(m\): rnn_classifier reads word_ids; set "
     r"sequence_length"),
    ({"trainer": "conv1d_classifier", "sequence_feature": "subword_ids"}, {"sequence_length": 9},
     r"reads subword_ids; set subword_vocab_size"),
    ({"trainer": "rnn_classifier", "embedding": "word2vec"}, {"sequence_length": 9},
     r"\(m\): unknown embedding 'word2vec'; valid names: onehot, learned, glove"),
    ({"trainer": "rnn_classifier", "cell": "rnn"}, {"sequence_length": 9},
     r"unknown cell 'rnn'; valid names: lstm, gru"),
    ({"trainer": "transformer_classifier", "embedding": "glove",
      "sequence_feature": "subword_ids"}, {"subword_vocab_size": 50, "sequence_length": 9},
     r"GloVe rows exist for words"),
    ({"trainer": "hub_classifier"}, {}, r"\(m\): hub_handle is required"),
    ({"trainer": "pos_tagger", "embedding": "glove"}, {"corpus": "treebank"},
     r"\(m\): unknown embedding 'glove'; valid names: learned, learned\+glove"),
    ({"trainer": "pos_tagger", "char_filters": -1}, {"corpus": "treebank"},
     r"\(m\): char_filters must be >= 0, got -1"),
])
def test_sequence_model_settings_are_checked_and_name_the_model(model, extra, message):
  with pytest.raises(config.ConfigError, match=message):
    config.from_dict({**extra, "models": [{"name": "m", **model}]})


def test_sentence_corpora_take_split_fractions():
  cfg = config.from_dict({"corpus": "sarcasm", "sequence_length": 8,
                          "split_fractions": [.8, .1, .1], "models": [{"name": "m", "trainer": "conv1d_classifier"}]})
  assert cfg.task == "classification"
  with pytest.raises(config.ConfigError, match=r"split_fractions: must be 3 shares"):
    config.from_dict({"corpus": "sarcasm", "split_fractions": [.8, .1],
                      "models": [{"name": "m"}]})


@pytest.mark.parametrize("model, extra, message", [
    ({"trainer": "translator", "cell": "rnn"}, {}, r"\(m\): unknown cell 'rnn'"),
    ({"trainer": "translator", "beam_width": 1}, {}, r"\(m\): beam_width must be >= 2, got 1"),
    ({"trainer": "translator", "dropout": 0.2}, {},
     r"\(m\): unknown key\(s\) \['dropout'\] for a translator model; valid keys: "
     r"\['attention', 'batch_size', 'beam_width',"),
    ({"trainer": "translator"}, {"split_fractions": [0.9, 0.1, 0]}, r"has an empty share"),
    ({"trainer": "translator"}, {"target_length": 0}, r"target_length must be >= 1"),
    ({"trainer": "pos_tagger"}, {}, r"model trainer for corpus spa_eng .* valid names: translator"),
])
def test_translation_settings_are_checked(model, extra, message):
  with pytest.raises(config.ConfigError, match=message):
    config.from_dict({"corpus": "spa_eng", **extra, "models": [{"name": "m", **model}]})


def test_tagging_and_translation_pipelines_wire_their_transform_and_blessing_metric():
  from pipeline import pipeline  # pylint: disable=import-outside-toplevel
  tagging = config.from_dict({"corpus": "treebank", "sequence_length": 32,
                              "models": [{"name": "t", "trainer": "pos_tagger"}]})
  translation = config.from_dict({"corpus": "fra_eng", "target_top_k": 500, "models": [
      {"name": "gru", "trainer": "translator", "cell": "gru", "bleu_floor": 12.5}]})
  for cfg, fn, transformed, metric in (
      (tagging, "components.tagger_preprocessing.preprocessing_fn", ["train", "eval"],
       "TokenAccuracy"),
      (translation, "components.translation_preprocessing.preprocessing_fn",
       ["train", "eval", "test"], "MultiReferenceBleu")):
    components = {c.id: c for c in pipeline.create_pipeline(cfg, "/data").components}
    transform = components["Transform"].exec_properties
    assert transform["preprocessing_fn"] == fn
    assert json.loads(transform["splits_config"])["transform"] == transformed
    eval_config = json.loads(
        components[f"Evaluator.{cfg.models[0].name}"].exec_properties["eval_config"])
    [gated] = [m for m in eval_config["metrics_specs"][0]["metrics"] if "threshold" in m]
    assert gated["class_name"] == metric
  assert json.loads(components["Transform"].exec_properties["custom_config"])[
      "target_top_k"] == 500
  assert gated["threshold"]["value_threshold"]["lower_bound"] == 12.5
  # The Trainer's custom_config is the family's parameters (with the translator's own defaults)
  # and what the pipeline sets: no gate, no other family's keys.
  translator_config = pipeline.trainer_config(translation, translation.models[0])
  assert set(translator_config) == {
      *translation.models[0].params.user_keys(), "model_name", "seed", "strategy",
      "cpu_devices", "family", "code_fingerprint"}
  assert (translator_config["bidirectional"], translator_config["units"],
          translator_config["embedding_dim"], translator_config["beam_width"]) == (
              False, 256, 128, 3)
  assert "beam_width" not in pipeline.trainer_config(tagging, tagging.models[0])


@pytest.mark.parametrize("model, message", [
    ({"epochs": "ten"}, r"models\[0\] \(m\): epochs: expected an integer, got 'ten'"),
    ({"dropout": "half"}, r"models\[0\] \(m\): dropout: expected a number, got 'half'"),
    ({"epochs": 0}, r"epochs must be >= 1, got 0"),
    ({"feature": "trigram"}, r"unknown feature 'trigram'; valid names: unigram_multi_hot, "
     r"bigram_multi_hot, unigram_count, bigram_count, bigram_tfidf, bigram_nb"),
    ({"units": 8}, r"unknown key\(s\) \['units'\] for a bow_mlp model; valid keys: "
     r"\['accuracy_floor', 'batch_size', 'cache_input', 'dropout', 'epochs', 'feature', "
     r"'hidden_units', 'l2', 'learning_rate', 'name', 'patience', 'reduce_lr_factor', "
     r"'reduce_lr_patience', 'seed_figure', "
     r"'steps_per_execution', 'trainer'\]"),
    ({"accuracy_floor": "high"}, r"accuracy_floor: expected a number, got 'high'"),
    ({"perplexity_ceiling": 5.0}, r"unknown key\(s\) \['perplexity_ceiling'\]"),  # a char LM's
])
def test_model_values_are_typed_and_keys_are_the_familys(model, message):
  with pytest.raises(config.ConfigError, match=message):
    config.from_dict({"models": [{"name": "m", **model}]})


def test_yaml_strings_that_are_numbers_load_as_numbers(tmp_path):
  path = tmp_path / "c.yaml"
  # YAML 1.1 reads 1e-3 (no dot) as a string; "20" is quoted
  path.write_text('eval_percent: "20"\nmodels: [{name: m, learning_rate: 1e-3}]\n')
  cfg = config.load(str(path))
  assert cfg.models[0].params.learning_rate == 0.001 and cfg.eval_percent == 20
  path.write_text("text: {split_fractions: 0.9}\ncorpus: alice\nmodels: [{name: m}]\n")
  with pytest.raises(config.ConfigError, match=r"c.yaml: text: split_fractions: expected a "
                     r"list, got 0.9"):
    config.load(str(path))
  path.write_text("eval_percent: 150\nmodels: [{name: m}]\n")
  with pytest.raises(config.ConfigError, match=r"eval_percent must be < 100, got 150"):
    config.load(str(path))


def test_select_models_keeps_the_named_ones_and_lists_the_valid_names():
  cfg = config.load("imdb_sequence")
  assert [m.name for m in config.select_models(cfg, ["transformer", "bilstm"]).models] == [
      "transformer", "bilstm"]  # the config's order
  with pytest.raises(config.ConfigError, match=r"unknown model\(s\) \['lstm'\]; the config has "
                     r"transformer, bilstm"):
    config.select_models(cfg, ["lstm"])


def test_corpus_mapping_is_a_generic_corpus_with_its_task():
  cfg = config.from_dict({"corpus": {"format": "jsonl", "path": "a.jsonl", "text": "headline"},
                          "models": [{"name": "m"}]})
  assert cfg.task == "classification" and cfg.corpus_name == "jsonl:a.jsonl"
  assert cfg.corpus_entry.settings == {"format": "jsonl", "path": "a.jsonl", "text": "headline"}


@pytest.mark.parametrize("corpus, message", [
    ({"format": "xlsx", "path": "a"}, r"corpus: unknown format 'xlsx'; valid names: csv, tsv, "
     r"jsonl, class_folders"),
    ({"format": "csv"}, r"corpus: path is required"),
    ({"format": "csv", "path": "a", "task": "tagging"}, "format csv is read for task "
     "classification, not tagging"),
    ({"format": "csv", "path": "a", "labels": ["x", "x"]}, "at least 2 distinct labels"),
    ({"format": "text", "path": "a", "label": "x"}, "format text has no columns to name "
     r"\(label\)"),
    ({"format": "conll", "path": "a", "label": "upos"}, "conll: text and label are 1-based "
     "column numbers"),
    ({"format": "pairs", "path": "a", "labels": ["a", "b"]}, "format pairs has no class label"),
    ({"format": "csv", "path": "a", "column": "x"}, r"corpus: unknown key\(s\) \['column'\]; "
     r"valid keys: \['format', 'label', 'labels', 'path', 'task', 'text'\]"),
])
def test_bad_corpus_mapping_is_an_error_naming_the_key(corpus, message):
  with pytest.raises(config.ConfigError, match=message):
    config.from_dict({"corpus": corpus, "models": [{"name": "m"}]})


def test_nb_feature_needs_a_binary_builtin_corpus():
  with pytest.raises(config.ConfigError, match="log-count ratios are of a binary 0/1 label"):
    config.from_dict({"corpus": {"format": "csv", "path": "a.csv"}, "nb_top_k": 100,
                      "models": [{"name": "m", "feature": "bigram_nb"}]})
